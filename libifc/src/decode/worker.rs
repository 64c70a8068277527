//! [`DecodeWorker`]: a blocking [`Decoder`] on its own thread. Packets go in through a
//! channel the caller (the ingest path that also feeds the recorder) never waits on: unbounded
//! for files, or bounded for live input ([`DecodeWorker::spawn_decoder_bounded`]), where a full
//! channel drops the packet and every packet after it up to the next key packet (counted), so
//! a decoder that cannot keep up costs frames, never memory, and never decodes across a hole.
//! Frames come out through a bounded queue with a [`QueuePolicy`].

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::frame_queue::{BoundedQueue, Pushed};
use super::{
    open_decoder, DecodeError, DecodeStats, Decoder, DecoderOptions, EncodedPacket, Frame, QueuePolicy, Sampler,
};

/// Spawns decode threads.
#[derive(Debug)]
pub struct DecodeWorker;

enum Command {
    Packet(EncodedPacket),
    Flush,
}

/// Counters of one worker, readable at any time from either end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkerStats {
    /// Packets accepted by [`PacketSender::send`].
    pub packets_sent: u64,
    /// Packets handed to the decoder so far; `packets_sent - packets_decoded` is the backlog.
    pub packets_decoded: u64,
    /// Packets refused by a full bounded channel, and those after them up to the next key
    /// packet (not counted in `packets_sent`).
    pub packets_dropped: u64,
    /// Frames out of the decoder.
    pub decoded: u64,
    /// Frames the sampler kept (and offered to the queue).
    pub sampled: u64,
    /// Frames dropped because the queue was full ([`QueuePolicy::DropOldest`]).
    pub dropped: u64,
    /// Frames in the queue now.
    pub queued: usize,
    /// The decoder's own counts, as of its last packet.
    pub decode: DecodeStats,
}

struct Shared {
    stream_id: u64,
    queue: BoundedQueue<Frame>,
    packets_sent: AtomicU64,
    packets_decoded: AtomicU64,
    packets_dropped: AtomicU64,
    /// A bounded channel was full: drop packets until the next key packet.
    skipping_to_key: AtomicBool,
    decoded: AtomicU64,
    sampled: AtomicU64,
    decode: Mutex<DecodeStats>,
    last_error: Mutex<Option<DecodeError>>,
}

impl Shared {
    fn stats(&self) -> WorkerStats {
        WorkerStats {
            packets_sent: self.packets_sent.load(Ordering::Relaxed),
            packets_decoded: self.packets_decoded.load(Ordering::Relaxed),
            packets_dropped: self.packets_dropped.load(Ordering::Relaxed),
            decoded: self.decoded.load(Ordering::Relaxed),
            sampled: self.sampled.load(Ordering::Relaxed),
            dropped: self.queue.dropped(),
            queued: self.queue.len(),
            decode: *self.decode.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }
}

impl DecodeWorker {
    /// Opens a decoder (errors come back here, not from the thread) and starts its thread;
    /// every decoded frame goes into the queue.
    pub fn spawn(
        options: DecoderOptions,
        queue_capacity: usize,
        policy: QueuePolicy,
    ) -> Result<(PacketSender, FrameReceiver), DecodeError> {
        Self::spawn_sampled(options, Sampler::all(), queue_capacity, policy)
    }

    /// Like [`Self::spawn`], keeping only the frames `sampler` accepts.
    pub fn spawn_sampled(
        options: DecoderOptions,
        sampler: Sampler,
        queue_capacity: usize,
        policy: QueuePolicy,
    ) -> Result<(PacketSender, FrameReceiver), DecodeError> {
        let stream_id = options.stream_id;
        Self::spawn_decoder(open_decoder(options)?, stream_id, sampler, queue_capacity, policy)
    }

    /// Runs an already opened decoder (any backend, or a test double); the packet channel is
    /// unbounded (files, where the whole input is at hand anyway).
    pub fn spawn_decoder(
        decoder: Box<dyn Decoder>,
        stream_id: u64,
        sampler: Sampler,
        queue_capacity: usize,
        policy: QueuePolicy,
    ) -> Result<(PacketSender, FrameReceiver), DecodeError> {
        Self::spawn_with(decoder, stream_id, sampler, queue_capacity, policy, None)
    }

    /// Like [`Self::spawn_decoder`] with at most `max_queued_packets` (at least 1) waiting
    /// for the decoder: live input, whose backlog would otherwise grow without bound while
    /// the decoder falls behind. [`PacketSender::send`] still never waits: see the module docs.
    pub fn spawn_decoder_bounded(
        decoder: Box<dyn Decoder>,
        stream_id: u64,
        sampler: Sampler,
        queue_capacity: usize,
        policy: QueuePolicy,
        max_queued_packets: usize,
    ) -> Result<(PacketSender, FrameReceiver), DecodeError> {
        Self::spawn_with(decoder, stream_id, sampler, queue_capacity, policy, Some(max_queued_packets.max(1)))
    }

    fn spawn_with(
        decoder: Box<dyn Decoder>,
        stream_id: u64,
        sampler: Sampler,
        queue_capacity: usize,
        policy: QueuePolicy,
        max_queued_packets: Option<usize>,
    ) -> Result<(PacketSender, FrameReceiver), DecodeError> {
        if queue_capacity == 0 {
            return Err(DecodeError::InvalidOptions { stream_id, reason: "frame queue capacity 0".into() });
        }
        let shared = Arc::new(Shared {
            stream_id,
            queue: BoundedQueue::new(queue_capacity, policy),
            packets_sent: AtomicU64::new(0),
            packets_decoded: AtomicU64::new(0),
            packets_dropped: AtomicU64::new(0),
            skipping_to_key: AtomicBool::new(false),
            decoded: AtomicU64::new(0),
            sampled: AtomicU64::new(0),
            decode: Mutex::new(DecodeStats::default()),
            last_error: Mutex::new(None),
        });
        let (commands, inbox) = match max_queued_packets {
            None => {
                let (tx, rx) = mpsc::channel();
                (Commands::Unbounded(tx), rx)
            }
            Some(n) => {
                let (tx, rx) = mpsc::sync_channel(n);
                (Commands::Bounded(tx), rx)
            }
        };
        let thread_shared = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("ifc-decode-{stream_id}"))
            .spawn(move || run(decoder, sampler, &inbox, &thread_shared))
            .map_err(|e| DecodeError::Backend { stream_id, backend: "decode thread", reason: e.to_string() })?;
        Ok((PacketSender { commands, shared: Arc::clone(&shared) }, FrameReceiver { shared }))
    }
}

fn run(mut decoder: Box<dyn Decoder>, mut sampler: Sampler, inbox: &mpsc::Receiver<Command>, shared: &Shared) {
    // The sender hanging up ends the stream: flush, deliver the rest, close the queue.
    while let Ok(command) = inbox.recv() {
        let result = match command {
            Command::Packet(packet) => {
                let result = decoder.push(packet);
                shared.packets_decoded.fetch_add(1, Ordering::Relaxed);
                result
            }
            Command::Flush => decoder.flush(),
        };
        record(shared, &*decoder, result);
        if !deliver(&mut *decoder, &mut sampler, shared) {
            shared.queue.close_producer();
            return;
        }
    }
    let result = decoder.flush();
    record(shared, &*decoder, result);
    deliver(&mut *decoder, &mut sampler, shared);
    shared.queue.close_producer();
}

fn record(shared: &Shared, decoder: &dyn Decoder, result: Result<(), DecodeError>) {
    *shared.decode.lock().unwrap_or_else(PoisonError::into_inner) = decoder.stats();
    if let Err(e) = result {
        *shared.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
    }
}

/// Moves ready frames through the sampler into the queue; `false` once the consumer is gone.
fn deliver(decoder: &mut dyn Decoder, sampler: &mut Sampler, shared: &Shared) -> bool {
    loop {
        let frame = match decoder.pull() {
            Ok(Some(frame)) => frame,
            Ok(None) => return !shared.queue.is_consumer_gone(),
            Err(e) => {
                record(shared, decoder, Err(e));
                return !shared.queue.is_consumer_gone();
            }
        };
        shared.decoded.fetch_add(1, Ordering::Relaxed);
        if !sampler.accept_frame(&frame) {
            continue;
        }
        shared.sampled.fetch_add(1, Ordering::Relaxed);
        match shared.queue.push(frame) {
            Pushed::Queued | Pushed::QueuedDroppingOldest(_) => {}
            Pushed::ConsumerGone(_) => return false,
        }
    }
}

/// The input end of a worker. Never blocks. Dropping every clone ends the stream: the worker
/// flushes the decoder, delivers the remaining frames and closes the queue.
#[derive(Clone)]
pub struct PacketSender {
    commands: Commands,
    shared: Arc<Shared>,
}

#[derive(Clone)]
enum Commands {
    Unbounded(mpsc::Sender<Command>),
    Bounded(mpsc::SyncSender<Command>),
}

impl PacketSender {
    /// Queues a packet for decoding. Fails only when the worker has stopped (its receiver was
    /// dropped).
    /// A bounded channel that is full drops the packet (see the module docs); that is not an
    /// error, it shows in [`WorkerStats::packets_dropped`].
    pub fn send(&self, packet: EncodedPacket) -> Result<(), DecodeError> {
        let skipping = &self.shared.skipping_to_key;
        if matches!(self.commands, Commands::Bounded(_)) && skipping.load(Ordering::Relaxed) && !packet.is_key {
            self.shared.packets_dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        if self.command(Command::Packet(packet))? {
            skipping.store(false, Ordering::Relaxed);
            self.shared.packets_sent.fetch_add(1, Ordering::Relaxed);
        } else {
            skipping.store(true, Ordering::Relaxed);
            self.shared.packets_dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Asks the decoder to deliver every frame it holds (end of a segment); decoding goes on
    /// with the next key packet. A full bounded channel skips the flush (the stream's end
    /// flushes anyway).
    pub fn flush(&self) -> Result<(), DecodeError> {
        self.command(Command::Flush).map(|_| ())
    }

    /// `Ok(false)`: a bounded channel was full and the command was dropped.
    fn command(&self, command: Command) -> Result<bool, DecodeError> {
        let stopped = DecodeError::WorkerStopped { stream_id: self.shared.stream_id };
        if self.shared.queue.is_consumer_gone() {
            return Err(stopped);
        }
        match &self.commands {
            Commands::Unbounded(tx) => tx.send(command).map(|()| true).map_err(|_| stopped),
            Commands::Bounded(tx) => match tx.try_send(command) {
                Ok(()) => Ok(true),
                Err(mpsc::TrySendError::Full(_)) => Ok(false),
                Err(mpsc::TrySendError::Disconnected(_)) => Err(stopped),
            },
        }
    }

    pub fn stats(&self) -> WorkerStats {
        self.shared.stats()
    }
}

/// The output end of a worker: a bounded queue of frames in display order. Dropping it stops
/// the worker at its next packet.
pub struct FrameReceiver {
    shared: Arc<Shared>,
}

impl FrameReceiver {
    /// Waits for the next frame; `None` when the stream has ended and every frame was taken.
    pub fn recv(&self) -> Option<Frame> {
        self.shared.queue.pop()
    }

    pub fn recv_timeout(&self, timeout: Duration) -> Option<Frame> {
        self.shared.queue.pop_timeout(timeout)
    }

    pub fn try_recv(&self) -> Option<Frame> {
        self.shared.queue.try_pop()
    }

    /// The stream has ended and the queue is empty.
    pub fn is_finished(&self) -> bool {
        self.shared.queue.is_finished()
    }

    pub fn capacity(&self) -> usize {
        self.shared.queue.capacity()
    }

    pub fn stats(&self) -> WorkerStats {
        self.shared.stats()
    }

    /// The most recent decoding error (they are also counted in [`WorkerStats::decode`]).
    pub fn last_error(&self) -> Option<DecodeError> {
        self.shared.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Iterator for FrameReceiver {
    type Item = Frame;

    fn next(&mut self) -> Option<Frame> {
        self.recv()
    }
}

impl Drop for FrameReceiver {
    fn drop(&mut self) {
        self.shared.queue.close_consumer();
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests;
