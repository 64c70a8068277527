//! MP4 input for the remuxer: the first video track's configuration and samples, on the
//! presentation timeline that players and ffprobe use (the edit list's start subtracted).

use bytes::Bytes;

use crate::codec::DecoderConfig;
use crate::error::{ParseError, Result};
use crate::mp4::demux::Mp4Demuxer;
use crate::mp4::Sample;

/// The video track of an MP4 file, ready to remux.
#[derive(Debug)]
pub struct Mp4Source {
    pub config: DecoderConfig,
    pub timescale: u32,
    /// Decode order; `dts` shifted by the edit list so that pts equal what players show.
    pub samples: Vec<Sample>,
}

/// Reads the first H.264/H.265 track of `file`.
pub fn mp4_source(file: Bytes) -> Result<Mp4Source> {
    let demuxer = Mp4Demuxer::new(file)?;
    let track =
        demuxer.video_track().ok_or_else(|| ParseError::missing("moov.trak", "an H.264 or H.265 video track"))?;
    let config = track.decoder_config()?;
    let shift = track.edit_media_time.unwrap_or(0);
    let mut samples = demuxer.samples(track.track_id)?;
    for s in &mut samples {
        s.dts -= shift;
    }
    Ok(Mp4Source { config, timescale: track.timescale, samples })
}
