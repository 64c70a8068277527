//! Shared by the libavcodec tests: fixtures as packets, decoding them, and what ffmpeg's own
//! command-line decoder makes of the same input.

use std::process::Command;

use bytes::Bytes;

use crate::codec::{AccessUnit, AccessUnitAssembler, ChromaFormat, Codec, DecoderConfig, VideoParams};
use crate::decode::{open_decoder, DecodeError, DecodeStats, DecoderOptions, EncodedPacket, ErrorPolicy, Frame};

pub(super) fn fixture_path(name: &str) -> String {
    format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub(super) fn codec_of(name: &str) -> Codec {
    let ext = name.rsplit('.').next().unwrap_or_default();
    Codec::from_raw_extension(ext).unwrap_or_else(|| panic!("{name}: not a raw H.264/H.265 fixture"))
}

/// The access units of a raw Annex B fixture, as ifc's assembler cuts them.
pub(super) fn access_units(name: &str) -> Vec<AccessUnit> {
    let data = std::fs::read(fixture_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut assembler = AccessUnitAssembler::new(codec_of(name));
    assert!(assembler.push_annex_b(Bytes::from(data)).is_empty(), "{name}: fixture NAL units are well formed");
    assert!(assembler.flush().is_empty());
    std::iter::from_fn(|| assembler.pull()).collect()
}

/// An access unit as one Annex B packet (4-byte start codes); pts = 3600 × decode index.
pub(super) fn annex_b_packet(au: &AccessUnit) -> EncodedPacket {
    let mut data = Vec::with_capacity(au.payload_len() + 4 * au.nals.len());
    for nal in &au.nals {
        data.extend_from_slice(&[0, 0, 0, 1]);
        data.extend_from_slice(nal);
    }
    let pts_90k = i64::try_from(au.index).ok().map(|i| i * 3600);
    EncodedPacket { data: Bytes::from(data), pts_90k, dts_90k: pts_90k, is_key: au.random_access }
}

pub(super) struct Decoded {
    pub frames: Vec<Frame>,
    pub stats: DecodeStats,
    pub errors: Vec<DecodeError>,
}

/// Pushes every packet, pulling as it goes, then flushes; any panic fails the test.
pub(super) fn decode(options: DecoderOptions, packets: impl IntoIterator<Item = EncodedPacket>) -> Decoded {
    let mut decoder = open_decoder(options).expect("libavcodec opens");
    let (mut frames, mut errors) = (Vec::new(), Vec::new());
    for packet in packets {
        if let Err(e) = decoder.push(packet) {
            errors.push(e);
        }
        while let Some(frame) = decoder.pull().expect("pull never fails") {
            frames.push(frame);
        }
    }
    if let Err(e) = decoder.flush() {
        errors.push(e);
    }
    while let Some(frame) = decoder.pull().expect("pull never fails") {
        frames.push(frame);
    }
    let stats = decoder.stats();
    assert_eq!(stats.frames_out, frames.len() as u64, "every counted frame was delivered");
    Decoded { frames, stats, errors }
}

pub(super) fn decode_fixture(name: &str, threads: usize, policy: ErrorPolicy) -> Decoded {
    let options = DecoderOptions::new(codec_of(name)).with_threads(threads).with_error_policy(policy);
    decode(options, access_units(name).iter().map(annex_b_packet))
}

/// ffmpeg's decode of `input` as raw planes, frame after frame, each at its own size
/// (`-autoscale 0`: no scaler after a resolution change; `-fps_mode passthrough`: no frame
/// duplicated or dropped for timing).
pub(super) fn ffmpeg_rawvideo(input: &str, pix_fmt: &str) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin", "-i", input, "-autoscale", "0", "-fps_mode", "passthrough"])
        .args(["-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg failed on {input}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// ffprobe's `-show_entries frame=…` for every frame, one `Vec` of fields per frame (side
/// data that ffprobe appends to some frames' lines is cut off).
pub(super) fn ffprobe_frames(input: &str, entries: &str) -> Vec<Vec<String>> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", &format!("frame={entries}")])
        .args(["-of", "csv=p=0", input])
        .output()
        .expect("ffprobe runs");
    assert!(out.status.success(), "ffprobe failed on {input}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').take(entries.split(',').count()).map(str::to_owned).collect())
        .collect()
}

/// Compares the picture data of `frames` (rows without padding) with ffmpeg's raw output;
/// panics at the first difference, naming frame, plane and row.
pub(super) fn assert_frames_equal_raw(name: &str, frames: &[Frame], raw: &[u8]) {
    let mut offset = 0;
    for (n, frame) in frames.iter().enumerate() {
        for plane in 0..frame.pix_fmt().plane_count() {
            for (y, row) in frame.plane_rows(plane).enumerate() {
                let expected = raw.get(offset..offset + row.len());
                assert!(
                    expected == Some(row),
                    "{name}: frame {n} ({}x{}) plane {plane} row {y} differs from ffmpeg",
                    frame.width(),
                    frame.height()
                );
                offset += row.len();
            }
        }
    }
    assert_eq!(offset, raw.len(), "{name}: ffmpeg decoded more picture data than ifc ({} frames)", frames.len());
}

/// The picture data of a frame, rows without padding.
pub(super) fn picture_bytes(frame: &Frame) -> Vec<u8> {
    (0..frame.pix_fmt().plane_count())
        .flat_map(|p| frame.plane_rows(p).flatten().copied().collect::<Vec<_>>())
        .collect()
}

/// A decoder configuration around a raw avcC/hvcC record. The decoder reads only `record` and
/// `nal_length_size`; the record parser that fills the rest is not merged yet.
pub(super) fn config_with_record(codec: Codec, record: Bytes, nal_length_size: u8) -> DecoderConfig {
    let params = VideoParams {
        codec,
        profile_idc: 0,
        profile: String::new(),
        level_idc: 0,
        high_tier: false,
        coded_width: 0,
        coded_height: 0,
        width: 0,
        height: 0,
        bit_depth_luma: 8,
        bit_depth_chroma: 8,
        chroma_format: ChromaFormat::Yuv420,
        frame_rate: None,
        colour: Default::default(),
        sample_aspect_ratio: (1, 1),
        max_num_reorder_frames: None,
        codec_string: String::new(),
    };
    DecoderConfig { codec, record, nal_length_size, parameter_sets: Vec::new(), params }
}
