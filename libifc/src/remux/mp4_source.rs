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
    let (track_id, timescale, shift) = (track.track_id, track.timescale, track.edit_media_time.unwrap_or(0));
    let mut samples = demuxer.into_samples(track_id)?;
    shift_by_edit(&mut samples, shift, track_id)?;
    Ok(Mp4Source { config, timescale, samples })
}

/// Moves every sample `shift` ticks earlier (the edit list's media_time, read from the file:
/// any i64), refusing a shift that would take a decode time or a presentation end past the
/// i64 range.
fn shift_by_edit(samples: &mut [Sample], shift: i64, track_id: u32) -> Result<()> {
    for (index, s) in samples.iter_mut().enumerate() {
        let shifted = Sample { dts: s.dts.checked_sub(shift).unwrap_or(i64::MIN), ..s.clone() };
        if s.dts.checked_sub(shift).is_none() || shifted.checked_end().is_none() {
            let msg = format!("media_time {shift} moves sample {index} (dts {}) past the largest time", s.dts);
            return Err(ParseError::invalid(format!("track[{track_id}].edts.elst"), msg));
        }
        s.dts = shifted.dts;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fragmented_fixture() -> Vec<Sample> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/h264_main_320x240_25_fragmented.mp4");
        let demuxer = Mp4Demuxer::new(Bytes::from(std::fs::read(path).expect("fixture"))).expect("fixture demuxes");
        demuxer.into_samples(1).expect("track 1")
    }

    #[test]
    fn edit_list_media_time_near_i64_min_is_an_error_naming_elst() {
        let mut samples = fragmented_fixture();
        let err = shift_by_edit(&mut samples, i64::MIN + 1000, 1).expect_err("dts - media_time overflows");
        assert_eq!(err.at, "track[1].edts.elst");
        assert!(matches!(err.kind, crate::error::ParseErrorKind::Invalid(_)), "{err}");
    }

    #[test]
    fn edit_list_shift_keeps_presentation_ends_in_range_or_names_elst() {
        let mut samples = fragmented_fixture();
        // Every dts fits after the shift, but the last samples' pts + duration do not.
        let last = samples.last().expect("samples").dts;
        let err = shift_by_edit(&mut samples, last - (i64::MAX - 10), 1).expect_err("pts + duration overflows");
        assert_eq!(err.at, "track[1].edts.elst");

        let mut samples = fragmented_fixture();
        let before: Vec<i64> = samples.iter().map(|s| s.dts).collect();
        shift_by_edit(&mut samples, 1024, 1).expect("an ordinary shift");
        assert!(samples.iter().zip(before).all(|(s, dts)| s.dts == dts - 1024));
    }
}
