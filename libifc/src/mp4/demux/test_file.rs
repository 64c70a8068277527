//! Builds small MP4 files for the demuxer's tests: progressive files with every table layout
//! the demuxer reads (stsz/stz2, stco/co64, ctts v0/v1, with and without stss, moov before or
//! after mdat) and fragmented files with every tfhd/trun option. Written independently of the
//! demuxer, straight from ISO/IEC 14496-12, so that the two check each other.

pub(super) fn mp4_box(box_type: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = u32::try_from(8 + payload.len()).expect("test box under 4 GiB").to_be_bytes().to_vec();
    out.extend_from_slice(box_type);
    out.extend_from_slice(payload);
    out
}

pub(super) fn full_box(box_type: &[u8; 4], version: u8, flags: u32, payload: &[u8]) -> Vec<u8> {
    let mut body = ((u32::from(version) << 24) | flags).to_be_bytes().to_vec();
    body.extend_from_slice(payload);
    mp4_box(box_type, &body)
}

/// Big-endian u32 fields, concatenated.
pub(super) fn words(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_be_bytes()).collect()
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TestSample {
    pub data: Vec<u8>,
    pub duration: u32,
    pub cts_offset: i32,
    pub is_sync: bool,
}

/// `count` samples with varied sizes, durations and (partly negative) composition offsets;
/// every 5th sample is a sync sample. `seed` makes different tracks differ.
pub(super) fn test_samples(count: usize, seed: u8) -> Vec<TestSample> {
    (0..count)
        .map(|i| TestSample {
            data: (0..(5 + i * 7 % 23)).map(|j| (i * 31 + j) as u8 ^ seed).collect(),
            duration: 500 + (i as u32 % 3) * 10,
            cts_offset: (i as i32 % 4) * 512 - 512,
            is_sync: i % 5 == 0,
        })
        .collect()
}

pub(super) fn avc1_entry(width: u16, height: u16, children: &[u8]) -> Vec<u8> {
    let mut body = vec![0; 6];
    body.extend_from_slice(&1u16.to_be_bytes()); // data_reference_index
    body.extend_from_slice(&[0; 16]);
    body.extend_from_slice(&width.to_be_bytes());
    body.extend_from_slice(&height.to_be_bytes());
    body.extend_from_slice(&words(&[0x0048_0000, 0x0048_0000, 0]));
    body.extend_from_slice(&1u16.to_be_bytes()); // frame_count
    body.extend_from_slice(&[0; 32]); // compressorname
    body.extend_from_slice(&[0x00, 0x18, 0xff, 0xff]); // depth, pre_defined = -1
    body.extend_from_slice(children);
    mp4_box(b"avc1", &body)
}

/// A fake avcC payload: the demuxer stores it as is.
pub(super) const TEST_AVCC: &[u8] = &[1, 0x64, 0, 0x1e, 0xff, 0xe0, 0];

fn tkhd(track_id: u32) -> Vec<u8> {
    let mut body = words(&[0, 0, track_id, 0, 0]);
    body.extend_from_slice(&[0; 8 + 8 + 36]);
    body.extend_from_slice(&words(&[320 << 16, 240 << 16]));
    full_box(b"tkhd", 0, 3, &body)
}

fn mdhd(version: u8, timescale: u32, duration: u64) -> Vec<u8> {
    let mut body = if version == 1 { vec![0; 16] } else { vec![0; 8] };
    body.extend_from_slice(&timescale.to_be_bytes());
    if version == 1 {
        body.extend_from_slice(&duration.to_be_bytes());
    } else {
        body.extend_from_slice(&(duration as u32).to_be_bytes());
    }
    body.extend_from_slice(&[0x55, 0xc4, 0, 0]);
    full_box(b"mdhd", version, 0, &body)
}

fn elst(version: u8, media_time: i64) -> Vec<u8> {
    let mut body = words(&[2]);
    for (duration, time) in [(1000u64, -1i64), (2000, media_time)] {
        if version == 1 {
            body.extend_from_slice(&duration.to_be_bytes());
            body.extend_from_slice(&time.to_be_bytes());
        } else {
            body.extend_from_slice(&(duration as u32).to_be_bytes());
            body.extend_from_slice(&(time as i32).to_be_bytes());
        }
        body.extend_from_slice(&[0, 1, 0, 0]);
    }
    mp4_box(b"edts", &full_box(b"elst", version, 0, &body))
}

/// A `trak` around `stbl`.
fn trak(track_id: u32, edit: Option<(u8, i64)>, mdhd_version: u8, duration: u64, stbl: &[u8]) -> Vec<u8> {
    let hdlr = full_box(b"hdlr", 0, 0, &[&[0; 4][..], b"vide", &[0; 12], b"test\0"].concat());
    let minf = mp4_box(b"minf", &[full_box(b"vmhd", 0, 1, &[0; 8]), mp4_box(b"stbl", stbl)].concat());
    let mdia = mp4_box(b"mdia", &[mdhd(mdhd_version, 12800, duration), hdlr, minf].concat());
    let edts = edit.map(|(version, time)| elst(version, time)).unwrap_or_default();
    mp4_box(b"trak", &[tkhd(track_id), edts, mdia].concat())
}

fn stsd() -> Vec<u8> {
    let children = [mp4_box(b"avcC", TEST_AVCC), mp4_box(b"pasp", &words(&[4, 3]))].concat();
    full_box(b"stsd", 0, 0, &[words(&[1]), avc1_entry(320, 240, &children)].concat())
}

fn mvhd() -> Vec<u8> {
    let mut body = words(&[0, 0, 1000, 0, 0x0001_0000]);
    body.extend_from_slice(&[0; 2 + 2 + 8 + 36 + 24]);
    body.extend_from_slice(&words(&[2]));
    full_box(b"mvhd", 0, 0, &body)
}

#[derive(Debug, Clone)]
pub(super) struct ProgressiveOptions {
    pub moov_after_mdat: bool,
    pub co64: bool,
    /// `stz2` with this field size instead of `stsz`.
    pub compact_size_bits: Option<u8>,
    /// `stsz` with one size for all samples (they must all have it).
    pub constant_size: bool,
    pub ctts_version: u8,
    pub samples_per_chunk: usize,
    pub with_stss: bool,
    /// elst version and the media_time of its non-empty edit (after an empty one).
    pub edit: Option<(u8, i64)>,
    pub mdhd_version: u8,
}

impl Default for ProgressiveOptions {
    fn default() -> Self {
        Self {
            moov_after_mdat: false,
            co64: false,
            compact_size_bits: None,
            constant_size: false,
            ctts_version: 1,
            samples_per_chunk: 3,
            with_stss: true,
            edit: Some((0, 512)),
            mdhd_version: 0,
        }
    }
}

fn run_lengths(values: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((count, value)) if *value == v => *count += 1,
            _ => runs.push((1, v)),
        }
    }
    runs
}

fn table(box_type: &[u8; 4], version: u8, entries: &[Vec<u8>]) -> Vec<u8> {
    full_box(box_type, version, 0, &[words(&[entries.len() as u32]), entries.concat()].concat())
}

fn progressive_stbl(samples: &[TestSample], opts: &ProgressiveOptions, mdat_payload_start: u64) -> Vec<u8> {
    let n = samples.len();
    let stts = run_lengths(samples.iter().map(|s| s.duration));
    let stts = table(b"stts", 0, &stts.iter().map(|&(c, d)| words(&[c, d])).collect::<Vec<_>>());
    let ctts = run_lengths(samples.iter().map(|s| s.cts_offset as u32));
    let ctts = table(b"ctts", opts.ctts_version, &ctts.iter().map(|&(c, o)| words(&[c, o])).collect::<Vec<_>>());
    let spc = opts.samples_per_chunk;
    let chunks = n.div_ceil(spc);
    let mut stsc = vec![words(&[1, spc as u32, 1])];
    if n % spc != 0 && chunks > 1 {
        stsc.push(words(&[chunks as u32, (n % spc) as u32, 1]));
    } else if chunks == 1 {
        stsc = vec![words(&[1, n as u32, 1])];
    }
    let stsc = table(b"stsc", 0, &stsc);
    let sizes = match (opts.constant_size, opts.compact_size_bits) {
        (true, _) => full_box(b"stsz", 0, 0, &words(&[samples[0].data.len() as u32, n as u32])),
        (false, None) => {
            let mut body = words(&[0, n as u32]);
            body.extend(samples.iter().flat_map(|s| (s.data.len() as u32).to_be_bytes()));
            full_box(b"stsz", 0, 0, &body)
        }
        (false, Some(bits)) => {
            let mut body = vec![0, 0, 0, bits];
            body.extend_from_slice(&words(&[n as u32]));
            match bits {
                4 => body.extend(
                    samples
                        .chunks(2)
                        .map(|p| (p[0].data.len() as u8) << 4 | p.get(1).map_or(0, |s| s.data.len() as u8)),
                ),
                8 => body.extend(samples.iter().map(|s| s.data.len() as u8)),
                _ => body.extend(samples.iter().flat_map(|s| (s.data.len() as u16).to_be_bytes())),
            }
            full_box(b"stz2", 0, 0, &body)
        }
    };
    let mut offsets = Vec::new();
    let mut pos = mdat_payload_start;
    for chunk in samples.chunks(spc) {
        offsets.push(if opts.co64 { pos.to_be_bytes().to_vec() } else { (pos as u32).to_be_bytes().to_vec() });
        pos += chunk.iter().map(|s| s.data.len() as u64).sum::<u64>();
    }
    let offsets = table(if opts.co64 { b"co64" } else { b"stco" }, 0, &offsets);
    let sync: Vec<_> = (1..=n as u32).filter(|&i| samples[i as usize - 1].is_sync).map(|i| words(&[i])).collect();
    let stss = if opts.with_stss { table(b"stss", 0, &sync) } else { Vec::new() };
    [stsd(), stts, ctts, stsc, sizes, offsets, stss].concat()
}

/// A progressive file: ftyp, moov and mdat (in either order), one H.264-looking track.
pub(super) fn progressive(samples: &[TestSample], opts: &ProgressiveOptions) -> Vec<u8> {
    let ftyp = mp4_box(b"ftyp", b"isom\0\0\x02\0isomavc1");
    let mdat = mp4_box(b"mdat", &samples.iter().flat_map(|s| s.data.clone()).collect::<Vec<_>>());
    let duration = samples.iter().map(|s| u64::from(s.duration)).sum();
    let moov_with = |mdat_payload_start: u64| {
        let stbl = progressive_stbl(samples, opts, mdat_payload_start);
        mp4_box(b"moov", &[mvhd(), trak(1, opts.edit, opts.mdhd_version, duration, &stbl)].concat())
    };
    if opts.moov_after_mdat {
        let moov = moov_with(ftyp.len() as u64 + 8);
        [ftyp, mdat, moov].concat()
    } else {
        // The moov's size does not depend on the offsets in it: build it once to measure.
        let moov_len = moov_with(0).len();
        let moov = moov_with((ftyp.len() + moov_len) as u64 + 8);
        [ftyp, moov, mdat].concat()
    }
}

/// Where a traf's sample data is addressed from (8.8.7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DataBase {
    /// tfhd base-data-offset: absolute; truns carry no data_offset.
    Explicit,
    /// default-base-is-moof; truns carry data_offset.
    Moof,
    /// Neither flag: the first traf starts at the moof, later ones where the previous traf's
    /// data ended; only the first trun of the first traf carries data_offset.
    Implicit,
}

/// Where fragment samples take their fields from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SampleFields {
    /// Every field in the trun.
    PerSample,
    /// Duration, size and flags as tfhd defaults, first-sample-flags for the sync sample.
    TfhdDefaults,
    /// The same from trex.
    TrexDefaults,
}

#[derive(Debug, Clone)]
pub(super) struct FragmentOptions {
    pub base: DataBase,
    pub fields: SampleFields,
    /// tfdt version, or no tfdt.
    pub tfdt_version: Option<u8>,
    pub trun_version: u8,
    /// Split each traf's samples over this many truns.
    pub truns_per_traf: usize,
}

impl Default for FragmentOptions {
    fn default() -> Self {
        Self {
            base: DataBase::Moof,
            fields: SampleFields::PerSample,
            tfdt_version: Some(1),
            trun_version: 1,
            truns_per_traf: 1,
        }
    }
}

const SYNC_FLAGS: u32 = 0x0200_0000;
const NON_SYNC_FLAGS: u32 = 0x0101_0000;

fn flags_of(s: &TestSample) -> u32 {
    if s.is_sync {
        SYNC_FLAGS
    } else {
        NON_SYNC_FLAGS
    }
}

/// A fragmented file: an empty moov with mvex, then per fragment one moof (a traf per track)
/// and one mdat. `tracks[t][f]` holds track t+1's samples in fragment f. With defaults
/// (`SampleFields::*Defaults`) every sample of a track must share duration and size, and
/// only each run's first sample may be a sync sample.
pub(super) fn fragmented(tracks: &[Vec<Vec<TestSample>>], opts: &FragmentOptions) -> Vec<u8> {
    let ftyp = mp4_box(b"ftyp", b"iso6\0\0\x02\0iso6mp41");
    let empty_stbl = [
        stsd(),
        table(b"stts", 0, &[]),
        table(b"stsc", 0, &[]),
        full_box(b"stsz", 0, 0, &[0; 8]),
        table(b"stco", 0, &[]),
    ]
    .concat();
    let traks: Vec<u8> = (1..=tracks.len() as u32).flat_map(|id| trak(id, None, 0, 0, &empty_stbl)).collect();
    let trexes: Vec<u8> = tracks
        .iter()
        .zip(1..)
        .flat_map(|(fragments, id)| {
            let first = fragments.iter().flatten().next();
            let (duration, size, flags) = match (opts.fields, first) {
                (SampleFields::TrexDefaults, Some(s)) => (s.duration, s.data.len() as u32, NON_SYNC_FLAGS),
                _ => (0, 0, 0),
            };
            full_box(b"trex", 0, 0, &words(&[id, 1, duration, size, flags]))
        })
        .collect();
    let moov = mp4_box(b"moov", &[mvhd(), traks, mp4_box(b"mvex", &trexes)].concat());
    let mut file = [ftyp, moov].concat();
    let fragment_count = tracks.iter().map(Vec::len).max().unwrap_or(0);
    let mut decode_times = vec![0u64; tracks.len()];
    for f in 0..fragment_count {
        let moof_start = file.len() as u64;
        // Build the moof twice: its size does not depend on the offsets inside it.
        let moof_len = build_moof(tracks, f, opts, &decode_times, moof_start, 0).len() as u64;
        let mdat_payload = moof_start + moof_len + 8;
        let moof = build_moof(tracks, f, opts, &decode_times, moof_start, mdat_payload);
        let data: Vec<u8> =
            tracks.iter().flat_map(|t| t.get(f).into_iter().flatten().flat_map(|s| s.data.clone())).collect();
        file.extend_from_slice(&moof);
        file.extend_from_slice(&mp4_box(b"mdat", &data));
        for (time, track) in decode_times.iter_mut().zip(tracks) {
            *time += track.get(f).into_iter().flatten().map(|s| u64::from(s.duration)).sum::<u64>();
        }
    }
    file
}

fn build_moof(
    tracks: &[Vec<Vec<TestSample>>],
    f: usize,
    opts: &FragmentOptions,
    decode_times: &[u64],
    moof_start: u64,
    mdat_payload: u64,
) -> Vec<u8> {
    let mut trafs = Vec::new();
    let mut data_pos = mdat_payload;
    for (t, track) in tracks.iter().enumerate() {
        let samples = track.get(f).map(Vec::as_slice).unwrap_or_default();
        let first = samples.first();
        let mut tfhd_flags = 0;
        let mut tfhd_body = words(&[t as u32 + 1]);
        match opts.base {
            DataBase::Explicit => {
                tfhd_flags |= 0x1;
                tfhd_body.extend_from_slice(&data_pos.to_be_bytes());
            }
            DataBase::Moof => tfhd_flags |= 0x2_0000,
            DataBase::Implicit => {}
        }
        if let (SampleFields::TfhdDefaults, Some(s)) = (opts.fields, first) {
            tfhd_flags |= 0x8 | 0x10 | 0x20;
            tfhd_body.extend_from_slice(&words(&[s.duration, s.data.len() as u32, NON_SYNC_FLAGS]));
        }
        let mut traf = full_box(b"tfhd", 0, tfhd_flags, &tfhd_body);
        match opts.tfdt_version {
            Some(1) => traf.extend_from_slice(&full_box(b"tfdt", 1, 0, &decode_times[t].to_be_bytes())),
            Some(_) => traf.extend_from_slice(&full_box(b"tfdt", 0, 0, &words(&[decode_times[t] as u32]))),
            None => {}
        }
        let per_run = samples.len().div_ceil(opts.truns_per_traf.max(1)).max(1);
        for (r, run) in samples.chunks(per_run).enumerate() {
            let carries_offset = match opts.base {
                DataBase::Explicit => false,
                DataBase::Moof => r == 0,
                DataBase::Implicit => r == 0 && t == 0,
            };
            let mut flags = 0;
            let mut body = words(&[run.len() as u32]);
            if carries_offset {
                flags |= 0x1;
                // Wraps only in the measuring pass, where mdat_payload is still 0.
                body.extend_from_slice(&(data_pos.wrapping_sub(moof_start) as i32).to_be_bytes());
            }
            if opts.fields == SampleFields::PerSample {
                flags |= 0x100 | 0x200 | 0x400 | 0x800;
                for s in run {
                    body.extend_from_slice(&words(&[
                        s.duration,
                        s.data.len() as u32,
                        flags_of(s),
                        s.cts_offset as u32,
                    ]));
                }
            } else {
                flags |= 0x4 | 0x800;
                body.extend_from_slice(&flags_of(&run[0]).to_be_bytes());
                body.extend(run.iter().flat_map(|s| s.cts_offset.to_be_bytes()));
            }
            traf.extend_from_slice(&full_box(b"trun", opts.trun_version, flags, &body));
            data_pos += run.iter().map(|s| s.data.len() as u64).sum::<u64>();
        }
        trafs.extend_from_slice(&mp4_box(b"traf", &traf));
    }
    mp4_box(b"moof", &[full_box(b"mfhd", 0, 0, &words(&[f as u32 + 1])), trafs].concat())
}
