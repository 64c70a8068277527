//! The parsers against ffprobe on the real fixtures and on x264 streams made at test time:
//! stream parameters from the SPS, and the avcC record ffmpeg's MP4 muxer wrote.

use std::collections::HashMap;

use bytes::Bytes;

use super::testutil::{
    ffmpeg_avcc, ffprobe_stream, find_box, first_nal, h264_fixtures, nal_type, nals, raw_counterpart, read_testdata,
    x264_variants,
};
use super::{avcc, parse_sps_params, Sps, NAL_PPS, NAL_SPS};
use crate::codec::nal::AnnexBNals;

/// Every raw fixture and every x264 variant, by name.
fn all_streams() -> Vec<(String, Vec<u8>)> {
    let mut streams: Vec<_> = h264_fixtures("h264").into_iter().map(|n| (n.clone(), read_testdata(&n))).collect();
    streams.extend(x264_variants().iter().map(|(n, s)| (n.to_string(), s.clone())));
    streams
}

/// libavcodec's name for `chroma_sample_loc_type` (AVChromaLocation = type + 1).
fn chroma_location_name(chroma_sample_loc_type: u8) -> &'static str {
    ["left", "center", "topleft", "top", "bottomleft", "bottom"]
        .get(usize::from(chroma_sample_loc_type))
        .copied()
        .unwrap_or("?")
}

fn assert_sps_matches_ffprobe(name: &str, stream: &[u8]) {
    let sps_nal = first_nal(stream, NAL_SPS);
    let params = parse_sps_params(sps_nal).unwrap_or_else(|e| panic!("{name}: {e}"));
    let sps = Sps::parse(sps_nal).expect("parsed once already");
    let probe = ffprobe_stream(stream, &[]);
    let get = |probe: &HashMap<String, String>, key: &str| -> String {
        probe.get(key).cloned().unwrap_or_else(|| panic!("{name}: ffprobe printed no {key}"))
    };
    let field = |key: &str| get(&probe, key);
    assert_eq!(params.profile, field("profile"), "{name}: profile");
    assert_eq!(params.level_idc.to_string(), field("level"), "{name}: level");
    assert_eq!(
        (params.width.to_string(), params.height.to_string()),
        (field("width"), field("height")),
        "{name}: display size"
    );
    assert_eq!(params.pix_fmt(), field("pix_fmt"), "{name}: pix_fmt");
    assert_eq!(params.colour.full_range, field("color_range") == "pc", "{name}: color_range {}", field("color_range"));
    let or_unknown = |n: Option<&str>| n.unwrap_or("unknown").to_owned();
    assert_eq!(or_unknown(params.colour.matrix_name()), field("color_space"), "{name}: color_space");
    assert_eq!(or_unknown(params.colour.primaries_name()), field("color_primaries"), "{name}: color_primaries");
    assert_eq!(or_unknown(params.colour.transfer_name()), field("color_transfer"), "{name}: color_transfer");
    if let Some(rate) = params.frame_rate {
        assert_eq!(format!("{}/{}", rate.num, rate.den), field("r_frame_rate"), "{name}: r_frame_rate");
    }
    if sps.vui.as_ref().and_then(|v| v.sample_aspect_ratio).is_some() {
        let (w, h) = params.sample_aspect_ratio;
        assert_eq!(format!("{w}:{h}"), field("sample_aspect_ratio"), "{name}: sample_aspect_ratio");
    }
    if let Some((top, _)) = sps.vui.as_ref().and_then(|v| v.chroma_sample_loc_type) {
        assert_eq!(chroma_location_name(top), field("chroma_location"), "{name}: chroma_location");
    }
    if let Some(reorder) = params.max_num_reorder_frames {
        assert_eq!(reorder.to_string(), field("has_b_frames"), "{name}: has_b_frames");
    }
    // ffprobe's coded_width is the cropped size for H.264; with cropping ignored, the decoder
    // outputs the whole coded frame, which is what coded_width/height mean here.
    let uncropped = ffprobe_stream(stream, &["-flags2", "+ignorecrop"]);
    assert_eq!(
        (params.coded_width.to_string(), params.coded_height.to_string()),
        (get(&uncropped, "width"), get(&uncropped, "height")),
        "{name}: coded size"
    );
    assert_eq!(params.codec_string, format!("avc1.{}", hex(&sps_nal[1..4])), "{name}: codec string");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Splits a stream where its SPS changes: ffprobe reports the size of the first pictures but
/// the level of the last SPS its parser saw, so each part is probed on its own.
fn parts_by_sps(stream: &[u8]) -> Vec<&[u8]> {
    let mut cuts = vec![0];
    let mut current: Option<&[u8]> = None;
    for (offset, nal) in AnnexBNals::new(stream) {
        if nal_type(nal) == NAL_SPS {
            if current.is_some_and(|c| c != nal) {
                cuts.push(offset - 3); // at its start code
            }
            current = Some(nal);
        }
    }
    cuts.push(stream.len());
    cuts.windows(2).map(|w| &stream[w[0]..w[1]]).collect()
}

#[test]
fn sps_of_every_stream_agrees_with_ffprobe() {
    for (name, stream) in all_streams() {
        let parts = parts_by_sps(&stream);
        assert_eq!(parts.len() > 1, name.contains("res_change"), "{name}: SPS changes");
        for (i, part) in parts.into_iter().enumerate() {
            assert_sps_matches_ffprobe(&format!("{name} part {i}"), part);
        }
    }
}

#[test]
fn profile_names_cover_the_intra_and_high_profiles_x264_makes() {
    // Guards the variant list: each profile-name branch is reached by a real stream.
    let names: Vec<String> =
        x264_variants().iter().map(|(_, s)| parse_sps_params(first_nal(s, NAL_SPS)).expect("sps").profile).collect();
    for expected in [
        "High 10",
        "High 10 Intra",
        "High 4:2:2",
        "High 4:2:2 Intra",
        "High 4:4:4 Predictive",
        "High 4:4:4 Intra",
        "Constrained Baseline",
    ] {
        assert!(names.iter().any(|n| n == expected), "no variant has profile {expected}: {names:?}");
    }
}

#[test]
fn crop_fixture_has_a_cropping_window_and_2997_fixture_a_fractional_rate() {
    let crop = parse_sps_params(first_nal(&read_testdata("h264_crop_318x178_25.h264"), NAL_SPS)).expect("sps");
    assert_eq!((crop.width, crop.height, crop.coded_width, crop.coded_height), (318, 178, 320, 192));
    let ntsc = parse_sps_params(first_nal(&read_testdata("h264_high_2997_320x240.h264"), NAL_SPS)).expect("sps");
    let rate = ntsc.frame_rate.expect("timing info");
    assert_eq!((rate.num, rate.den), (30000, 1001));
}

/// The distinct SPSs and PPSs of a raw stream, SPSs first, in first-seen order.
fn in_band_parameter_sets(stream: &[u8]) -> Vec<&[u8]> {
    let all = nals(stream);
    let mut sets: Vec<&[u8]> = Vec::new();
    for wanted in [NAL_SPS, NAL_PPS] {
        for nal in all.iter().filter(|n| nal_type(n) == wanted) {
            if !sets.contains(nal) {
                sets.push(nal);
            }
        }
    }
    sets
}

#[test]
fn avcc_of_every_mp4_fixture_holds_the_raw_streams_parameter_sets() {
    for mp4 in h264_fixtures("mp4") {
        let file = read_testdata(&mp4);
        let record = Bytes::copy_from_slice(find_box(&file, b"avcC"));
        let parsed = avcc::parse_record(record.clone()).unwrap_or_else(|e| panic!("{mp4}: {e}"));
        let raw = read_testdata(&raw_counterpart(&mp4));
        let in_band = in_band_parameter_sets(&raw);
        let parsed_sets: Vec<&[u8]> = parsed.parameter_sets.iter().map(|b| &b[..]).collect();
        assert_eq!(parsed_sets, in_band, "{mp4}: parameter sets");
        assert_eq!(parsed.nal_length_size, 4, "{mp4}: ffmpeg writes 4-byte lengths");
        assert_eq!(parsed.params, parse_sps_params(in_band[0]).expect("sps"), "{mp4}: params");

        // Rebuilt from the in-band copies, the record is byte for byte what ffmpeg wrote.
        let built = avcc::build_record(&in_band).unwrap_or_else(|e| panic!("{mp4}: {e}"));
        assert_eq!(hex(&built.record), hex(&record), "{mp4}: built record");
        assert_eq!(built.parameter_sets, parsed.parameter_sets, "{mp4}");
        assert_eq!(built.params, parsed.params, "{mp4}");
        assert_eq!(built.nal_length_size, parsed.nal_length_size, "{mp4}");
    }
}

#[test]
fn built_record_drops_repeats_and_puts_sps_first() {
    let raw = read_testdata("h264_main_320x240_25.h264");
    // The stream repeats SPS and PPS at every IDR; pass them all, PPS first.
    let mut sets: Vec<&[u8]> = nals(&raw).into_iter().filter(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)).collect();
    assert!(sets.len() > 2, "fixture repeats its parameter sets");
    sets.sort_by_key(|n| std::cmp::Reverse(nal_type(n)));
    let built = avcc::build_record(&sets).expect("record");
    assert_eq!(built.parameter_sets.len(), 2);
    assert_eq!(nal_type(&built.parameter_sets[0]), NAL_SPS);
    assert_eq!(nal_type(&built.parameter_sets[1]), NAL_PPS);
    // Main profile: no chroma/bit-depth extension, so the record ends with the PPS.
    assert!(built.record.ends_with(&built.parameter_sets[1]));
}

#[test]
fn built_record_of_every_x264_variant_is_what_ffmpeg_muxes() {
    // High 10, 4:2:2, 4:4:4, monochrome...: the chroma and bit-depth extension as libavformat
    // writes it, or none for the profiles that have none.
    for (name, stream) in x264_variants() {
        let sets = in_band_parameter_sets(stream);
        let built = avcc::build_record(&sets).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(hex(&built.record), hex(&ffmpeg_avcc(stream)), "{name}");
        let reparsed = avcc::parse_record(built.record.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(reparsed.parameter_sets, built.parameter_sets, "{name}");
    }
}

#[test]
fn avcc_with_mismatched_nal_types_or_bad_lengths_is_rejected_with_a_location() {
    let file = read_testdata("h264_main_320x240_25.mp4");
    let good = find_box(&file, b"avcC").to_vec();
    let mut wrong_version = good.clone();
    wrong_version[0] = 2;
    assert_eq!(avcc::parse_record(wrong_version.into()).expect_err("rejected").at, "avcc.configuration_version");
    let mut length_size_3 = good.clone();
    length_size_3[4] = 0xfe;
    assert_eq!(avcc::parse_record(length_size_3.into()).expect_err("rejected").at, "avcc.length_size_minus_one");
    let mut long_sps = good.clone();
    long_sps[6] = 0xff; // SPS length high byte: runs past the record
    assert_eq!(avcc::parse_record(long_sps.into()).expect_err("rejected").at, "avcc.sequence_parameter_set[0]");
    let mut pps_as_sps = good;
    pps_as_sps[8] = 0x68; // the SPS's NAL header says PPS
    assert_eq!(
        avcc::parse_record(pps_as_sps.into()).expect_err("rejected").at,
        "avcc.sequence_parameter_set[0].nal_unit_type"
    );
    assert!(avcc::build_record(&[]).is_err());
    let raw = read_testdata("h264_main_320x240_25.h264");
    let sps_only = [first_nal(&raw, NAL_SPS)];
    assert_eq!(avcc::build_record(&sps_only).expect_err("rejected").at, "avcc.picture_parameter_set");
}
