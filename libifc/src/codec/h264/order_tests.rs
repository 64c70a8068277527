//! Picture order on real streams: the order [`StreamState`] derives from picture order counts
//! is the display order ffmpeg gives the same pictures.

use super::testutil::{
    ffprobe_sections, h264_fixtures, nal_type, nals, raw_counterpart, read_testdata, x264_variants, TESTDATA,
};
use super::{StreamState, NAL_IDR_SLICE, NAL_SLICE};
use crate::codec::{PictureInfo, VideoParams};

/// Every picture of a raw stream in decoding order, with the parameters in force for it.
fn pictures(name: &str, stream: &[u8]) -> Vec<(PictureInfo, VideoParams)> {
    let mut state = StreamState::new();
    let mut out = Vec::new();
    for nal in nals(stream) {
        if let Some(info) = state.push_nal(nal).unwrap_or_else(|e| panic!("{name}: {e}")) {
            out.push((info, state.video_params().expect("an SPS precedes every picture")));
        }
    }
    out
}

/// Decoding-order indices in display order: by picture order count within each sequence
/// (pictures never cross a `new_sequence` picture).
fn display_order_by_poc(pictures: &[(PictureInfo, VideoParams)]) -> Vec<usize> {
    let mut order = Vec::new();
    let mut start = 0;
    for end in 1..=pictures.len() {
        if end == pictures.len() || pictures[end].0.new_sequence {
            let mut sequence: Vec<usize> = (start..end).collect();
            sequence.sort_by_key(|&i| pictures[i].0.poc);
            order.extend(sequence);
            start = end;
        }
    }
    order
}

fn number(section: &std::collections::HashMap<String, String>, key: &str) -> i64 {
    section.get(key).and_then(|v| v.parse().ok()).unwrap_or_else(|| panic!("no numeric {key} in {section:?}"))
}

#[test]
fn poc_order_within_each_idr_period_is_the_mp4_pts_order() {
    for mp4 in h264_fixtures("mp4") {
        let path = format!("{TESTDATA}/{mp4}");
        let packets =
            ffprobe_sections(&["-select_streams", "v:0", "-show_entries", "packet=pts,flags", &path], &[], "PACKET");
        let raw_name = raw_counterpart(&mp4);
        let pics = pictures(&raw_name, &read_testdata(&raw_name));
        assert_eq!(pics.len(), packets.len(), "{mp4}: one picture per packet");
        for (i, ((info, _), packet)) in pics.iter().zip(&packets).enumerate() {
            assert_eq!(info.idr, packet["flags"].starts_with('K'), "{mp4}: picture {i} key flag");
        }
        let mut by_pts: Vec<usize> = (0..packets.len()).collect();
        by_pts.sort_by_key(|&i| number(&packets[i], "pts"));
        assert_eq!(display_order_by_poc(&pics), by_pts, "{mp4}: display order");
        // B-frames are reordered in every fixture but the Baseline one: the check has teeth.
        let decode_order: Vec<usize> = (0..pics.len()).collect();
        assert_eq!(by_pts == decode_order, mp4.contains("cbp"), "{mp4}: reordering expected unless Baseline");
    }
}

/// Decoding-order indices in the order ffmpeg outputs frames (`coded_picture_number`).
fn ffmpeg_display_order(stream: &[u8]) -> Vec<usize> {
    let frames = ffprobe_sections(
        &["-show_entries", "frame=coded_picture_number", "-f", "h264", "-i", "pipe:0"],
        stream,
        "FRAME",
    );
    frames.iter().map(|f| number(f, "coded_picture_number") as usize).collect()
}

#[test]
fn poc_order_of_x264_variants_is_ffmpegs_output_order() {
    // Interlaced MBAFF (delta_pic_order_cnt_bottom), CAVLC with B-pyramid, 4:4:4, 10-bit...
    for (name, stream) in x264_variants() {
        let pics = pictures(name, stream);
        assert_eq!(display_order_by_poc(&pics), ffmpeg_display_order(stream), "{name}");
    }
}

#[test]
fn resolution_change_yields_two_parameter_sets_at_the_right_pictures() {
    let name = "h264_res_change_320x240_to_256x144_25.h264";
    let stream = read_testdata(name);
    let pics = pictures(name, &stream);
    let mut distinct: Vec<&VideoParams> = Vec::new();
    for (_, params) in &pics {
        if !distinct.contains(&params) {
            distinct.push(params);
        }
    }
    assert_eq!(distinct.len(), 2, "two SPSs in force");
    assert_ne!((distinct[0].width, distinct[0].height), (distinct[1].width, distinct[1].height));
    // Sizes per picture in decoding order, as ffmpeg decodes them.
    let frames = ffprobe_sections(
        &["-show_entries", "frame=coded_picture_number,width,height", "-f", "h264", "-i", "pipe:0"],
        &stream,
        "FRAME",
    );
    let mut ffmpeg_sizes = vec![(0, 0); frames.len()];
    for f in &frames {
        ffmpeg_sizes[number(f, "coded_picture_number") as usize] =
            (number(f, "width") as u32, number(f, "height") as u32);
    }
    let ours: Vec<(u32, u32)> = pics.iter().map(|(_, p)| (p.width, p.height)).collect();
    assert_eq!(ours, ffmpeg_sizes);
    // The second half starts at an IDR that begins a new sequence.
    let change = ours.iter().position(|&s| s != ours[0]).expect("size changes");
    assert!(pics[change].0.idr && pics[change].0.new_sequence);
}

#[test]
fn four_slices_per_picture_yield_one_picture_each() {
    let name = "h264_high_slices4_320x240_25.h264";
    let stream = read_testdata(name);
    let pics = pictures(name, &stream);
    let frames = ffprobe_sections(
        &["-count_frames", "-show_entries", "stream=nb_read_frames", &format!("{TESTDATA}/{name}")],
        &[],
        "STREAM",
    );
    assert_eq!(pics.len() as i64, number(&frames[0], "nb_read_frames"));
    let slices = nals(&stream).iter().filter(|n| matches!(nal_type(n), NAL_SLICE | NAL_IDR_SLICE)).count();
    assert_eq!(slices, 4 * pics.len(), "the fixture has four slices per picture");
}

#[test]
fn first_picture_and_idr_pictures_start_sequences() {
    let name = "h264_high_bpyramid_320x240_25.h264";
    let pics = pictures(name, &read_testdata(name));
    let starts: Vec<usize> = pics.iter().enumerate().filter(|(_, (p, _))| p.new_sequence).map(|(i, _)| i).collect();
    let idrs: Vec<usize> = pics.iter().enumerate().filter(|(_, (p, _))| p.idr).map(|(i, _)| i).collect();
    assert_eq!(starts, idrs, "fixed 30-frame GOP: sequences start exactly at IDRs");
    assert!(pics.iter().all(|(p, _)| p.random_access == p.idr && !p.rasl));
    assert!(pics.iter().filter(|(p, _)| p.idr).all(|(p, _)| p.poc == 0), "8.2.1: an IDR frame has POC 0");
}
