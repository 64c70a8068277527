//! ifc's frames are bit-identical to ffmpeg's own decode of every fixture, whatever the
//! thread count, and carry the right size, format, colour, timestamps and order.

use bytes::Bytes;

use super::test_support::*;
use crate::codec::Codec;
use crate::decode::{DecoderOptions, EncodedPacket, ErrorPolicy, FramePixelFormat};

/// Decodes `name` with one and with two threads and compares both with ffmpeg.
fn assert_matches_ffmpeg(name: &str, expected: FramePixelFormat) {
    let single = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
    assert!(single.errors.is_empty(), "{name}: {:?}", single.errors);
    assert_eq!(single.stats.decode_errors + single.stats.concealed_or_corrupt_frames, 0, "{name}");
    assert_eq!(single.stats.skipped_until_keyframe, 0, "{name}: the fixture starts with a key frame");
    let first = single.frames.first().expect("frames decoded");
    assert_eq!(first.pix_fmt(), expected, "{name}");
    let raw = ffmpeg_rawvideo(&fixture_path(name), first.pix_fmt().ffmpeg_name(first.colour.full_range));
    assert_frames_equal_raw(name, &single.frames, &raw);

    let threaded = decode_fixture(name, 2, ErrorPolicy::SkipUntilKeyframe);
    assert!(threaded.errors.is_empty(), "{name} (2 threads): {:?}", threaded.errors);
    assert_frames_equal_raw(&format!("{name} (2 threads)"), &threaded.frames, &raw);
    let order = |d: &Decoded| d.frames.iter().map(|f| (f.pts_90k, f.decode_index, f.key_frame)).collect::<Vec<_>>();
    assert_eq!(order(&single), order(&threaded), "{name}: same frames, same metadata, whatever the threads");
}

macro_rules! matches_ffmpeg {
    ($($test:ident: $name:literal => $fmt:ident,)*) => {$(
        #[test]
        fn $test() {
            assert_matches_ffmpeg($name, FramePixelFormat::$fmt);
        }
    )*};
}

matches_ffmpeg! {
    h264_constrained_baseline_matches_ffmpeg: "h264_cbp_320x240_25.h264" => Yuv420p,
    h264_main_b_frames_match_ffmpeg: "h264_main_320x240_25.h264" => Yuv420p,
    h264_b_pyramid_matches_ffmpeg: "h264_high_bpyramid_320x240_25.h264" => Yuv420p,
    h264_four_slices_match_ffmpeg: "h264_high_slices4_320x240_25.h264" => Yuv420p,
    h264_cropped_318x178_matches_ffmpeg: "h264_crop_318x178_25.h264" => Yuv420p,
    h264_2997_matches_ffmpeg: "h264_high_2997_320x240.h264" => Yuv420p,
    h264_with_aud_matches_ffmpeg: "h264_aud_320x240_25.h264" => Yuv420p,
    h264_without_sei_matches_ffmpeg: "h264_nosei_320x240_25.h264" => Yuv420p,
    h264_full_range_matches_ffmpeg: "h264_fullrange_bt709_320x240_25.h264" => Yuv420p,
    h264_resolution_change_matches_ffmpeg: "h264_res_change_320x240_to_256x144_25.h264" => Yuv420p,
    hevc_main_matches_ffmpeg: "hevc_main_320x240_25.h265" => Yuv420p,
    hevc_main10_matches_ffmpeg: "hevc_main10_320x240_25.h265" => Yuv420p10le,
    hevc_open_gop_matches_ffmpeg: "hevc_opengop_cra_320x240_25.h265" => Yuv420p,
    hevc_resolution_change_matches_ffmpeg: "hevc_res_change_320x240_to_256x144_25.h265" => Yuv420p,
}

#[test]
fn a_resolution_change_is_followed_frame_by_frame_as_ffprobe_reports() {
    for name in ["h264_res_change_320x240_to_256x144_25.h264", "hevc_res_change_320x240_to_256x144_25.h265"] {
        let decoded = decode_fixture(name, 2, ErrorPolicy::SkipUntilKeyframe);
        let sizes: Vec<Vec<String>> =
            decoded.frames.iter().map(|f| vec![f.width().to_string(), f.height().to_string()]).collect();
        assert_eq!(sizes, ffprobe_frames(&fixture_path(name), "width,height"), "{name}");
        assert!(sizes.first() != sizes.last(), "{name}: the size does change");
    }
}

#[test]
fn colour_description_matches_ffprobe() {
    for name in ["h264_fullrange_bt709_320x240_25.h264", "hevc_main10_320x240_25.h265", "h264_main_320x240_25.h264"] {
        let decoded = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
        let probed = ffprobe_frames(&fixture_path(name), "color_range,color_space,color_primaries,color_transfer");
        assert_eq!(decoded.frames.len(), probed.len(), "{name}");
        for (frame, probe) in decoded.frames.iter().zip(&probed) {
            let c = frame.colour;
            let name_or_unknown = |n: Option<&str>| n.unwrap_or("unknown").to_owned();
            // ColourDescription has no "unspecified" range: limited is the default.
            assert_eq!(c.full_range, probe[0] == "pc", "{name}: frame {}", frame.display_index);
            let ours = [
                name_or_unknown(c.matrix_name()),
                name_or_unknown(c.primaries_name()),
                name_or_unknown(c.transfer_name()),
            ];
            assert_eq!(&ours[..], &probe[1..], "{name}: frame {}", frame.display_index);
        }
    }
    let full = decode_fixture("h264_fullrange_bt709_320x240_25.h264", 1, ErrorPolicy::SkipUntilKeyframe);
    let c = full.frames[0].colour;
    assert_eq!((c.primaries, c.transfer, c.matrix, c.full_range), (1, 1, 1, true), "BT.709 code points, full range");
}

#[test]
fn b_frames_come_out_in_display_order_with_their_own_pts() {
    let name = "h264_high_bpyramid_320x240_25.h264";
    let aus = access_units(name);
    let decoded = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
    assert_eq!(decoded.frames.len(), aus.len());
    let mut decode_indices: Vec<u64> = decoded.frames.iter().map(|f| f.decode_index.expect("known packet")).collect();
    assert!(decode_indices.windows(2).any(|w| w[0] > w[1]), "B-frames are reordered");
    for frame in &decoded.frames {
        let index = frame.decode_index.expect("known packet");
        assert_eq!(frame.pts_90k, Some(index as i64 * 3600), "the pts travels with its picture");
        assert_eq!(frame.key_frame, aus[index as usize].idr, "frame {index}");
    }
    assert_eq!(
        decoded.frames.iter().map(|f| f.display_index).collect::<Vec<_>>(),
        (0..aus.len() as u64).collect::<Vec<_>>()
    );
    decode_indices.sort_unstable();
    assert_eq!(decode_indices, (0..aus.len() as u64).collect::<Vec<_>>(), "each packet gave one picture");
}

#[test]
fn planes_are_libavcodec_buffers_with_padded_strides() {
    let decoded = decode_fixture("h264_crop_318x178_25.h264", 1, ErrorPolicy::SkipUntilKeyframe);
    let frame = &decoded.frames[0];
    assert_eq!((frame.width(), frame.height()), (318, 178));
    let (luma, stride) = frame.plane(0).expect("luma");
    assert!(stride >= 318, "stride {stride}");
    assert!(luma.len() >= 177 * stride + 318);
    assert!(frame.plane(3).is_none());
}

/// The payload of the first `fourcc` box in an MP4 file, found by its type: enough to get the
/// avcC/hvcC record until the demuxer lands.
fn find_box_payload(mp4: &[u8], fourcc: &[u8; 4]) -> Bytes {
    let at = mp4.windows(4).position(|w| w == fourcc).expect("box present");
    let size = u32::from_be_bytes(mp4[at - 4..at].try_into().expect("4 bytes")) as usize;
    Bytes::copy_from_slice(&mp4[at + 4..at - 4 + size])
}

#[test]
fn length_prefixed_samples_with_the_mp4_record_match_ffmpeg_on_the_mp4() {
    for (raw, mp4) in [
        ("h264_main_320x240_25.h264", "h264_main_320x240_25.mp4"),
        ("hevc_main10_320x240_25.h265", "hevc_main10_320x240_25.mp4"),
    ] {
        let codec = codec_of(raw);
        let mp4_bytes = std::fs::read(fixture_path(mp4)).expect("fixture");
        let record_type = if codec == Codec::H264 { b"avcC" } else { b"hvcC" };
        let record = find_box_payload(&mp4_bytes, record_type);
        // lengthSizeMinusOne: avcC byte 4, hvcC byte 21 (ISO/IEC 14496-15 5.3.3.1, 8.3.3.1).
        let length_size = (record[if codec == Codec::H264 { 4 } else { 21 }] & 3) + 1;
        let config = config_with_record(codec, record, length_size);
        // MP4 samples: the same access units, parameter sets only in the record.
        let aus = access_units(raw);
        let packets = aus.iter().map(|au| {
            let mut sample = Vec::new();
            for (kind, nal) in au.classified(codec) {
                if !kind.is_some_and(|k| k.is_parameter_set()) {
                    let len = u32::try_from(nal.len()).expect("small").to_be_bytes();
                    sample.extend_from_slice(&len[4 - usize::from(length_size)..]);
                    sample.extend_from_slice(nal);
                }
            }
            EncodedPacket { data: Bytes::from(sample), pts_90k: None, dts_90k: None, is_key: au.random_access }
        });
        let decoded = decode(DecoderOptions::new(codec).with_config(config).with_threads(2), packets);
        assert!(decoded.errors.is_empty(), "{mp4}: {:?}", decoded.errors);
        let first = decoded.frames.first().expect("frames");
        let raw_video = ffmpeg_rawvideo(&fixture_path(mp4), first.pix_fmt().ffmpeg_name(first.colour.full_range));
        assert_frames_equal_raw(mp4, &decoded.frames, &raw_video);
    }
}
