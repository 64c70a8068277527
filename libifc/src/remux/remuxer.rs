//! [`Remuxer`]: samples in, init segments, media segments and the playlist out.

use crate::hls::{MediaPlaylist, PlaylistEntry};
use crate::mp4::fmp4::{Fmp4Muxer, MediaSegment, MuxError};
use crate::mp4::segmenter::Segmenter;
use crate::mp4::Sample;
use crate::ParseError;

use super::SourceItem;

/// A file the caller should write.
#[derive(Debug)]
pub enum RemuxOutput {
    /// `init.mp4`, `init_1.mp4`, …
    Init { name: String, data: Vec<u8> },
    /// `seg_00000.m4s`, …; written header then payload, without concatenation.
    Segment { name: String, segment: MediaSegment },
    /// `index.m3u8`, written at the end.
    Playlist { name: String, text: String },
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemuxError {
    #[error("input: {0}")]
    Input(#[from] ParseError),
    #[error("mux: {0}")]
    Mux(#[from] MuxError),
    #[error("a sample arrived before any decoder configuration")]
    NoConfig,
}

/// Totals for the closing summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RemuxStats {
    pub samples: u64,
    pub segments: u64,
    pub init_segments: u64,
    pub bytes_written: u64,
    /// Samples before the first sync sample (undecodable, not written).
    pub dropped_before_sync: u64,
}

/// See the module docs. `timescale` is the samples' tick rate.
pub struct Remuxer {
    timescale: u32,
    segmenter: Segmenter,
    muxer: Option<Fmp4Muxer>,
    /// The name of the current muxer's init segment until it is written: the init segment
    /// carries an edit list that depends on the first sample's decode time (see mp4::fmp4),
    /// so it is made right after the first media segment and written before it.
    pending_init: Option<String>,
    playlist: MediaPlaylist,
    playlist_name: String,
    stats: RemuxStats,
}

impl Remuxer {
    pub fn new(timescale: u32, segment_duration_ms: u64) -> Self {
        let target_duration_ticks = (segment_duration_ms.max(1) * u64::from(timescale)).div_ceil(1000);
        Self {
            timescale,
            segmenter: Segmenter::new(target_duration_ticks),
            muxer: None,
            pending_init: None,
            playlist: MediaPlaylist {
                target_duration_s: u32::try_from(segment_duration_ms.div_ceil(1000)).unwrap_or(u32::MAX),
                independent_segments: true,
                ..MediaPlaylist::default()
            },
            playlist_name: "index.m3u8".into(),
            stats: RemuxStats::default(),
        }
    }

    pub fn stats(&self) -> RemuxStats {
        let mut s = self.stats;
        s.dropped_before_sync = self.segmenter.dropped_before_first_sync();
        s
    }

    pub fn push(&mut self, item: SourceItem, out: &mut Vec<RemuxOutput>) -> Result<(), RemuxError> {
        match item {
            SourceItem::Config(config) => {
                // A new configuration starts a new init segment; the pending samples belong
                // to the old one.
                if let Some(samples) = self.segmenter.force_cut() {
                    self.emit_segment(&samples, out)?;
                }
                let name = match self.stats.init_segments {
                    0 => "init.mp4".to_owned(),
                    n => format!("init_{n}.mp4"),
                };
                self.stats.init_segments += 1;
                self.playlist.entries.push(PlaylistEntry::Map { uri: name.clone() });
                self.pending_init = Some(name);
                self.muxer = Some(Fmp4Muxer::new(&config, self.timescale));
            }
            SourceItem::Sample(sample) => {
                if self.muxer.is_none() {
                    return Err(RemuxError::NoConfig);
                }
                self.stats.samples += 1;
                if let Some(samples) = self.segmenter.push(sample) {
                    self.emit_segment(&samples, out)?;
                }
            }
        }
        Ok(())
    }

    /// Flushes the last segment and writes the final (VOD) playlist.
    pub fn finish(&mut self, out: &mut Vec<RemuxOutput>) -> Result<(), RemuxError> {
        if let Some(samples) = self.segmenter.flush() {
            self.emit_segment(&samples, out)?;
        }
        self.playlist.ended = true;
        out.push(self.playlist_output());
        Ok(())
    }

    fn emit_segment(&mut self, samples: &[Sample], out: &mut Vec<RemuxOutput>) -> Result<(), RemuxError> {
        let muxer = self.muxer.as_mut().ok_or(RemuxError::NoConfig)?;
        let segment = muxer.media_segment(samples)?;
        if let Some(name) = self.pending_init.take() {
            let data = muxer.init_segment();
            self.stats.bytes_written += data.len() as u64;
            out.push(RemuxOutput::Init { name, data });
        }
        let name = format!("seg_{:05}.m4s", self.stats.segments);
        let duration_s = segment.duration as f64 / f64::from(self.timescale);
        self.playlist.entries.push(PlaylistEntry::Segment {
            uri: name.clone(),
            duration_s,
            program_date_time_ms: None,
            discontinuity: false,
        });
        self.stats.segments += 1;
        self.stats.bytes_written += segment.len_bytes();
        out.push(RemuxOutput::Segment { name, segment });
        Ok(())
    }

    fn playlist_output(&self) -> RemuxOutput {
        RemuxOutput::Playlist { name: self.playlist_name.clone(), text: self.playlist.render() }
    }
}
