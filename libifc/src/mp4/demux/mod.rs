//! MP4 demuxer (ISO/IEC 14496-12) over a whole file held in memory: progressive files (sample
//! tables in `moov`, whether `moov` comes before or after `mdat`) and fragmented files (`mvex`
//! in `moov`, then `moof` + `mdat` pairs).
//!
//! Sans-IO: the caller reads the file into a [`Bytes`]; every [`Sample`]'s data is a
//! [`Bytes::slice`] of it, never a copy. [`Mp4Demuxer::new`] reads and checks everything up
//! front (every sample's bytes must lie inside the file), so a demuxer that exists is one whose
//! samples can all be handed out.
//!
//! Timestamps stay in each track's media timescale (`mdhd`), decode times starting at 0 as
//! the sample tables define them. The edit list is reported ([`TrackInfo::edit_media_time`]),
//! not applied: a player subtracts it to start presentation at 0, as ffmpeg does.
//!
//! Bad input is an error naming the box path and byte offset, e.g.
//! `moov.trak[0].mdia.minf.stbl.stsz (byte 1005): too large: ...`; it never panics.

mod fragment;
mod sample_entry;
mod sample_table;
mod trak;

#[cfg(test)]
mod malformed_tests;
#[cfg(test)]
mod test_file;
#[cfg(test)]
mod tests;

use bytes::Bytes;

use super::box_reader::{fourcc_str, BoxHeader, Children, FourCc, Reader};
use super::Sample;
use crate::codec::{Codec, ColourDescription, DecoderConfig};
use crate::error::{ParseError, Result};

pub use sample_entry::BitRate;

/// What the demuxer knows about one track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackInfo {
    pub track_id: u32,
    /// `hdlr` handler type: `vide`, `soun`, ...
    pub handler: [u8; 4],
    /// Ticks per second of the track's media timeline (`mdhd`); never 0.
    pub timescale: u32,
    /// Ticks, from `mdhd`; for a fragmented track with samples, the sum of their durations
    /// (more exactly: decode time from the first sample to the end of the last, which also
    /// counts `duration-is-empty` gaps). `None` when `mdhd` says "unknown" (all ones).
    pub duration: Option<u64>,
    /// Type of the first sample entry in `stsd`, e.g. `*b"avc1"`.
    pub sample_entry: [u8; 4],
    /// Set for `avc1`/`avc3` (H.264) and `hvc1`/`hev1` (H.265) sample entries.
    pub codec: Option<Codec>,
    /// From the visual sample entry (0 for other tracks).
    pub width: u16,
    pub height: u16,
    /// The `avcC` / `hvcC` payload, as stored.
    pub config_record: Option<Bytes>,
    /// Pixel aspect ratio (`pasp` hSpacing, vSpacing), when the entry has one.
    pub pixel_aspect: Option<(u32, u32)>,
    /// `colr` of type `nclx` (or QuickTime's `nclc`, which has no range flag).
    pub colour: Option<ColourDescription>,
    /// `btrt`, when present.
    pub bitrate: Option<BitRate>,
    /// Samples in `moov` and all fragments.
    pub sample_count: u64,
    /// media_time of the first non-empty edit in elst, if any (ticks): the presentation
    /// timeline starts there. ffprobe subtracts it from pts and dts.
    pub edit_media_time: Option<i64>,
    /// The movie has `mvex` with a `trex` for this track: samples may come in `moof` fragments.
    pub fragmented: bool,
}

impl TrackInfo {
    /// Parses the track's decoder configuration record (ISO/IEC 14496-15).
    pub fn decoder_config(&self) -> Result<DecoderConfig> {
        let at = format!("track[{}]", self.track_id);
        let codec = self
            .codec
            .ok_or_else(|| ParseError::unsupported(&at, format!("sample entry {}", fourcc_str(self.sample_entry))))?;
        let record = self.config_record.clone().ok_or_else(|| ParseError::missing(&at, "avcC/hvcC box"))?;
        DecoderConfig::from_record(codec, record)
    }
}

/// A parsed MP4 file: its tracks and their samples.
#[derive(Debug, Clone)]
pub struct Mp4Demuxer {
    major_brand: Option<FourCc>,
    movie_timescale: Option<u32>,
    tracks: Vec<TrackInfo>,
    /// Per track, parallel to `tracks`, in decode order.
    samples: Vec<Vec<Sample>>,
}

/// A track while the file is being read.
#[derive(Debug)]
struct Track {
    info: TrackInfo,
    samples: Vec<Sample>,
    /// Entries in `stsd`: sample description indices must lie in `1..=` this.
    sample_description_count: u32,
    /// Where a fragment without `tfdt` continues: the decode end of the samples so far
    /// (plus any `duration-is-empty` gaps).
    next_dts: i64,
    /// The `trex` defaults, when the movie is fragmented.
    trex: Option<fragment::TrackExtends>,
}

/// How many samples the whole file may still declare, counted in the bytes that back them.
/// A sample occupies bytes of its own somewhere in the file: its entry in a table (`stsz`,
/// a `trun` with per-sample fields) or, where no table backs the count (a constant `stsz`
/// size, a `trun` without per-sample fields), its data in `mdat`, which does not overlap
/// another sample's. Charging every sample those bytes (at least one) before allocating bounds
/// the samples' memory by the input's size over the bytes each sample needs, whatever the
/// counts say.
#[derive(Debug)]
struct SampleBudget {
    file_len: u64,
    left: u64,
}

impl SampleBudget {
    fn new(file_len: usize) -> Self {
        Self { file_len: file_len as u64, left: file_len as u64 }
    }

    /// Charges `count` samples of `bytes_each` bytes (0 counts as 1).
    fn take(&mut self, count: u64, bytes_each: u64, at: &Reader<'_>) -> Result<usize> {
        let bytes = count.checked_mul(bytes_each.max(1));
        match (bytes.and_then(|b| self.left.checked_sub(b)), usize::try_from(count)) {
            (Some(left), Ok(count)) => {
                self.left = left;
                Ok(count)
            }
            _ => Err(at.too_large(format!(
                "{count} samples of {} bytes each, after {} bytes of samples already, do not fit in a file of {} bytes",
                bytes_each.max(1),
                self.file_len - self.left,
                self.file_len
            ))),
        }
    }
}

impl Mp4Demuxer {
    /// Reads the top-level boxes, `moov` and every `moof`, and checks every sample.
    pub fn new(file: Bytes) -> Result<Self> {
        let data: &[u8] = &file;
        let mut major_brand = None;
        let mut moov = None;
        let mut moofs = Vec::new();
        for header in Children::of_file(data) {
            let header = header?;
            match &header.box_type {
                b"ftyp" => {
                    let mut r = Reader::payload(data, &header, "ftyp");
                    major_brand = Some(r.fourcc()?);
                }
                b"moov" if moov.is_some() => {
                    return Err(ParseError::invalid("moov", "a second moov box").at_offset(header.start as u64));
                }
                b"moov" => moov = Some(header),
                b"moof" => moofs.push(header),
                // mdat is read through the sample tables; free, skip, uuid, mfra, sidx and
                // unknown boxes carry nothing the samples need (4.2: readers skip unknown boxes).
                _ => {}
            }
        }
        let moov = moov.ok_or_else(|| ParseError::missing("file", "moov box").at_offset(data.len() as u64))?;
        let mut budget = SampleBudget::new(data.len());
        let (movie_timescale, mut tracks) = read_moov(&file, &moov, &mut budget)?;
        for (index, moof) in moofs.iter().enumerate() {
            fragment::read_moof(&file, moof, index, &mut tracks, &mut budget)?;
        }
        let (tracks, samples) = tracks.into_iter().map(Track::finish).unzip();
        Ok(Self { major_brand, movie_timescale, tracks, samples })
    }

    pub fn tracks(&self) -> &[TrackInfo] {
        &self.tracks
    }

    /// The first track whose sample entry is `avc1`, `avc3`, `hvc1` or `hev1`.
    pub fn video_track(&self) -> Option<&TrackInfo> {
        self.tracks.iter().find(|t| t.codec.is_some())
    }

    /// The track's samples in decode order, borrowed (no copy of the table).
    pub fn samples(&self, track_id: u32) -> Result<&[Sample]> {
        let index = self.track_index(track_id)?;
        Ok(self.samples.get(index).map_or(&[], Vec::as_slice))
    }

    /// The track's samples in decode order, taken out of the demuxer (no copy).
    pub fn into_samples(mut self, track_id: u32) -> Result<Vec<Sample>> {
        let index = self.track_index(track_id)?;
        Ok(self.samples.get_mut(index).map(std::mem::take).unwrap_or_default())
    }

    fn track_index(&self, track_id: u32) -> Result<usize> {
        self.tracks
            .iter()
            .position(|t| t.track_id == track_id)
            .ok_or_else(|| ParseError::missing("moov", format!("track {track_id}")))
    }

    /// `ftyp` major brand, when the file has an `ftyp`.
    pub fn major_brand(&self) -> Option<[u8; 4]> {
        self.major_brand
    }

    /// `mvhd` timescale (the units of edit list segment durations), when `moov` has an `mvhd`.
    pub fn movie_timescale(&self) -> Option<u32> {
        self.movie_timescale
    }
}

impl Track {
    fn finish(self) -> (TrackInfo, Vec<Sample>) {
        let mut info = self.info;
        info.sample_count = self.samples.len() as u64;
        if let (true, Some(first)) = (info.fragmented, self.samples.first()) {
            // mdhd of a fragmented file covers only the samples in moov (often none).
            info.duration = self.next_dts.checked_sub(first.dts).and_then(|span| u64::try_from(span).ok());
        }
        (info, self.samples)
    }
}

/// `moov` (8.2.1): `mvhd`, every `trak`, and `mvex`.
fn read_moov(file: &Bytes, moov: &BoxHeader, budget: &mut SampleBudget) -> Result<(Option<u32>, Vec<Track>)> {
    let data: &[u8] = file;
    let reader = Reader::payload(data, moov, "moov");
    let mut movie_timescale = None;
    let mut tracks: Vec<Track> = Vec::new();
    let mut mvex = None;
    for child in reader.children() {
        let child = child?;
        match &child.box_type {
            b"mvhd" => movie_timescale = Some(read_mvhd(&mut Reader::payload(data, &child, "moov.mvhd"))?),
            b"trak" => {
                let path = format!("moov.trak[{}]", tracks.len());
                let track = trak::read_trak(file, &child, &path, budget)?;
                if tracks.iter().any(|t| t.info.track_id == track.info.track_id) {
                    let msg = format!("track_id {} used twice", track.info.track_id);
                    return Err(ParseError::invalid(format!("{path}.tkhd"), msg).at_offset(child.start as u64));
                }
                tracks.push(track);
            }
            b"mvex" => mvex = mvex.or(Some(child)),
            _ => {}
        }
    }
    if let Some(mvex) = mvex {
        fragment::read_mvex(data, &mvex, &mut tracks)?;
    }
    Ok((movie_timescale, tracks))
}

/// `mvhd` (8.2.2): only the timescale is kept.
fn read_mvhd(r: &mut Reader<'_>) -> Result<u32> {
    let (version, _flags) = r.version_and_flags()?;
    r.u32_or_u64(version)?; // creation_time
    r.u32_or_u64(version)?; // modification_time
    let timescale_at = r.clone();
    let timescale = r.u32()?;
    if timescale == 0 {
        return Err(timescale_at.invalid("timescale 0"));
    }
    Ok(timescale)
}
