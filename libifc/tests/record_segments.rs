//! `record::SegmentWriter` against ffprobe/ffmpeg: real clips fed as a live feed (presentation
//! times only, as RTP gives them), each segment written to a file that must decode on its own,
//! with the input's presentation times and monotonic decode times.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use ifc::live::{BreakReason, FeedItem};
use ifc::record::{CloseReason, FinishedSegment, SegmentWriter, SegmentWriterOptions};
use ifc::remux::{input_kind, LiveItem, VideoInput};
use sha2::{Digest, Sha256};

fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name)
}

/// The clip's packets as a live feed gives them: no decode times.
fn live_packets(input: &VideoInput) -> Vec<ifc::decode::EncodedPacket> {
    input
        .packets()
        .into_iter()
        .map(|mut p| {
            p.dts_90k = None;
            p
        })
        .collect()
}

fn read(name: &str) -> VideoInput {
    let data = bytes::Bytes::from(std::fs::read(testdata(name)).unwrap());
    VideoInput::read(input_kind(Some(name.rsplit('.').next().unwrap()), &data).unwrap(), data, None).unwrap()
}

fn write(dir: &Path, index: usize, segment: &FinishedSegment) -> PathBuf {
    let path = dir.join(format!("{index}.m4s"));
    let mut file = std::fs::File::create(&path).unwrap();
    for part in &segment.payload {
        std::io::Write::write_all(&mut file, part).unwrap();
    }
    path
}

/// (pts, dts, key) of every packet, in the stream's time base (1/90000).
fn probe_packets(path: &Path) -> Vec<(i64, i64, bool)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts,dts,flags:stream=time_base",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["streams"][0]["time_base"], "1/90000", "{}", path.display());
    v["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_str().and_then(|s| s.parse::<i64>().ok()).or_else(|| p[k].as_i64()).unwrap();
            (n("pts"), n("dts"), p["flags"].as_str().unwrap().starts_with('K'))
        })
        .collect()
}

/// Decodes the whole file; returns (frames decoded, everything ffmpeg said at warning level).
fn decode(path: &Path) -> (u64, String) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "warning", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "ffmpeg {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let frames = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count() as u64;
    (frames, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Feeds `items` through a writer, writes every segment, checks each against ffprobe/ffmpeg
/// and returns the segments with their files.
fn record(items: Vec<FeedItem>, options: SegmentWriterOptions, dir: &Path) -> Vec<(FinishedSegment, PathBuf)> {
    let mut writer = SegmentWriter::new(options);
    let mut segments = Vec::new();
    for item in items {
        if let Some(s) = writer.push(item).unwrap() {
            segments.push(s);
        }
    }
    segments.extend(writer.flush().unwrap());
    segments
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let path = write(dir, i, &s);
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes.len() as u64, s.bytes);
            assert_eq!(<[u8; 32]>::from(Sha256::digest(&bytes)), s.sha256, "checksum of the file");
            (s, path)
        })
        .collect()
}

/// Every segment decodes alone, without warnings, frame for frame; its pts are the input's,
/// its dts increase and never pass the pts; the key-frame times and media range are right.
fn check_segments(segments: &[(FinishedSegment, PathBuf)], input_pts: &[i64]) {
    let mut all_pts = Vec::new();
    for (s, path) in segments {
        let (frames, warnings) = decode(path);
        assert_eq!(warnings, "", "{}: ffmpeg warned", path.display());
        assert_eq!(frames, s.frame_count, "{}: every packet decodes", path.display());
        let packets = probe_packets(path);
        assert_eq!(packets.len() as u64, s.frame_count);
        assert!(packets[0].2, "{}: starts with a key packet", path.display());
        for w in packets.windows(2) {
            assert!(w[0].1 < w[1].1, "{}: dts increases: {w:?}", path.display());
        }
        for p in &packets {
            assert!(p.1 <= p.0, "{}: dts after pts: {p:?}", path.display());
        }
        let keys: Vec<i64> = packets.iter().filter(|p| p.2).map(|p| p.0).collect();
        assert_eq!(keys, s.key_frame_times_90k);
        let min = packets.iter().map(|p| p.0).min().unwrap();
        let max = packets.iter().map(|p| p.0).max().unwrap();
        assert_eq!(s.media_start_90k, min);
        assert!(s.media_end_90k > max, "end after the last picture");
        all_pts.extend(packets.iter().map(|p| p.0));
    }
    assert_eq!(all_pts, input_pts, "the input's presentation times, in decode order, exactly");
}

fn clip_feed(input: &VideoInput) -> Vec<FeedItem> {
    std::iter::once(FeedItem::Item(LiveItem::Config(input.config.clone())))
        .chain(live_packets(input).into_iter().map(|p| FeedItem::Item(LiveItem::Packet(p))))
        .collect()
}

#[test]
fn b_pyramid_h264_segments_decode_alone_with_exact_times() {
    let input = read("h264_high_bpyramid_320x240_25.mp4");
    let dir = tempfile::tempdir().unwrap();
    // Half a second: a cut at every key frame (GOPs of 30 frames).
    let options = SegmentWriterOptions { target_duration_90k: 45_000, max_duration_90k: 900_000 };
    let segments = record(clip_feed(&input), options, dir.path());
    assert_eq!(segments.iter().map(|s| s.0.frame_count).collect::<Vec<_>>(), [30, 30, 15]);
    assert_eq!(
        segments.iter().map(|s| s.0.close_reason).collect::<Vec<_>>(),
        [CloseReason::Duration, CloseReason::Duration, CloseReason::Flush]
    );
    let input_pts: Vec<i64> = live_packets(&input).iter().map(|p| p.pts_90k.unwrap()).collect();
    check_segments(&segments, &input_pts);
    // The reordering is real: the b-pyramid's decode times are not its presentation times.
    let packets = probe_packets(&segments[0].1);
    assert!(packets.iter().any(|p| p.0 != p.1), "B-frames reordered");
}

#[test]
fn h265_segments_decode_alone_with_exact_times() {
    let input = read("hevc_main_320x240_25.mp4");
    let dir = tempfile::tempdir().unwrap();
    let options = SegmentWriterOptions { target_duration_90k: 45_000, max_duration_90k: 900_000 };
    let segments = record(clip_feed(&input), options, dir.path());
    assert_eq!(segments.iter().map(|s| s.0.frame_count).sum::<u64>(), input.samples.len() as u64);
    assert!(segments.len() >= 2);
    let input_pts: Vec<i64> = live_packets(&input).iter().map(|p| p.pts_90k.unwrap()).collect();
    check_segments(&segments, &input_pts);
}

#[test]
fn a_break_a_new_config_and_missing_key_frames_close_segments_that_still_decode() {
    let input = read("h264_high_bpyramid_320x240_25.mp4");
    let other = read("hevc_main_320x240_25.mp4");
    let dir = tempfile::tempdir().unwrap();
    let packets = live_packets(&input);
    let mut items = clip_feed(&input);
    // Frames 0..40, a break (the subscriber lagged), then the feed resumes mid-GOP: frames up
    // to the next key packet cannot be recorded.
    items.truncate(1 + 40);
    items.push(FeedItem::Break(BreakReason::Lagged { items: 3 }));
    items.extend(packets[45..].iter().cloned().map(|p| FeedItem::Item(LiveItem::Packet(p))));
    // The same configuration again changes nothing; another codec closes the segment.
    items.insert(20, FeedItem::Item(LiveItem::Config(input.config.clone())));
    items.extend(clip_feed(&other));
    let options = SegmentWriterOptions { target_duration_90k: 10 * 90_000, max_duration_90k: 20 * 90_000 };
    let mut writer = SegmentWriter::new(options);
    let mut segments = Vec::new();
    for item in items {
        segments.extend(writer.push(item).unwrap());
    }
    segments.extend(writer.flush().unwrap());
    let reasons: Vec<CloseReason> = segments.iter().map(|s| s.close_reason).collect();
    assert_eq!(
        reasons,
        [CloseReason::Break(BreakReason::Lagged { items: 3 }), CloseReason::NewConfig, CloseReason::Flush]
    );
    let counts: Vec<u64> = segments.iter().map(|s| s.frame_count).collect();
    assert_eq!(counts, [40, 15, 50], "frames 45..60 wait for the key packet at 60");
    assert_eq!(writer.stats().packets_skipped, 15);
    for (i, s) in segments.iter().enumerate() {
        let path = write(dir.path(), i, s);
        let (frames, warnings) = decode(&path);
        assert_eq!((frames, warnings.as_str()), (s.frame_count, ""), "{}", path.display());
    }

    // No key packet for longer than the maximum: the segment is closed, the rest skipped.
    let mut writer = SegmentWriter::new(SegmentWriterOptions { target_duration_90k: 90_000, max_duration_90k: 45_000 });
    let mut closed = Vec::new();
    for item in clip_feed(&input) {
        closed.extend(writer.push(item).unwrap());
    }
    assert_eq!(closed.first().map(|s| s.close_reason), Some(CloseReason::MaxDuration));
    let first = &closed[0];
    assert!(first.media_end_90k - first.media_start_90k <= 45_000 + 2 * 3600, "bounded: {first:?}");
    let path = write(dir.path(), 99, first);
    assert_eq!(decode(&path), (first.frame_count, String::new()));
}

/// Open GOPs (H.265 CRA with RASL leading pictures): a segment cut at a CRA holds RASL
/// pictures that reference the previous segment. They are kept (they belong to the recording),
/// so the segment alone decodes with those pictures skipped by the decoder; the first segment,
/// which starts at the stream's first IRAP, decodes whole. This pins the behaviour down (see the
/// README's recording limits).
#[test]
fn open_gop_segments_decode_alone_without_their_leading_pictures() {
    let input = read("hevc_opengop_cra_320x240_25.mp4");
    let dir = tempfile::tempdir().unwrap();
    let options = SegmentWriterOptions { target_duration_90k: 45_000, max_duration_90k: 900_000 };
    let mut writer = SegmentWriter::new(options);
    let mut segments = Vec::new();
    for item in clip_feed(&input) {
        segments.extend(writer.push(item).unwrap());
    }
    segments.extend(writer.flush().unwrap());
    assert!(segments.len() >= 2);
    let mut decoded_total = 0;
    for (i, s) in segments.iter().enumerate() {
        let path = write(dir.path(), i, s);
        let (frames, warnings) = decode(&path);
        assert_eq!(warnings, "", "segment {i}");
        // Leading pictures: after the key picture in decode order, before it in display order.
        let packets = probe_packets(&path);
        let leading = packets.iter().filter(|p| p.0 < packets[0].0).count() as u64;
        if i == 0 {
            assert_eq!((leading, frames), (0, s.frame_count), "the first segment decodes whole");
        } else {
            assert!(leading > 0, "segment {i} starts at a CRA with RASL pictures");
            assert_eq!(frames, s.frame_count - leading, "segment {i}: all but its RASL pictures decode");
        }
        decoded_total += frames;
    }
    assert_eq!(segments.iter().map(|s| s.frame_count).sum::<u64>(), input.samples.len() as u64, "every packet is kept");
    assert!(decoded_total < input.samples.len() as u64);
}
