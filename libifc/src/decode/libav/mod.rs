//! The CPU backend: libavcodec (FFmpeg) through `ffmpeg-next`.
//!
//! Packets are copied once into libavcodec's padded packet buffers (compressed data, small);
//! decoded pictures are not copied at all: each [`Frame`] keeps libavcodec's reference-counted
//! `AVFrame`. Recovery after damage follows [`ErrorPolicy`]: under `SkipUntilKeyframe` the
//! decoder is drained and reset at the next key packet, so that an H.265 CRA is treated as
//! the start of a new sequence (its RASL pictures, which reference what was lost, are
//! skipped by libavcodec, H.265 8.1.3) and an H.264 IDR starts from clean state.
//!
//! # What libavcodec notices, and what ifc adds
//! libavcodec flags concealed H.264 pictures only when decoding single-threaded (its error
//! concealment does not run with frame or slice threads); it reports no damage inside H.265
//! slice data; it notices a missing access unit in neither codec; and it does not flag the
//! pictures predicted from a damaged one. So every packet also goes through ifc's own
//! analysis ([`super::damage`]: slice coverage, H.264 `frame_num` gaps, H.265 reference
//! picture sets, damage spread through prediction up to the next key frame), and every
//! decoded picture waits in its gate until the pictures it may be predicted from have come
//! out: a B-picture decoded after a damaged reference but displayed before it is held until
//! that reference's flag is known. What neither notices is damage inside slice data that
//! libavcodec does not flag (H.265, or H.264 with several threads): it still ends at the next
//! key frame, where prediction restarts (see the resilience tests).

mod context;
mod picture;

#[cfg(test)]
mod conformance_tests;
#[cfg(test)]
mod resilience_tests;
#[cfg(test)]
mod test_support;

use std::collections::VecDeque;

use ffmpeg_next as ffmpeg;

pub(super) use picture::LibavPicture;

use super::damage::DamageTracker;
use super::keyframe::{declared_params, has_random_access_slice, packet_nals, NalFraming};
use super::{
    check_picture_size, Damage, DecodeError, DecodeStats, Decoder, DecoderOptions, EncodedPacket, ErrorPolicy, Frame,
};
use crate::codec::{Codec, DecoderConfig};
use context::BACKEND;

/// Calls to `avcodec_receive_frame` that may fail in a row before a drain gives up, so that
/// a decoder stuck on an error can never hang the caller.
const MAX_ERRORS_PER_DRAIN: u32 = 256;

pub(in crate::decode) struct LibavDecoder {
    decoder: ffmpeg::decoder::Video,
    codec: Codec,
    framing: NalFraming,
    stream_id: u64,
    policy: ErrorPolicy,
    ready: VecDeque<Frame>,
    stats: DecodeStats,
    /// Decode-order index of the next packet; also stored in `AVPacket.pos` so that each
    /// picture says which packet it came from.
    next_packet_index: u64,
    next_display_index: u64,
    /// Skip non-key packets (start of stream, or after damage under `SkipUntilKeyframe`).
    awaiting_key: bool,
    /// The decoder saw damage: drain and reset it before the next key packet.
    reset_before_key: bool,
    /// The latest error seen while receiving pictures, reported by the call that caused it.
    receive_error: Option<DecodeError>,
    /// [`DecoderOptions::max_picture_pixels`], checked on every in-band SPS.
    max_picture_pixels: u64,
    /// ifc's own damage analysis; decoded frames wait in it for their verdict.
    damage: DamageTracker<Frame>,
}

impl LibavDecoder {
    pub(in crate::decode) fn open(options: DecoderOptions) -> Result<Self, DecodeError> {
        context::quiet_libav_logging();
        let decoder = context::open(&options)?;
        let framing = match &options.config {
            Some(config) => NalFraming::LengthPrefixed(config.nal_length_size),
            None => NalFraming::AnnexB,
        };
        let damage = DamageTracker::new(options.codec, &record_parameter_sets(options.config.as_ref()));
        Ok(Self {
            decoder,
            codec: options.codec,
            framing,
            stream_id: options.stream_id,
            policy: options.error_policy,
            ready: VecDeque::new(),
            stats: DecodeStats::default(),
            next_packet_index: 0,
            next_display_index: 0,
            awaiting_key: options.error_policy == ErrorPolicy::SkipUntilKeyframe,
            reset_before_key: false,
            receive_error: None,
            max_picture_pixels: options.max_picture_pixels,
            damage,
        })
    }

    fn bitstream_error(&self, packet_index: u64, pts_90k: Option<i64>, reason: String) -> DecodeError {
        DecodeError::Bitstream { stream_id: self.stream_id, packet_index, pts_90k, reason }
    }

    /// Counts an error and, under `SkipUntilKeyframe`, starts waiting for a key packet.
    fn note_damage(&mut self) {
        if self.policy == ErrorPolicy::SkipUntilKeyframe {
            self.awaiting_key = true;
            self.reset_before_key = true;
        }
    }

    fn av_packet(&self, packet: &EncodedPacket, index: u64) -> Result<ffmpeg::Packet, DecodeError> {
        let len = packet.data.len();
        let too_large =
            || DecodeError::PacketTooLarge { stream_id: self.stream_id, packet_index: index, len_bytes: len };
        // av_new_packet takes an int and adds AV_INPUT_BUFFER_PADDING_SIZE.
        if i32::try_from(len).map_or(true, |n| n > i32::MAX - ffmpeg::ffi::AV_INPUT_BUFFER_PADDING_SIZE) {
            return Err(too_large());
        }
        let mut av_packet = ffmpeg::Packet::new(len);
        let Some(buffer) = av_packet.data_mut().filter(|b| b.len() == len) else {
            return Err(DecodeError::Backend {
                stream_id: self.stream_id,
                backend: BACKEND,
                reason: "out of memory".into(),
            });
        };
        buffer.copy_from_slice(&packet.data);
        av_packet.set_pts(packet.pts_90k);
        av_packet.set_dts(packet.dts_90k);
        av_packet.set_position(isize::try_from(index).unwrap_or(-1));
        if packet.is_key {
            av_packet.set_flags(ffmpeg::packet::Flags::KEY);
        }
        Ok(av_packet)
    }

    /// Sends a packet, making room by receiving pictures if libavcodec asks for it.
    fn send(&mut self, av_packet: &ffmpeg::Packet, index: u64, pts_90k: Option<i64>) -> Result<(), DecodeError> {
        for _ in 0..2 {
            match self.decoder.send_packet(av_packet) {
                Ok(()) => return Ok(()),
                Err(ffmpeg::Error::Other { errno: ffmpeg::error::EAGAIN }) => self.receive_ready(false),
                Err(e) => {
                    self.stats.decode_errors += 1;
                    self.note_damage();
                    return Err(self.bitstream_error(index, pts_90k, describe(e)));
                }
            }
        }
        Err(DecodeError::Backend {
            stream_id: self.stream_id,
            backend: BACKEND,
            reason: "the decoder accepts no input although its output was drained".into(),
        })
    }

    /// Moves decoded pictures into `ready`: those available now, or, when `draining`, all of
    /// them up to the end of the stream.
    fn receive_ready(&mut self, draining: bool) {
        let mut errors = 0;
        while errors < MAX_ERRORS_PER_DRAIN {
            let mut video = ffmpeg::frame::Video::empty();
            match self.decoder.receive_frame(&mut video) {
                Ok(()) => self.accept_picture(video),
                Err(ffmpeg::Error::Eof) => return,
                Err(ffmpeg::Error::Other { errno: ffmpeg::error::EAGAIN }) if !draining => return,
                Err(e) => {
                    errors += 1;
                    self.stats.decode_errors += 1;
                    self.note_damage();
                    let index = self.next_packet_index.saturating_sub(1);
                    self.receive_error = Some(self.bitstream_error(index, None, describe(e)));
                    if !draining {
                        return;
                    }
                }
            }
        }
    }

    fn accept_picture(&mut self, video: ffmpeg::frame::Video) {
        let corrupt = video.is_corrupt() || video.has_decode_errors();
        let decode_index = u64::try_from(video.packet().position).ok();
        if corrupt {
            self.stats.concealed_or_corrupt_frames += 1;
            if self.policy == ErrorPolicy::SkipUntilKeyframe {
                self.note_damage();
                // Dropped, but the pictures predicted from it must learn of it.
                self.judge(decode_index, true, None);
                return;
            }
        }
        let picture = match LibavPicture::new(video) {
            Ok(picture) => picture,
            Err(reason) => {
                self.stats.decode_errors += 1;
                self.receive_error = Some(DecodeError::UnsupportedPicture { stream_id: self.stream_id, reason });
                self.judge(decode_index, corrupt, None);
                return;
            }
        };
        let video = picture.video();
        let pts_90k = video.pts();
        let key_frame = video.is_key();
        let colour = picture.colour();
        let mut frame = Frame::from_libav(picture);
        frame.pts_90k = pts_90k;
        frame.key_frame = key_frame;
        frame.decode_index = decode_index;
        frame.colour = colour;
        frame.corrupt = corrupt;
        frame.stream_id = self.stream_id;
        self.judge(decode_index, corrupt, Some(frame));
    }

    fn judge(&mut self, decode_index: Option<u64>, backend_damaged: bool, frame: Option<Frame>) {
        self.damage.picture(decode_index, backend_damaged, frame);
        self.deliver_judged();
    }

    /// Moves the frames whose verdict is known from the damage gate into `ready`: damaged
    /// ones dropped (`SkipUntilKeyframe`) or flagged (`Conceal`), and counted.
    fn deliver_judged(&mut self) {
        while let Some((mut frame, damage)) = self.damage.pull() {
            if let Some(damage) = damage {
                // Pictures libavcodec flagged were counted when they came out.
                if damage != Damage::Concealed {
                    self.stats.damaged_frames += 1;
                }
                if self.policy == ErrorPolicy::SkipUntilKeyframe {
                    self.note_damage();
                    continue;
                }
                frame.corrupt = true;
            }
            frame.display_index = self.next_display_index;
            self.next_display_index += 1;
            self.stats.frames_out += 1;
            self.ready.push_back(frame);
        }
    }

    /// Ends the current sequence: every held picture into `ready`, then a clean decoder.
    fn drain_and_reset(&mut self) {
        // A decoder already draining answers EOF; either way the drain below empties it.
        let _ = self.decoder.send_eof();
        self.receive_ready(true);
        self.decoder.flush();
        // Whatever did not come out never will: the gate judges what it still holds.
        self.damage.restart();
        self.deliver_judged();
    }

    /// Runs the packet through the damage analysis. A damaged picture that is decoded is
    /// reported and counted; under `SkipUntilKeyframe` the packets after it are skipped.
    fn analyse(&mut self, packet: &EncodedPacket, index: u64, decoded: bool) -> Result<(), DecodeError> {
        let nals = packet_nals(self.framing, &packet.data);
        let found = self.damage.access_unit(index, nals, decoded);
        self.deliver_judged();
        let Some(damage) = found else { return Ok(()) };
        self.stats.decode_errors += 1;
        self.note_damage();
        Err(DecodeError::Damaged { stream_id: self.stream_id, packet_index: index, pts_90k: packet.pts_90k, damage })
    }

    fn take_receive_error(&mut self) -> Result<(), DecodeError> {
        self.receive_error.take().map_or(Ok(()), Err)
    }
}

/// The parameter sets of the decoder configuration record, read from the record itself when
/// the configuration was built without them.
fn record_parameter_sets(config: Option<&DecoderConfig>) -> Vec<bytes::Bytes> {
    match config {
        Some(c) if c.parameter_sets.is_empty() => {
            DecoderConfig::from_record(c.codec, c.record.clone()).map(|c| c.parameter_sets).unwrap_or_default()
        }
        Some(c) => c.parameter_sets.clone(),
        None => Vec::new(),
    }
}

/// libav's message for an error code, or the code itself when it has none.
fn describe(e: ffmpeg::Error) -> String {
    let message = e.to_string();
    if message.is_empty() {
        format!("{e:?}")
    } else {
        message
    }
}

impl Decoder for LibavDecoder {
    fn push(&mut self, packet: EncodedPacket) -> Result<(), DecodeError> {
        let index = self.next_packet_index;
        self.next_packet_index += 1;
        self.stats.packets_in += 1;
        // An empty AVPacket would mean "end of stream" to libavcodec: there is nothing to decode.
        if packet.data.is_empty() {
            return Ok(());
        }
        // An SPS declaring an absurd picture never reaches libavcodec, which would allocate for
        // it: the packet is skipped as damage (the decoder then waits for a key packet).
        for params in declared_params(self.codec, self.framing, &packet.data) {
            if let Err(e) = check_picture_size(self.stream_id, self.max_picture_pixels, &params) {
                self.stats.decode_errors += 1;
                self.note_damage();
                let _ = self.analyse(&packet, index, false);
                return Err(e);
            }
        }
        if self.awaiting_key {
            let is_key = packet.is_key || has_random_access_slice(self.codec, self.framing, &packet.data);
            if !is_key {
                self.stats.skipped_until_keyframe += 1;
                // Analysed all the same: the analysis follows parameter sets and frame numbers.
                let _ = self.analyse(&packet, index, false);
                return Ok(());
            }
            if self.reset_before_key {
                self.drain_and_reset();
            }
            self.awaiting_key = false;
            self.reset_before_key = false;
        }
        let av_packet = match self.av_packet(&packet, index) {
            Ok(av_packet) => av_packet,
            Err(e) => {
                let _ = self.analyse(&packet, index, false);
                return Err(e);
            }
        };
        let analysed = self.analyse(&packet, index, true);
        let sent = self.send(&av_packet, index, packet.pts_90k);
        self.receive_ready(false);
        sent?;
        analysed?;
        self.take_receive_error()
    }

    fn pull(&mut self) -> Result<Option<Frame>, DecodeError> {
        Ok(self.ready.pop_front())
    }

    fn flush(&mut self) -> Result<(), DecodeError> {
        self.drain_and_reset();
        // The decoder's references are gone: what follows must start at a key packet.
        self.awaiting_key = self.policy == ErrorPolicy::SkipUntilKeyframe;
        self.reset_before_key = false;
        self.take_receive_error()
    }

    fn stats(&self) -> DecodeStats {
        self.stats
    }

    fn backend_name(&self) -> &'static str {
        BACKEND
    }
}
