//! [`LiveWindow`]: the last few segments of a camera's [`LivePackager`](super::LivePackager)
//! output, and the Low-Latency HLS media playlist over them (RFC 8216bis: `EXT-X-PART`,
//! `EXT-X-PRELOAD-HINT`, `EXT-X-SERVER-CONTROL` with blocking reload), sans-IO. The service
//! answers requests from it and waits for [`LiveWindow::contains`] to become true for blocking
//! reloads; players without low-latency support read the same playlist as plain live HLS
//! (they skip the tags they do not know and fetch whole segments).
//!
//! URIs, relative to the playlist: `init-G.mp4` (generation `G`), `seg-M.m4s` (segment `M`,
//! its parts joined), `part-M-I.m4s` (part `I` of segment `M`). The service appends
//! `uri_query` to each (a signed-link query).

use std::collections::VecDeque;
use std::fmt::Write;

use bytes::Bytes;

use super::packager::{LiveInit, LivePart, PackagerEvent};

/// Segments whose parts are listed: RFC 8216bis 4.4.4.9 asks for parts in the last three
/// target durations at least.
const SEGMENTS_WITH_PARTS: usize = 3;

/// See the module docs.
#[derive(Debug)]
pub struct LiveWindow {
    /// Complete segments kept (older ones are forgotten).
    max_segments: usize,
    part_target_ms: u32,
    segment_target_ms: u32,
    inits: VecDeque<LiveInit>,
    /// Complete segments, oldest first, then the open one (if any) last.
    segments: VecDeque<WindowSegment>,
    /// Segments removed from the front that started a new generation or followed a break
    /// (`EXT-X-DISCONTINUITY-SEQUENCE`).
    discontinuity_sequence: u64,
    /// The next segment starts after a break.
    pending_discontinuity: bool,
    /// The largest segment duration seen, in ms (`EXT-X-TARGETDURATION` never goes down).
    longest_segment_ms: u64,
}

#[derive(Debug)]
struct WindowSegment {
    msn: u64,
    generation: u64,
    parts: Vec<LivePart>,
    /// `None` while open.
    duration_90k: Option<u64>,
    discontinuity: bool,
}

/// What a request names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveResource {
    Init { generation: u64 },
    Segment { msn: u64 },
    Part { msn: u64, index: u32 },
}

impl LiveResource {
    /// Parses a URI's last path element (`init-3.mp4`, `seg-12.m4s`, `part-12-4.m4s`).
    pub fn parse(name: &str) -> Option<Self> {
        if let Some(g) = name.strip_prefix("init-").and_then(|s| s.strip_suffix(".mp4")) {
            return Some(Self::Init { generation: g.parse().ok()? });
        }
        if let Some(m) = name.strip_prefix("seg-").and_then(|s| s.strip_suffix(".m4s")) {
            return Some(Self::Segment { msn: m.parse().ok()? });
        }
        let (m, i) = name.strip_prefix("part-")?.strip_suffix(".m4s")?.split_once('-')?;
        Some(Self::Part { msn: m.parse().ok()?, index: i.parse().ok()? })
    }
}

/// Whether a resource can still come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Its bytes, in order.
    Ready(Vec<Bytes>),
    /// Not yet: the next part or segment (a preload hint, or a request just ahead).
    Pending,
    /// Never (gone from the window, or it will not exist).
    Gone,
}

impl LiveWindow {
    pub fn new(max_segments: usize, part_target_ms: u32, segment_target_ms: u32) -> Self {
        Self {
            max_segments: max_segments.max(SEGMENTS_WITH_PARTS),
            part_target_ms,
            segment_target_ms,
            inits: VecDeque::new(),
            segments: VecDeque::new(),
            discontinuity_sequence: 0,
            pending_discontinuity: false,
            longest_segment_ms: 0,
        }
    }

    pub fn push(&mut self, event: PackagerEvent) {
        match event {
            PackagerEvent::Init(init) => {
                self.pending_discontinuity |= !self.segments.is_empty();
                self.inits.push_back(init);
            }
            PackagerEvent::Part(part) => {
                if self.segments.back().is_none_or(|s| s.duration_90k.is_some()) {
                    self.segments.push_back(WindowSegment {
                        msn: part.msn,
                        generation: part.generation,
                        parts: Vec::new(),
                        duration_90k: None,
                        discontinuity: std::mem::take(&mut self.pending_discontinuity),
                    });
                }
                if let Some(open) = self.segments.back_mut() {
                    open.parts.push(part);
                }
            }
            PackagerEvent::SegmentEnd { msn, duration_90k } => {
                if let Some(open) = self.segments.back_mut().filter(|s| s.msn == msn) {
                    open.duration_90k = Some(duration_90k);
                    self.longest_segment_ms = self.longest_segment_ms.max(duration_90k / 90);
                }
                self.trim();
            }
            PackagerEvent::Break => self.pending_discontinuity = true,
        }
    }

    fn trim(&mut self) {
        while self.segments.len() > self.max_segments {
            if self.segments.pop_front().is_some_and(|old| old.discontinuity) {
                self.discontinuity_sequence += 1;
            }
        }
        let oldest = self.segments.front().map(|s| s.generation);
        while self.inits.len() > 1 && oldest.is_some_and(|g| self.inits[0].generation < g) {
            self.inits.pop_front();
        }
    }

    /// The stream's bit rate over the window (parts' bytes over their duration), bits per
    /// second; 0 before a part.
    pub fn bitrate_bps(&self) -> u64 {
        let (bytes, duration_90k) = self
            .segments
            .iter()
            .flat_map(|s| &s.parts)
            .fold((0u64, 0u64), |(b, d), p| (b + p.len_bytes() as u64, d + p.duration_90k));
        (bytes * 8 * 90_000).checked_div(duration_90k).unwrap_or(0)
    }

    /// The newest init segment (what a viewer starting now needs).
    pub fn latest_init(&self) -> Option<&LiveInit> {
        self.inits.back()
    }

    /// Sequence number of the last segment listed (complete or open), or `None` before any.
    pub fn last_msn(&self) -> Option<u64> {
        self.segments.back().map(|s| s.msn)
    }

    /// How much media the complete segments hold, 90 kHz ticks (0 while the first is open).
    pub fn complete_duration_90k(&self) -> u64 {
        self.segments.iter().filter_map(|s| s.duration_90k).sum()
    }

    /// Whether the playlist lists segment `msn` complete, or (with `part`) part `part` of it.
    /// A segment that ended with fewer parts counts as containing them all (RFC 8216bis 6.2.5.2).
    pub fn contains(&self, msn: u64, part: Option<u32>) -> bool {
        match self.segments.iter().find(|s| s.msn >= msn) {
            None => false,
            Some(s) if s.msn > msn => true,
            Some(s) => s.duration_90k.is_some() || part.is_some_and(|p| (p as usize) < s.parts.len()),
        }
    }

    /// The parts from the last independent one on (the current group of pictures so far): what
    /// a viewer starting now is sent first, so it shows a picture at once.
    pub fn parts_from_last_key(&self) -> Vec<&LivePart> {
        let generation = self.inits.back().map(|i| i.generation);
        let parts: Vec<&LivePart> =
            self.segments.iter().flat_map(|s| &s.parts).filter(|p| Some(p.generation) == generation).collect();
        let start = parts.iter().rposition(|p| p.independent).unwrap_or(parts.len());
        parts[start..].to_vec()
    }

    /// The parts after `(msn, index)`, in order (what a streaming viewer has not been sent).
    /// `None` when the part after it has already left the window (the viewer is too slow).
    pub fn parts_after(&self, msn: u64, index: u32) -> Option<Vec<&LivePart>> {
        let parts: Vec<&LivePart> =
            self.segments.iter().flat_map(|s| &s.parts).filter(|p| (p.msn, p.index) > (msn, index)).collect();
        // The part right after it is (msn, index + 1) or the next segment's first.
        let oldest = self.segments.front().and_then(|s| s.parts.first()).map(|p| (p.msn, p.index));
        match oldest {
            Some(o) if o > (msn, index) && o != (msn, index + 1) && o != (msn + 1, 0) => None,
            _ => Some(parts),
        }
    }

    pub fn init(&self, generation: u64) -> Option<&LiveInit> {
        self.inits.iter().find(|i| i.generation == generation)
    }

    /// The bytes of a resource, or whether it can still come.
    pub fn lookup(&self, resource: LiveResource) -> Lookup {
        let next_msn = self.segments.back().map_or(0, |s| if s.duration_90k.is_some() { s.msn + 1 } else { s.msn });
        match resource {
            LiveResource::Init { generation } => match self.init(generation) {
                Some(init) => Lookup::Ready(vec![init.init.clone()]),
                None if self.inits.back().is_none_or(|i| generation > i.generation) => Lookup::Pending,
                None => Lookup::Gone,
            },
            LiveResource::Segment { msn } => match self.segments.iter().find(|s| s.msn == msn) {
                Some(s) if s.duration_90k.is_some() => Lookup::Ready(s.parts.iter().flat_map(|p| p.chunks().cloned()).collect()),
                Some(_) => Lookup::Pending,
                None if msn >= next_msn => Lookup::Pending,
                None => Lookup::Gone,
            },
            LiveResource::Part { msn, index } => match self.segments.iter().find(|s| s.msn == msn) {
                Some(s) => match s.parts.get(index as usize) {
                    Some(p) => Lookup::Ready(p.chunks().cloned().collect()),
                    None if s.duration_90k.is_none() => Lookup::Pending,
                    None => Lookup::Gone,
                },
                None if msn >= next_msn => Lookup::Pending,
                None => Lookup::Gone,
            },
        }
    }

    /// The playlist, or `None` before the first complete part. `uri_query` (e.g.
    /// `?expires_ms=…&sig=…`) is appended to every URI.
    pub fn playlist(&self, uri_query: &str) -> Option<String> {
        let first = self.segments.front()?;
        let part_target_s = f64::from(self.part_target_ms) / 1000.0;
        let longest_part_s = self
            .segments
            .iter()
            .flat_map(|s| &s.parts)
            .map(|p| p.duration_90k as f64 / 90_000.0)
            .fold(part_target_s, f64::max);
        let target_s = (self.longest_segment_ms.max(u64::from(self.segment_target_ms)) as f64 / 1000.0).round().max(1.0);
        let mut out = String::new();
        // `write!` into a String cannot fail; the results are ignored for that reason.
        out.push_str("#EXTM3U\n#EXT-X-VERSION:9\n");
        let _ = writeln!(out, "#EXT-X-TARGETDURATION:{target_s:.0}");
        // Players start this far from the live edge: three parts (the RFC's advice), three
        // target durations for players without parts.
        let _ = writeln!(
            out,
            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK={:.3},HOLD-BACK={:.3}",
            3.0 * longest_part_s,
            3.0 * target_s
        );
        let _ = writeln!(out, "#EXT-X-PART-INF:PART-TARGET={longest_part_s:.3}");
        let _ = writeln!(out, "#EXT-X-MEDIA-SEQUENCE:{}", first.msn);
        if self.discontinuity_sequence > 0 {
            let _ = writeln!(out, "#EXT-X-DISCONTINUITY-SEQUENCE:{}", self.discontinuity_sequence);
        }
        // Only while every segment listed starts with a key frame (one cut without, from a
        // stream short of key frames, does not).
        if self.segments.iter().all(|s| s.parts.first().is_some_and(|p| p.independent)) {
            out.push_str("#EXT-X-INDEPENDENT-SEGMENTS\n");
        }
        let with_parts_from = self.segments.len().saturating_sub(SEGMENTS_WITH_PARTS + 1);
        let mut generation = None;
        for (i, segment) in self.segments.iter().enumerate() {
            if segment.discontinuity {
                out.push_str("#EXT-X-DISCONTINUITY\n");
            }
            if generation != Some(segment.generation) {
                generation = Some(segment.generation);
                let _ = writeln!(out, "#EXT-X-MAP:URI=\"init-{}.mp4{uri_query}\"", segment.generation);
            }
            if i >= with_parts_from {
                for part in &segment.parts {
                    let _ = write!(
                        out,
                        "#EXT-X-PART:DURATION={:.5},URI=\"part-{}-{}.m4s{uri_query}\"",
                        part.duration_90k as f64 / 90_000.0,
                        part.msn,
                        part.index
                    );
                    out.push_str(if part.independent { ",INDEPENDENT=YES\n" } else { "\n" });
                }
            }
            if let Some(duration_90k) = segment.duration_90k {
                let _ = writeln!(out, "#EXTINF:{:.5},\nseg-{}.m4s{uri_query}", duration_90k as f64 / 90_000.0, segment.msn);
            }
        }
        // The part being made: players ask for it ahead and the request waits for it.
        let (msn, index) = match self.segments.back() {
            Some(s) if s.duration_90k.is_none() => (s.msn, s.parts.len()),
            Some(s) => (s.msn + 1, 0),
            None => return Some(out),
        };
        let _ = writeln!(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-{msn}-{index}.m4s{uri_query}\"");
        Some(out)
    }
}
