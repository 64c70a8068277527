//! Test-only helpers: a minimal box walk, and the samples of a fixture MP4 taken out with
//! ffprobe (packet positions and timing) plus the file's own bytes, so that the muxer's tests
//! do not depend on ifc's demuxer or record parser.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use bytes::Bytes;

use crate::codec::{ChromaFormat, Codec, ColourDescription, DecoderConfig, VideoParams};
use crate::mp4::Sample;

pub(super) fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata")).join(name)
}

/// The boxes directly inside `data`: `(type, body)`. Stops at the first malformed header.
pub(super) fn child_boxes(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 8 {
        let size = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let fourcc = [rest[4], rest[5], rest[6], rest[7]];
        if size < 8 || size > rest.len() {
            break;
        }
        out.push((fourcc, &rest[8..size]));
        rest = &rest[size..];
    }
    out
}

/// The body of the first box of type `fourcc` directly inside `data`.
pub(super) fn child<'a>(data: &'a [u8], fourcc: &[u8; 4]) -> &'a [u8] {
    child_boxes(data)
        .into_iter()
        .find(|(t, _)| t == fourcc)
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("no {} box", String::from_utf8_lossy(fourcc)))
}

/// Follows a path of box types from the top level; `stsd` and sample entries are entered past
/// their fixed fields (14496-12 8.5.2: 8 bytes; 12.1.3: 78 bytes of VisualSampleEntry).
pub(super) fn box_at<'a>(data: &'a [u8], path: &[&[u8; 4]]) -> &'a [u8] {
    let mut body = data;
    let mut skip = 0;
    for fourcc in path {
        body = child(&body[skip..], fourcc);
        skip = match *fourcc {
            b"stsd" => 8,
            b"avc1" | b"hvc1" | b"hev1" | b"avc3" => 78,
            _ => 0,
        };
    }
    body
}

/// A decoder configuration around a record, with only the fields the muxer reads filled in.
pub(crate) fn test_config(codec: Codec, record: Bytes, width: u32, height: u32) -> DecoderConfig {
    DecoderConfig {
        codec,
        record,
        nal_length_size: 4,
        parameter_sets: Vec::new(),
        params: VideoParams {
            codec,
            profile_idc: 0,
            profile: String::new(),
            level_idc: 0,
            high_tier: false,
            coded_width: width,
            coded_height: height,
            width,
            height,
            bit_depth_luma: 8,
            bit_depth_chroma: 8,
            chroma_format: ChromaFormat::Yuv420,
            frame_rate: None,
            colour: ColourDescription::default(),
            sample_aspect_ratio: (1, 1),
            max_num_reorder_frames: None,
            codec_string: String::new(),
        },
    }
}

/// A fixture's one video track, as ffprobe sees it.
pub(super) struct SourceTrack {
    pub(super) config: DecoderConfig,
    pub(super) timescale: u32,
    pub(super) samples: Vec<Sample>,
}

/// Runs ffprobe with `args` and returns its stdout; panics with its stderr on failure.
pub(super) fn ffprobe(args: &[&str]) -> String {
    let out = Command::new("ffprobe").args(["-v", "error"]).args(args).output().expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("ffprobe prints UTF-8")
}

/// `key=value|key=value` lines (ffprobe's `compact=p=0` writer) as maps.
pub(super) fn compact_rows(text: &str) -> Vec<HashMap<String, String>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('|').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
        .collect()
}

pub(super) fn load_fixture(name: &str, codec: Codec) -> SourceTrack {
    let path = fixture_path(name);
    let path_str = path.to_str().expect("UTF-8 path");
    let file = Bytes::from(std::fs::read(&path).expect("fixture readable"));

    let stream = ffprobe(&[
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=time_base,width,height",
        "-of",
        "compact=p=0",
        path_str,
    ]);
    let stream = &compact_rows(&stream)[0];
    let timescale = stream["time_base"].strip_prefix("1/").expect("time_base 1/N").parse().expect("timescale");
    let width = stream["width"].parse().expect("width");
    let height = stream["height"].parse().expect("height");

    let packets = ffprobe(&[
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts,dts,duration,size,pos,flags",
        "-of",
        "compact=p=0",
        path_str,
    ]);
    let samples = compact_rows(&packets)
        .iter()
        .map(|p| {
            let pos: usize = p["pos"].parse().expect("pos");
            let size: usize = p["size"].parse().expect("size");
            let dts: i64 = p["dts"].parse().expect("dts");
            let pts: i64 = p["pts"].parse().expect("pts");
            Sample {
                data: file.slice(pos..pos + size),
                dts,
                cts_offset: i32::try_from(pts - dts).expect("offset fits"),
                duration: p["duration"].parse().expect("duration"),
                is_sync: p["flags"].starts_with('K'),
            }
        })
        .collect();

    let entry = match codec {
        Codec::H264 => b"avc1",
        Codec::H265 => b"hvc1",
    };
    let record_fourcc = match codec {
        Codec::H264 => b"avcC",
        Codec::H265 => b"hvcC",
    };
    let record = box_at(&file, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", entry, record_fourcc]);
    let config = test_config(codec, Bytes::copy_from_slice(record), width, height);
    SourceTrack { config, timescale, samples }
}
