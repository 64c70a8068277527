//! The demuxer against ffmpeg on every MP4 fixture, and against files rebuilt from the
//! fixtures (moov moved after mdat, stco turned into co64) and synthesized ones for the
//! layouts the fixtures lack. Broken input is in `malformed_tests.rs`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;

use super::test_file::{self, words, DataBase, FragmentOptions, ProgressiveOptions, SampleFields, TestSample};
use super::*;

pub(super) const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");

pub(super) fn mp4_fixtures() -> Vec<PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(TESTDATA)
        .expect("testdata/ exists")
        .map(|e| e.expect("readable dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .collect();
    paths.sort();
    assert!(paths.len() >= 13, "expected the 13 MP4 fixtures of testdata/README.md, found {}", paths.len());
    paths
}

pub(super) fn read_fixture(path: &Path) -> Bytes {
    Bytes::from(std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn fixture(name: &str) -> Bytes {
    read_fixture(&Path::new(TESTDATA).join(name))
}

fn tool_output(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (ffmpeg 5.1) must be installed for this test: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// One line of ffmpeg's framemd5 output.
#[derive(Debug, PartialEq, Eq)]
struct Packet {
    dts: i64,
    pts: i64,
    duration: i64,
    size: usize,
    md5: String,
}

/// The video packets as ffmpeg's mov demuxer hands them out, and the MD5 of the extradata.
/// `-copyts` keeps the demuxer's timestamps: without it the ffmpeg CLI also subtracts the
/// input's start time, which for a file without an edit list (the fragmented fixture) shifts
/// every timestamp by the first pts. With an edit list the two agree.
fn ffmpeg_packets(path: &Path) -> (Option<String>, Vec<Packet>) {
    let file = path.to_str().expect("utf-8 path");
    let args = ["-v", "error", "-copyts", "-i", file, "-map", "0:v", "-c", "copy", "-f", "framemd5", "-"];
    let text = tool_output("ffmpeg", &args);
    let mut extradata_md5 = None;
    let mut packets = Vec::new();
    for line in text.lines() {
        // `#extradata 0,      40, b42879ddb32c0938a0c2655ccd648e8c`
        if let Some(rest) = line.strip_prefix("#extradata 0,") {
            extradata_md5 = rest.split(',').nth(1).map(|h| h.trim().to_owned());
        }
        if line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let int = |i: usize| f[i].parse::<i64>().unwrap_or_else(|_| panic!("bad framemd5 line {line:?}"));
        packets.push(Packet {
            dts: int(1),
            pts: int(2),
            duration: int(3),
            size: int(4) as usize,
            md5: f[5].to_owned(),
        });
    }
    (extradata_md5, packets)
}

fn video_track(demuxer: &Mp4Demuxer) -> (&TrackInfo, Vec<Sample>) {
    let track = demuxer.video_track().expect("a video track");
    (track, demuxer.samples(track.track_id).expect("samples of a listed track").to_vec())
}

#[test]
fn samples_match_ffmpeg_framemd5_for_every_fixture() {
    for path in mp4_fixtures() {
        let name = path.display();
        let (extradata_md5, expected) = ffmpeg_packets(&path);
        let demuxer = Mp4Demuxer::new(read_fixture(&path)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (track, samples) = video_track(&demuxer);
        let shift = track.edit_media_time.unwrap_or(0);
        let actual: Vec<Packet> = samples
            .iter()
            .map(|s| Packet {
                dts: s.dts - shift,
                pts: s.pts() - shift,
                duration: i64::from(s.duration),
                size: s.data.len(),
                md5: md5_hex(&s.data),
            })
            .collect();
        assert_eq!(actual.len(), expected.len(), "{name}: packet count");
        for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
            assert_eq!(a, e, "{name}: packet {i}");
        }
        let record = track.config_record.as_ref().expect("avcC/hvcC");
        assert_eq!(Some(md5_hex(record)), extradata_md5, "{name}: the config record is ffmpeg's extradata");
    }
}

#[test]
fn track_info_and_keyframes_match_ffprobe_for_every_fixture() {
    for path in mp4_fixtures() {
        let name = path.display();
        let file = path.to_str().expect("utf-8 path");
        let entries = "packet=flags:stream=codec_name,codec_tag_string,width,height,time_base,duration_ts,\
                       nb_frames,sample_aspect_ratio,color_range,color_primaries,color_transfer,color_space";
        let text = tool_output(
            "ffprobe",
            &["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "default=nw=1", file],
        );
        // One `flags=K_` line per packet, in decode order, then `key=value` lines of the stream.
        let (packets, stream): (Vec<&str>, Vec<&str>) = text.lines().partition(|l| l.starts_with("flags="));
        let probe: HashMap<&str, &str> = stream.iter().filter_map(|l| l.split_once('=')).collect();
        let demuxer = Mp4Demuxer::new(read_fixture(&path)).expect("fixture parses");
        let (track, samples) = video_track(&demuxer);
        let keyframes: Vec<bool> = samples.iter().map(|s| s.is_sync).collect();
        assert_eq!(keyframes, packets.iter().map(|flags| flags.contains('K')).collect::<Vec<_>>(), "{name}");
        assert!(keyframes.iter().filter(|&&k| k).count() >= 2, "{name}: fixtures have several GOPs");
        assert_eq!(&track.handler, b"vide");
        assert_eq!(track.codec.map(Codec::ffmpeg_name), Some(probe["codec_name"]), "{name}");
        assert_eq!(super::super::box_reader::fourcc_str(track.sample_entry), probe["codec_tag_string"], "{name}");
        assert_eq!(
            (track.width.to_string(), track.height.to_string()),
            (probe["width"].into(), probe["height"].into()),
            "{name}"
        );
        assert_eq!(format!("1/{}", track.timescale), probe["time_base"], "{name}");
        assert_eq!(track.duration.map(|d| d.to_string()).as_deref(), Some(probe["duration_ts"]), "{name}");
        let fragmented = name.to_string().contains("fragmented");
        assert_eq!(track.fragmented, fragmented, "{name}");
        // ffprobe counts only moov samples (N/A when fragmented).
        if !fragmented {
            assert_eq!(track.sample_count.to_string(), probe["nb_frames"], "{name}");
        }
        let (h, v) = track.pixel_aspect.expect("ffmpeg writes pasp");
        assert_eq!(format!("{h}:{v}"), probe["sample_aspect_ratio"], "{name}");
        if let Some(colour) = track.colour {
            assert_eq!(colour.primaries_name().unwrap_or("unknown"), probe["color_primaries"], "{name}");
            assert_eq!(colour.transfer_name().unwrap_or("unknown"), probe["color_transfer"], "{name}");
            assert_eq!(colour.matrix_name().unwrap_or("unknown"), probe["color_space"], "{name}");
            assert_eq!(if colour.full_range { "pc" } else { "tv" }, probe["color_range"], "{name}");
        }
        assert_eq!(demuxer.tracks().len(), 1, "{name}: fixtures hold one video track");
    }
    let fullrange = Mp4Demuxer::new(fixture("h264_fullrange_bt709_320x240_25.mp4")).expect("parses");
    let colour = fullrange.video_track().and_then(|t| t.colour).expect("the full-range fixture has colr nclx");
    assert!(colour.full_range && colour.primaries == 1);
}

#[test]
fn fragmented_fixture_reads_both_moofs_from_an_empty_moov() {
    let demuxer = Mp4Demuxer::new(fixture("h264_main_320x240_25_fragmented.mp4")).expect("parses");
    let (track, samples) = video_track(&demuxer);
    assert!(track.fragmented);
    assert_eq!(track.sample_count, 50);
    // The second moof's tfdt (12800) continues where the first fragment's 25 samples end.
    assert_eq!(samples[25].dts, 12800);
    assert_eq!(samples.iter().map(|s| u64::from(s.duration)).sum::<u64>(), track.duration.expect("summed"));
    // The same access units as the progressive original.
    let progressive = Mp4Demuxer::new(fixture("h264_main_320x240_25.mp4")).expect("parses");
    let original = video_track(&progressive).1;
    assert!(samples.iter().zip(&original).all(|(a, b)| a.data == b.data && a.is_sync == b.is_sync));
}

#[test]
fn sample_data_shares_the_input_memory() {
    let file = fixture("h264_main_320x240_25.mp4");
    let range = file.as_ptr_range();
    let demuxer = Mp4Demuxer::new(file.clone()).expect("parses");
    for sample in video_track(&demuxer).1 {
        assert!(range.contains(&sample.data.as_ptr()), "sample data must be a slice of the input, not a copy");
    }
}

#[test]
fn unknown_track_id_is_an_error() {
    let demuxer = Mp4Demuxer::new(fixture("h264_main_320x240_25.mp4")).expect("parses");
    let err = demuxer.samples(99).expect_err("no track 99");
    assert!(err.to_string().contains("track 99"), "{err}");
}

// ---- files rebuilt from the fixtures ----

/// Container boxes whose children the rebuilder walks into.
const CONTAINERS: [&[u8; 4]; 9] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf"];

/// Given a leaf box's type and payload, its replacement, or `None` to keep it.
type LeafRewrite<'a> = dyn FnMut(&[u8; 4], &[u8]) -> Option<Vec<u8>> + 'a;

/// Rewrites the boxes in `data`, recursing into containers; `leaf` may replace leaf boxes.
/// Sizes are recomputed.
fn rewrite(data: &[u8], leaf: &mut LeafRewrite<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= data.len() {
        let size = u32::from_be_bytes(data[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let box_type: [u8; 4] = data[pos + 4..pos + 8].try_into().expect("4 bytes");
        let payload = &data[pos + 8..pos + size];
        if CONTAINERS.contains(&&box_type) {
            out.extend_from_slice(&test_file::mp4_box(&box_type, &rewrite(payload, leaf)));
        } else if let Some(replacement) = leaf(&box_type, payload) {
            out.extend_from_slice(&replacement);
        } else {
            out.extend_from_slice(&data[pos..pos + size]);
        }
        pos += size;
    }
    out
}

/// A fixture with its moov moved behind the mdat (no "faststart"), its chunk offsets moved
/// back by the moov's size, and optionally its stco turned into co64.
fn moov_last(file: &[u8], as_co64: bool) -> Vec<u8> {
    let (mut before, mut moov, mut after) = (Vec::new(), Vec::new(), Vec::new());
    let mut pos = 0;
    while pos < file.len() {
        let size = u32::from_be_bytes(file[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        let whole = &file[pos..pos + size];
        match &file[pos + 4..pos + 8] {
            b"moov" => moov = whole.to_vec(),
            _ if moov.is_empty() => before.extend_from_slice(whole),
            _ => after.extend_from_slice(whole),
        }
        pos += size;
    }
    let shift = moov.len() as u32;
    let moved = rewrite(&moov, &mut |box_type, payload| {
        if box_type != b"stco" {
            return None;
        }
        let offsets = payload[8..].chunks(4).map(|c| u32::from_be_bytes(c.try_into().expect("4 bytes")) - shift);
        Some(if as_co64 {
            let body: Vec<u8> =
                [&payload[..8], &offsets.flat_map(|o| u64::from(o).to_be_bytes()).collect::<Vec<_>>()].concat();
            test_file::mp4_box(b"co64", &body)
        } else {
            test_file::mp4_box(
                b"stco",
                &[&payload[..8], &offsets.flat_map(u32::to_be_bytes).collect::<Vec<_>>()].concat(),
            )
        })
    });
    [before, after, moved].concat()
}

#[test]
fn moov_after_mdat_gives_the_same_samples() {
    for name in ["h264_main_320x240_25.mp4", "hevc_opengop_cra_320x240_25.mp4"] {
        let original = fixture(name);
        for as_co64 in [false, true] {
            let rebuilt = moov_last(&original, as_co64);
            assert_ne!(&rebuilt[..], &original[..]);
            let a = Mp4Demuxer::new(original.clone()).expect("original parses");
            let b = Mp4Demuxer::new(Bytes::from(rebuilt)).unwrap_or_else(|e| panic!("{name} co64={as_co64}: {e}"));
            assert_eq!(a.tracks(), b.tracks(), "{name}");
            assert_eq!(video_track(&a).1, video_track(&b).1, "{name} co64={as_co64}");
        }
    }
}

// ---- synthesized files ----

/// A sample's data, dts, composition offset, duration and sync flag.
type SampleSummary = (Vec<u8>, i64, i32, u32, bool);

/// The samples a demuxer should produce for `samples` starting at decode time `dts`.
fn expected(samples: &[TestSample], mut dts: i64) -> Vec<SampleSummary> {
    samples
        .iter()
        .map(|s| {
            let out = (s.data.clone(), dts, s.cts_offset, s.duration, s.is_sync);
            dts += i64::from(s.duration);
            out
        })
        .collect()
}

fn actual(samples: &[Sample]) -> Vec<SampleSummary> {
    samples.iter().map(|s| (s.data.to_vec(), s.dts, s.cts_offset, s.duration, s.is_sync)).collect()
}

#[test]
fn progressive_table_layouts() {
    let samples = test_file::test_samples(23, 0);
    let base = ProgressiveOptions::default();
    let layouts = [
        ProgressiveOptions { moov_after_mdat: true, ..base.clone() },
        ProgressiveOptions { co64: true, ..base.clone() },
        ProgressiveOptions { compact_size_bits: Some(8), ..base.clone() },
        ProgressiveOptions { compact_size_bits: Some(16), samples_per_chunk: 1, ..base.clone() },
        ProgressiveOptions { samples_per_chunk: 7, edit: Some((1, -1)), ..base.clone() },
        ProgressiveOptions { samples_per_chunk: 100, edit: None, mdhd_version: 1, ..base.clone() },
        ProgressiveOptions { edit: Some((1, 1 << 40)), ..base.clone() },
        base,
    ];
    for (i, opts) in layouts.iter().enumerate() {
        let file = test_file::progressive(&samples, opts);
        let demuxer = Mp4Demuxer::new(Bytes::from(file)).unwrap_or_else(|e| panic!("layout {i} {opts:?}: {e}"));
        let (track, got) = video_track(&demuxer);
        assert_eq!(actual(&got), expected(&samples, 0), "layout {i} {opts:?}");
        // An edit whose media_time is -1 is empty; the elst then has no usable start.
        let edit = opts.edit.map(|(_, t)| t).filter(|&t| t != -1);
        assert_eq!(track.edit_media_time, edit, "layout {i}");
        assert_eq!(track.duration, Some(samples.iter().map(|s| u64::from(s.duration)).sum()), "layout {i}");
        assert_eq!((track.width, track.height, track.pixel_aspect), (320, 240, Some((4, 3))));
        assert_eq!(track.config_record.as_deref(), Some(test_file::TEST_AVCC));
        assert_eq!((track.codec, track.fragmented, track.sample_count), (Some(Codec::H264), false, 23));
    }
}

#[test]
fn stz2_with_4_bit_sizes_and_constant_stsz() {
    // 4-bit fields pack two sizes per byte; use sizes below 16 and an odd count.
    let mut samples = test_file::test_samples(9, 3);
    for (i, s) in samples.iter_mut().enumerate() {
        s.data.truncate(1 + i);
    }
    let opts = ProgressiveOptions { compact_size_bits: Some(4), ..ProgressiveOptions::default() };
    let demuxer = Mp4Demuxer::new(Bytes::from(test_file::progressive(&samples, &opts))).expect("stz2 4-bit");
    assert_eq!(actual(&video_track(&demuxer).1), expected(&samples, 0));

    for s in &mut samples {
        s.data.resize(6, 0x5a);
    }
    let opts = ProgressiveOptions { constant_size: true, ..ProgressiveOptions::default() };
    let demuxer = Mp4Demuxer::new(Bytes::from(test_file::progressive(&samples, &opts))).expect("constant stsz");
    assert_eq!(actual(&video_track(&demuxer).1), expected(&samples, 0));
}

#[test]
fn without_stss_every_sample_is_sync_and_ctts_v0_is_unsigned() {
    let mut samples = test_file::test_samples(10, 1);
    for s in &mut samples {
        s.cts_offset = s.cts_offset.abs();
    }
    let opts = ProgressiveOptions { with_stss: false, ctts_version: 0, ..ProgressiveOptions::default() };
    let demuxer = Mp4Demuxer::new(Bytes::from(test_file::progressive(&samples, &opts))).expect("parses");
    for s in &mut samples {
        s.is_sync = true;
    }
    assert_eq!(actual(&video_track(&demuxer).1), expected(&samples, 0));
}

/// Per-track sample lists, split into `fragments` fragments of unequal sizes.
fn fragment_tracks(tracks: usize, fragments: usize) -> Vec<Vec<Vec<TestSample>>> {
    (0..tracks)
        .map(|t| {
            let samples = test_file::test_samples(7 * fragments + t, t as u8 * 40);
            let mut split = Vec::new();
            let mut rest = &samples[..];
            for f in 0..fragments {
                let take = if f + 1 == fragments { rest.len() } else { 5 + f % 3 };
                split.push(rest[..take].to_vec());
                rest = &rest[take..];
            }
            split
        })
        .collect()
}

fn check_fragmented(tracks: &[Vec<Vec<TestSample>>], opts: &FragmentOptions) {
    let file = test_file::fragmented(tracks, opts);
    let demuxer = Mp4Demuxer::new(Bytes::from(file)).unwrap_or_else(|e| panic!("{opts:?}: {e}"));
    assert_eq!(demuxer.tracks().len(), tracks.len());
    for (track, fragments) in demuxer.tracks().iter().zip(tracks) {
        let all: Vec<TestSample> = fragments.concat();
        let got = demuxer.samples(track.track_id).expect("listed track");
        assert_eq!(actual(got), expected(&all, 0), "track {} {opts:?}", track.track_id);
        assert!(track.fragmented);
        assert_eq!(track.sample_count, all.len() as u64);
        assert_eq!(track.duration, Some(all.iter().map(|s| u64::from(s.duration)).sum()));
    }
}

#[test]
fn fragment_data_bases_tfdt_versions_and_run_splits() {
    let tracks = fragment_tracks(2, 3);
    for base in [DataBase::Explicit, DataBase::Moof, DataBase::Implicit] {
        for tfdt_version in [None, Some(0), Some(1)] {
            for truns_per_traf in [1, 2] {
                for trun_version in [0, 1] {
                    let opts = FragmentOptions {
                        base,
                        fields: SampleFields::PerSample,
                        tfdt_version,
                        trun_version,
                        truns_per_traf,
                    };
                    // Version 0 composition offsets are unsigned in the spec; keep them positive.
                    let tracks: Vec<_> =
                        if trun_version == 0 { with_positive_offsets(&tracks) } else { tracks.clone() };
                    check_fragmented(&tracks, &opts);
                }
            }
        }
    }
}

fn with_positive_offsets(tracks: &[Vec<Vec<TestSample>>]) -> Vec<Vec<Vec<TestSample>>> {
    let mut tracks = tracks.to_vec();
    tracks.iter_mut().flatten().flatten().for_each(|s| s.cts_offset = s.cts_offset.abs());
    tracks
}

#[test]
fn fragment_defaults_from_tfhd_and_trex_with_first_sample_flags() {
    // Defaults need uniform durations and sizes, and a sync sample only at each run's start.
    let mut tracks = fragment_tracks(1, 3);
    for fragment in tracks.iter_mut().flatten() {
        for (i, s) in fragment.iter_mut().enumerate() {
            s.data.resize(9, 0x33);
            s.duration = 512;
            s.is_sync = i == 0;
        }
    }
    for fields in [SampleFields::TfhdDefaults, SampleFields::TrexDefaults] {
        for base in [DataBase::Moof, DataBase::Implicit, DataBase::Explicit] {
            check_fragmented(&tracks, &FragmentOptions { base, fields, ..FragmentOptions::default() });
        }
    }
}

#[test]
fn duration_is_empty_traf_moves_the_next_fragment_later() {
    let tracks = fragment_tracks(1, 2);
    let opts = FragmentOptions { tfdt_version: None, ..FragmentOptions::default() };
    let file = test_file::fragmented(&tracks, &opts);
    // Insert, before the second moof, a moof whose only traf is an empty 1000-tick interval.
    let demuxer = Mp4Demuxer::new(Bytes::from(file.clone())).expect("parses");
    let second_fragment_at = top_level_boxes(&file).iter().filter(|b| &b.0 == b"moof").nth(1).expect("two moofs").1;
    let tfhd = test_file::full_box(b"tfhd", 0, 0x01_0008 | 0x02_0000, &words(&[1, 1000]));
    let gap = test_file::mp4_box(b"moof", &test_file::mp4_box(b"traf", &tfhd));
    let with_gap = [&file[..second_fragment_at], &gap, &file[second_fragment_at..]].concat();
    let gapped = Mp4Demuxer::new(Bytes::from(with_gap)).expect("parses with the gap");
    let (before, after) = (video_track(&demuxer).1, video_track(&gapped).1);
    let first_len = tracks[0][0].len();
    assert_eq!(before.len(), after.len());
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let shift = if i < first_len { 0 } else { 1000 };
        assert_eq!(a.dts, b.dts + shift, "sample {i}");
        assert_eq!(a.data, b.data);
    }
    assert_eq!(gapped.tracks()[0].duration, Some(before.iter().map(|s| u64::from(s.duration)).sum::<u64>() + 1000));
}

/// (type, start, end) of the top-level boxes of a well-formed file with 32-bit sizes.
pub(super) fn top_level_boxes(file: &[u8]) -> Vec<([u8; 4], usize, usize)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 8 <= file.len() {
        let size = u32::from_be_bytes(file[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        out.push((file[pos + 4..pos + 8].try_into().expect("4 bytes"), pos, pos + size));
        pos += size;
    }
    out
}

// ---- MD5 (RFC 1321), to compare sample bytes with ffmpeg's framemd5 ----

pub(super) fn md5_hex(data: &[u8]) -> String {
    const SHIFTS: [u32; 16] = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
    // RFC 1321 3.4: K[i] = floor(2^32 * |sin(i + 1)|).
    let k: Vec<u32> = (0..64).map(|i| (f64::from(i + 1).sin().abs() * 4_294_967_296.0) as u32).collect();
    let mut state: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_le_bytes());
    for block in message.chunks(64) {
        let m: Vec<u32> = block.chunks(4).map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes"))).collect();
        let [mut a, mut b, mut c, mut d] = state;
        for i in 0..64 {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let rotated =
                a.wrapping_add(f).wrapping_add(k[i]).wrapping_add(m[g]).rotate_left(SHIFTS[(i / 16) * 4 + i % 4]);
            (a, d, c) = (d, c, b);
            b = b.wrapping_add(rotated);
        }
        for (s, v) in state.iter_mut().zip([a, b, c, d]) {
            *s = s.wrapping_add(v);
        }
    }
    state.iter().flat_map(|s| s.to_le_bytes()).map(|b| format!("{b:02x}")).collect()
}

#[test]
fn md5_known_answers() {
    assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
    assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(md5_hex(&[b'a'; 100]), "36a92cc94a9e0fa21f625f8bfb007adf");
}
