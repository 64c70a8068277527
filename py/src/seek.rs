//! Exact random access: a frame is decoded from the key sample before it, forward, and picked
//! by its presentation time. Requests in increasing order reuse the running decoder.

use std::collections::VecDeque;
use std::sync::Arc;

use ifc::decode::{open_decoder, Decoder, DecoderOptions, Frame};
use ifc::remux::VideoInput;

use crate::index::DisplayIndex;

/// How often decoding starts one more key frame earlier before a frame is given up on (open
/// GOPs: a CRA's leading pictures need the group of pictures before it).
const EXTRA_KEY_FRAMES: usize = 2;

/// A decoder positioned somewhere in the input.
pub struct Seeker {
    input: Arc<VideoInput>,
    index: Arc<DisplayIndex>,
    options: DecoderOptions,
    decoder: Option<Box<dyn Decoder>>,
    /// Next sample (decode order) to push.
    next_sample: usize,
    flushed: bool,
    /// pts of the last frame the decoder gave.
    last_pts_90k: Option<i64>,
    /// Frames decoded past the one asked for, kept for the next request.
    pending: VecDeque<Frame>,
}

impl Seeker {
    pub fn new(input: Arc<VideoInput>, index: Arc<DisplayIndex>, options: DecoderOptions) -> Self {
        Self {
            input,
            index,
            options,
            decoder: None,
            next_sample: 0,
            flushed: false,
            last_pts_90k: None,
            pending: VecDeque::new(),
        }
    }

    /// Frame `display` (display order). The error says why it cannot be had.
    pub fn frame(&mut self, display: usize) -> Result<Frame, String> {
        let entry = *self.index.entries.get(display).ok_or_else(|| format!("frame {display} is not in the video"))?;
        let target = entry.pts_90k;
        let mut last_error = String::new();
        for extra in 0..=EXTRA_KEY_FRAMES {
            let Some(start) = self.index.start_for(display, extra) else {
                if extra == 0 {
                    return Err(format!("frame {display}: no key frame before it to start decoding at"));
                }
                break;
            };
            while self.pending.front().is_some_and(|f| f.pts_90k.is_some_and(|p| p < target)) {
                self.pending.pop_front();
            }
            if self.pending.front().is_some_and(|f| f.pts_90k == Some(target)) {
                return self.pending.pop_front().ok_or_else(String::new);
            }
            let can_continue = extra == 0
                && self.decoder.is_some()
                && !self.flushed
                && self.next_sample >= start
                && self.next_sample <= entry.sample
                && self.last_pts_90k.is_none_or(|p| p < target);
            if !can_continue {
                self.restart_at(start)?;
            }
            match self.decode_until(target)? {
                Some(frame) => return Ok(frame),
                None => {
                    last_error = format!(
                        "frame {display} (pts {:.6} s) could not be decoded from the key frame at sample {start}",
                        self.index.seconds(entry.pts_ticks)
                    );
                }
            }
        }
        Err(last_error)
    }

    fn restart_at(&mut self, start: usize) -> Result<(), String> {
        self.decoder = Some(open_decoder(self.options.clone()).map_err(|e| e.to_string())?);
        self.next_sample = start;
        self.flushed = false;
        self.last_pts_90k = None;
        self.pending.clear();
        Ok(())
    }

    /// Decodes forward until the frame with pts `target` comes out (`Some`), or a later one
    /// does, or the input ends (`None`).
    fn decode_until(&mut self, target: i64) -> Result<Option<Frame>, String> {
        let Some(decoder) = self.decoder.as_mut() else { return Ok(None) };
        loop {
            // A damaged picture is an error here, counted by the decoder; the next pull goes on.
            while let Ok(Some(frame)) = decoder.pull() {
                self.last_pts_90k = frame.pts_90k.or(self.last_pts_90k);
                match frame.pts_90k {
                    Some(p) if p == target => return Ok(Some(frame)),
                    Some(p) if p > target => {
                        self.pending.push_back(frame);
                        return Ok(None);
                    }
                    _ => {}
                }
            }
            if let Some(packet) = self.input.packet(self.next_sample) {
                self.next_sample += 1;
                let _ = decoder.push(packet);
            } else if !self.flushed {
                self.flushed = true;
                let _ = decoder.flush();
            } else {
                return Ok(None);
            }
        }
    }
}

/// Every frame in display order, decoded once, start to end (for iteration).
pub struct Sequential {
    input: Arc<VideoInput>,
    decoder: Box<dyn Decoder>,
    next_sample: usize,
    flushed: bool,
}

impl Sequential {
    pub fn new(input: Arc<VideoInput>, options: DecoderOptions) -> Result<Self, String> {
        let decoder = open_decoder(options).map_err(|e| e.to_string())?;
        Ok(Self { input, decoder, next_sample: 0, flushed: false })
    }

    /// The next frame, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<Frame> {
        loop {
            if let Ok(Some(frame)) = self.decoder.pull() {
                return Some(frame);
            }
            if let Some(packet) = self.input.packet(self.next_sample) {
                self.next_sample += 1;
                let _ = self.decoder.push(packet);
            } else if !self.flushed {
                self.flushed = true;
                let _ = self.decoder.flush();
            } else {
                return None;
            }
        }
    }
}
