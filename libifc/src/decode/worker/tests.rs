use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::decode::{FramePixelFormat, SamplingRule};

/// Turns each packet into one 4×4 gray frame; packets whose first byte is 0xEE are "damaged".
#[derive(Default)]
struct FakeDecoder {
    ready: VecDeque<Frame>,
    stats: DecodeStats,
}

impl Decoder for FakeDecoder {
    fn push(&mut self, packet: EncodedPacket) -> Result<(), DecodeError> {
        let index = self.stats.packets_in;
        self.stats.packets_in += 1;
        if packet.data.first() == Some(&0xEE) {
            self.stats.decode_errors += 1;
            return Err(DecodeError::Bitstream {
                stream_id: 7,
                packet_index: index,
                pts_90k: packet.pts_90k,
                reason: "fake".into(),
            });
        }
        let mut frame = Frame::from_planes(4, 4, FramePixelFormat::Gray8, vec![(vec![0; 16], 4)])?;
        frame.pts_90k = packet.pts_90k;
        frame.display_index = self.stats.frames_out;
        self.stats.frames_out += 1;
        self.ready.push_back(frame);
        Ok(())
    }

    fn pull(&mut self) -> Result<Option<Frame>, DecodeError> {
        Ok(self.ready.pop_front())
    }

    fn flush(&mut self) -> Result<(), DecodeError> {
        Ok(())
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn backend_name(&self) -> &'static str {
        "fake"
    }
}

fn packet(i: i64) -> EncodedPacket {
    EncodedPacket::new(Bytes::from_static(&[1]), Some(i * 3600), true)
}

fn spawn(capacity: usize, policy: QueuePolicy, sampler: Sampler) -> (PacketSender, FrameReceiver) {
    DecodeWorker::spawn_decoder(Box::<FakeDecoder>::default(), 7, sampler, capacity, policy).unwrap()
}

#[test]
fn a_slow_consumer_gets_the_newest_frames_and_drops_are_counted() {
    let (sender, receiver) = spawn(4, QueuePolicy::DropOldest, Sampler::all());
    for i in 0..300 {
        sender.send(packet(i)).unwrap();
    }
    drop(sender);
    let mut received = Vec::new();
    while let Some(frame) = receiver.recv() {
        assert!(receiver.stats().queued <= 4, "the queue never exceeds its capacity");
        received.push(frame.display_index);
        std::thread::sleep(Duration::from_millis(1));
    }
    let stats = receiver.stats();
    assert_eq!(stats.decoded, 300);
    assert!(stats.dropped > 0, "a consumer this slow must lose frames");
    assert_eq!(stats.dropped + received.len() as u64, 300);
    assert!(received.windows(2).all(|w| w[0] < w[1]), "order is kept");
    assert_eq!(received.last(), Some(&299), "the newest frame survives");
}

#[test]
fn block_delivers_every_frame_in_order() {
    let (sender, mut receiver) = spawn(2, QueuePolicy::Block, Sampler::all());
    for i in 0..100 {
        sender.send(packet(i)).unwrap();
    }
    drop(sender);
    let received: Vec<u64> = receiver.by_ref().map(|f| f.display_index).collect();
    assert_eq!(received, (0..100).collect::<Vec<_>>());
    assert_eq!(receiver.stats().dropped, 0);
    assert!(receiver.is_finished());
}

#[test]
fn sending_never_waits_for_a_stalled_consumer() {
    let (sender, receiver) = spawn(3, QueuePolicy::Block, Sampler::all());
    // Nobody reads: the worker blocks on the full queue, and packets pile up in front of it.
    for i in 0..10_000 {
        sender.send(packet(i)).unwrap();
    }
    let stats = sender.stats();
    assert_eq!(stats.packets_sent, 10_000);
    assert!(stats.queued <= 3);
    assert!(stats.packets_decoded < 10_000, "the worker waits for the consumer, not the sender");
    drop(receiver);
}

#[test]
fn a_dropped_receiver_stops_the_worker() {
    let (sender, receiver) = spawn(1, QueuePolicy::Block, Sampler::all());
    drop(receiver);
    let stopped = (0..1000).map(|i| sender.send(packet(i))).find_map(Result::err);
    assert_eq!(stopped, Some(DecodeError::WorkerStopped { stream_id: 7 }));
}

#[test]
fn the_sampler_decides_what_is_queued() {
    let sampler = Sampler::new(SamplingRule::Every(5)).unwrap();
    let (sender, mut receiver) = spawn(100, QueuePolicy::Block, sampler);
    for i in 0..50 {
        sender.send(packet(i)).unwrap();
    }
    drop(sender);
    let pts: Vec<Option<i64>> = receiver.by_ref().map(|f| f.pts_90k).collect();
    assert_eq!(pts, (0..50).step_by(5).map(|i| Some(i * 3600)).collect::<Vec<_>>());
    let stats = receiver.stats();
    assert_eq!((stats.decoded, stats.sampled, stats.dropped), (50, 10, 0));
}

#[test]
fn decode_errors_are_counted_and_the_stream_goes_on() {
    let (sender, mut receiver) = spawn(100, QueuePolicy::Block, Sampler::all());
    sender.send(packet(0)).unwrap();
    sender.send(EncodedPacket::new(Bytes::from_static(&[0xEE]), Some(1), false)).unwrap();
    sender.send(packet(2)).unwrap();
    drop(sender);
    assert_eq!(receiver.by_ref().count(), 2);
    assert_eq!(receiver.stats().decode.decode_errors, 1);
    assert!(matches!(receiver.last_error(), Some(DecodeError::Bitstream { packet_index: 1, .. })));
}

#[test]
fn a_zero_capacity_queue_is_refused() {
    let spawned = DecodeWorker::spawn_decoder(Box::<FakeDecoder>::default(), 7, Sampler::all(), 0, QueuePolicy::Block);
    assert!(matches!(spawned, Err(DecodeError::InvalidOptions { .. })));
}

/// A decoder stuck until the test lets it go: a live camera whose decoder fell behind.
struct GatedDecoder {
    inner: FakeDecoder,
    gate: std::sync::mpsc::Receiver<()>,
}

impl Decoder for GatedDecoder {
    fn push(&mut self, packet: EncodedPacket) -> Result<(), DecodeError> {
        let _ = self.gate.recv();
        self.inner.push(packet)
    }

    fn pull(&mut self) -> Result<Option<Frame>, DecodeError> {
        self.inner.pull()
    }

    fn flush(&mut self) -> Result<(), DecodeError> {
        self.inner.flush()
    }

    fn stats(&self) -> DecodeStats {
        self.inner.stats()
    }

    fn backend_name(&self) -> &'static str {
        "gated"
    }
}

#[test]
fn a_stalled_decoder_keeps_a_bounded_packet_backlog_and_resumes_at_a_key_packet() {
    let (open, gate) = std::sync::mpsc::channel();
    let decoder = Box::new(GatedDecoder { inner: FakeDecoder::default(), gate });
    let (sender, receiver) =
        DecodeWorker::spawn_decoder_bounded(decoder, 7, Sampler::all(), 1000, QueuePolicy::Block, 4).unwrap();
    // Before the bound, the backlog was the whole input: 10,000 packets held in memory.
    for i in 0..10_000 {
        let mut p = packet(i);
        p.is_key = i % 25 == 0;
        sender.send(p).unwrap();
        let s = sender.stats();
        assert!(s.packets_sent - s.packets_decoded <= 5, "backlog {} at packet {i}", s.packets_sent - s.packets_decoded);
    }
    let stalled = sender.stats();
    assert!(stalled.packets_dropped >= 9_990, "{stalled:?}");
    assert_eq!(stalled.packets_sent + stalled.packets_dropped, 10_000);
    // The decoder recovers: the next packets start at a key packet and all get through.
    for _ in 0..20_000 {
        let _ = open.send(());
    }
    while sender.stats().packets_decoded < sender.stats().packets_sent {
        std::thread::sleep(Duration::from_millis(1));
    }
    let before = sender.stats().packets_sent;
    for i in 10_000..10_050 {
        let mut p = packet(i);
        p.is_key = i % 25 == 0;
        sender.send(p).unwrap();
        while sender.stats().packets_decoded < sender.stats().packets_sent {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    assert_eq!(sender.stats().packets_sent - before, 50, "nothing dropped once the decoder keeps up");
    drop(sender);
    let frames = receiver.count() as u64;
    assert_eq!(frames, before + 50);
}
