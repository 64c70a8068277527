//! Raw Annex B through the whole remux path (timestamps, configurations, segmenter, fMP4
//! muxer), the result read back by the demuxer (a round trip: fMP4 mux → demux). Invariants:
//! decode times strictly increase; every media segment, demuxed with its init segment, starts
//! with a sync sample; with one configuration, the demuxed file holds every sample's bytes and
//! sync flag, in order.
#![no_main]

use bytes::Bytes;
use ifc::codec::{Codec, FrameRate};
use ifc::mp4::demux::Mp4Demuxer;
use ifc::remux::{RawSource, RemuxOutput, Remuxer, SourceItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let codec = if first & 1 == 0 { Codec::H264 } else { Codec::H265 };
    let mut raw = RawSource::new(codec, FrameRate::new(25, 1));
    raw.push(Bytes::copy_from_slice(data));
    raw.flush();
    let mut remuxer = Remuxer::new(90_000, 500);
    let mut out = Vec::new();
    let mut last_dts = None;
    let mut pushed = Vec::new();
    while let Some(item) = raw.pull() {
        let Ok(item) = item else { continue };
        if let SourceItem::Sample(s) = &item {
            assert!(last_dts.is_none_or(|d| s.dts > d), "decode times strictly increase");
            last_dts = Some(s.dts);
            pushed.push((s.data.clone(), s.is_sync));
        }
        if remuxer.push(item, &mut out).is_err() {
            return;
        }
    }
    if remuxer.finish(&mut out).is_err() {
        return;
    }
    let mut init: Option<&[u8]> = None;
    let (mut inits, mut whole) = (0, Vec::new());
    for o in &out {
        match o {
            RemuxOutput::Init { data, .. } => {
                init = Some(data);
                inits += 1;
                whole.extend_from_slice(data);
            }
            RemuxOutput::Segment { segment, .. } => {
                assert!(segment.len_bytes() > 0);
                let init = init.expect("an init segment comes before its media segments");
                let file = Bytes::from([init, &segment.to_vec()].concat());
                let demuxer = Mp4Demuxer::new(file).expect("own segment demuxes");
                let track = demuxer.video_track().expect("a video track").track_id;
                let samples = demuxer.samples(track).expect("samples");
                assert!(samples.first().expect("a segment holds samples").is_sync, "starts with a sync sample");
                whole.extend_from_slice(&segment.to_vec());
            }
            RemuxOutput::Playlist { .. } => {}
        }
    }
    if inits == 1 {
        let demuxer = Mp4Demuxer::new(Bytes::from(whole)).expect("own output demuxes");
        let track = demuxer.video_track().expect("a video track").track_id;
        let got: Vec<(Bytes, bool)> =
            demuxer.samples(track).expect("samples").iter().map(|s| (s.data.clone(), s.is_sync)).collect();
        // The segmenter drops (and counts) what comes before the first sync sample.
        let first_sync = pushed.iter().position(|(_, sync)| *sync).unwrap_or(pushed.len());
        assert_eq!(got, pushed[first_sync..], "every sample from the first sync one, in order, with its flag");
    }
});
