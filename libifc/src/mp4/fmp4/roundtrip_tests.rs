//! Remux real fixtures through segmenter → muxer → HLS playlist, then ask ffmpeg 5.1 whether it
//! reads back exactly what the source holds: timestamps, key frames, decoded pictures.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::test_support::{compact_rows, ffprobe, fixture_path, load_fixture, SourceTrack};
use super::*;
use crate::codec::Codec;
use crate::hls::{MediaPlaylist, PlaylistEntry};
use crate::mp4::segmenter::Segmenter;

/// What one remux wrote into its own temporary folder.
struct Remuxed {
    dir: PathBuf,
    playlist: PathBuf,
    /// init + every segment in one file: a plain fragmented MP4.
    concatenated: PathBuf,
    /// For each segment, init + that segment alone.
    standalone_segments: Vec<PathBuf>,
    /// The pts of each segment's first sample, from the samples given to the muxer.
    segment_first_pts: Vec<i64>,
    dts_shift: i64,
}

impl Drop for Remuxed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn remux_to_hls(track: &SourceTrack, name: &str) -> Remuxed {
    let dir = std::env::temp_dir().join(format!("ifc-fmp4-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");

    let mut segmenter = Segmenter::new(u64::from(track.timescale)); // 1 s
    let mut segments: Vec<Vec<Sample>> = track.samples.iter().cloned().filter_map(|s| segmenter.push(s)).collect();
    segments.extend(segmenter.flush());
    assert_eq!(segmenter.dropped_before_first_sync(), 0);
    assert!(segments.len() >= 2, "{name}: the round trip must cross a segment boundary");

    // The init segment is taken after the first media segment has fixed the dts shift.
    let mut muxer = Fmp4Muxer::new(&track.config, track.timescale);
    let media: Vec<MediaSegment> = segments.iter().map(|s| muxer.media_segment(s).expect("mux")).collect();
    let init = muxer.init_segment();
    std::fs::write(dir.join("init.mp4"), &init).expect("write init");
    let concatenated = dir.join("all.mp4");
    let mut all = File::create(&concatenated).expect("create all.mp4");
    all.write_all(&init).expect("write");

    let mut entries = vec![PlaylistEntry::Map { uri: "init.mp4".into() }];
    let mut standalone_segments = Vec::new();
    for segment in &media {
        let uri = format!("seg-{}.m4s", segment.sequence_number);
        segment.write_to(&mut File::create(dir.join(&uri)).expect("create segment")).expect("write segment");
        segment.write_to(&mut all).expect("write segment");

        let standalone = dir.join(format!("only-{}.mp4", segment.sequence_number));
        std::fs::write(&standalone, [init.clone(), segment.to_vec()].concat()).expect("write");
        standalone_segments.push(standalone);

        let duration_s = segment.duration as f64 / f64::from(track.timescale);
        entries.push(PlaylistEntry::Segment { uri, duration_s, program_date_time_ms: None, discontinuity: false });
    }
    let playlist = MediaPlaylist {
        target_duration_s: 1,
        independent_segments: true,
        entries,
        ended: true,
        ..MediaPlaylist::default()
    };
    let playlist_path = dir.join("index.m3u8");
    std::fs::write(&playlist_path, playlist.render()).expect("write playlist");
    Remuxed {
        dir,
        playlist: playlist_path,
        concatenated,
        standalone_segments,
        segment_first_pts: segments.iter().map(|s| s[0].pts()).collect(),
        dts_shift: muxer.dts_shift().expect("segments written"),
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// `(pts, key frame)` of each video packet, in file order.
fn packet_pts_and_key(path: &Path) -> Vec<(i64, bool)> {
    let text =
        ffprobe(&["-select_streams", "v:0", "-show_entries", "packet=pts,flags", "-of", "compact=p=0", path_str(path)]);
    compact_rows(&text).iter().map(|p| (p["pts"].parse().expect("pts"), p["flags"].starts_with('K'))).collect()
}

fn ffmpeg(args: &[&str]) -> std::process::Output {
    let out = Command::new("ffmpeg").args(["-nostdin", "-v", "error"]).args(args).output().expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Decoded pictures' checksums and timestamps, one line per frame.
fn framemd5(path: &Path) -> String {
    String::from_utf8(ffmpeg(&["-i", path_str(path), "-f", "framemd5", "-"]).stdout).expect("UTF-8")
}

fn assert_round_trip(name: &str, codec: Codec) {
    let track = load_fixture(name, codec);
    let remuxed = remux_to_hls(&track, name.trim_end_matches(".mp4"));
    let source = fixture_path(name);

    // (a) ffmpeg reads the playlist without a single complaint.
    let decode = ffmpeg(&["-i", path_str(&remuxed.playlist), "-f", "null", "-"]);
    assert_eq!(String::from_utf8_lossy(&decode.stderr), "", "{name}: ffmpeg -v error on index.m3u8");

    // (b) Every packet's pts and key-frame flag equals the source's, through HLS and as one file.
    let source_packets = packet_pts_and_key(&source);
    assert_eq!(source_packets.len(), track.samples.len());
    assert_eq!(packet_pts_and_key(&remuxed.playlist), source_packets, "{name}: pts/key via HLS");
    assert_eq!(packet_pts_and_key(&remuxed.concatenated), source_packets, "{name}: pts/key as one file");

    // (c) Bit-identical decode, timestamps included.
    let source_md5 = framemd5(&source);
    assert!(source_md5.lines().filter(|l| !l.starts_with('#')).count() == track.samples.len());
    assert_eq!(framemd5(&remuxed.playlist), source_md5, "{name}: framemd5 via HLS");
    assert_eq!(framemd5(&remuxed.concatenated), source_md5, "{name}: framemd5 as one file");

    // (d) Each segment, read alone after the init segment, starts with a key frame at its pts.
    for (path, &first_pts) in remuxed.standalone_segments.iter().zip(&remuxed.segment_first_pts) {
        let packets = packet_pts_and_key(path);
        assert_eq!(packets.first(), Some(&(first_pts, true)), "{name}: {}", path.display());
    }
    // The B-frame sources start at a negative dts; the shift is what made tfdt non-negative.
    assert_eq!(remuxed.dts_shift, (-track.samples[0].dts).max(0));
}

#[test]
fn h264_b_pyramid_round_trips_through_hls_bit_exactly() {
    assert_round_trip("h264_high_bpyramid_320x240_25.mp4", Codec::H264);
}

#[test]
fn hevc_closed_gop_round_trips_through_hls_bit_exactly() {
    assert_round_trip("hevc_main_320x240_25.mp4", Codec::H265);
}

#[test]
fn hevc_open_gop_cra_round_trips_through_hls_bit_exactly() {
    // Segments start at CRA pictures whose RASL pictures reference the previous segment:
    // playing straight through must still decode them all.
    assert_round_trip("hevc_opengop_cra_320x240_25.mp4", Codec::H265);
}

#[test]
fn h264_fractional_frame_rate_keeps_its_timescale() {
    assert_round_trip("h264_high_2997_320x240.mp4", Codec::H264);
}

#[test]
fn ffprobe_reads_colr_and_pasp_from_the_init_segment() {
    // The fixture's VUI has neither a colour description nor an aspect ratio, so what ffprobe
    // reports can only come from the boxes the muxer wrote.
    let mut track = load_fixture("h264_high_bpyramid_320x240_25.mp4", Codec::H264);
    track.config.params.colour =
        crate::codec::ColourDescription { primaries: 1, transfer: 1, matrix: 1, full_range: true };
    track.config.params.sample_aspect_ratio = (4, 3);
    let remuxed = remux_to_hls(&track, "colr_pasp");
    let text = ffprobe(&[
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=sample_aspect_ratio,color_range,color_primaries,color_transfer,color_space",
        "-of",
        "compact=p=0",
        path_str(&remuxed.concatenated),
    ]);
    let stream = &compact_rows(&text)[0];
    let got: Vec<&str> = ["sample_aspect_ratio", "color_range", "color_primaries", "color_transfer", "color_space"]
        .iter()
        .map(|k| stream[*k].as_str())
        .collect();
    assert_eq!(got, ["4:3", "pc", "bt709", "bt709", "bt709"]);
}
