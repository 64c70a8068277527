//! The live packager and the LL-HLS window on real encoder output: what they produce must
//! demux back to the very pictures and presentation times that went in.

use bytes::Bytes;

use super::{BreakReason, FeedItem, LiveResource, LivePackager, LivePart, LiveWindow, Lookup, PackagerEvent, PackagerOptions};
use crate::decode::EncodedPacket;
use crate::remux::{InputKind, LiveItem, VideoInput};

fn testdata(name: &str) -> Bytes {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// A recording as a live feed gives it: the configuration, then pts-only packets.
fn feed(name: &str) -> (VideoInput, Vec<FeedItem>) {
    looped_feed(name, 1)
}

/// The recording played `loops` times in a row, as a file camera does (2 s clips with two key
/// frames each: looping makes a stream long enough for a window of segments).
fn looped_feed(name: &str, loops: i64) -> (VideoInput, Vec<FeedItem>) {
    let input = VideoInput::read(InputKind::Mp4, testdata(name), None).expect("fixture reads");
    let frame = i64::from(input.config.nominal_frame_duration_90k());
    let length_90k = input.packets().len() as i64 * frame;
    let mut items = vec![FeedItem::Item(LiveItem::Config(input.config.clone()))];
    for k in 0..loops {
        for p in input.packets() {
            let pts = p.pts_90k.map(|t| t + k * length_90k);
            items.push(FeedItem::Item(LiveItem::Packet(EncodedPacket::new(p.data, pts, p.is_key))));
        }
    }
    (input, items)
}

const OPTIONS: PackagerOptions = PackagerOptions { part_target_ms: 200, segment_target_ms: 1000 };

fn package(items: Vec<FeedItem>) -> Vec<PackagerEvent> {
    let mut packager = LivePackager::new(OPTIONS);
    let mut events: Vec<PackagerEvent> = items.into_iter().flat_map(|i| packager.push(i)).collect();
    events.extend(packager.finish());
    events
}

fn parts(events: &[PackagerEvent]) -> Vec<&LivePart> {
    events.iter().filter_map(|e| if let PackagerEvent::Part(p) = e { Some(p) } else { None }).collect()
}

/// The init segment and every part joined: one fragmented MP4.
fn joined(events: &[PackagerEvent]) -> Bytes {
    let mut out = Vec::new();
    for event in events {
        match event {
            PackagerEvent::Init(init) => out.extend_from_slice(&init.init),
            PackagerEvent::Part(part) => out.extend_from_slice(&part.to_vec()),
            _ => {}
        }
    }
    Bytes::from(out)
}

#[test]
fn parts_demux_to_the_pictures_and_times_that_went_in() {
    for name in ["h264_cbp_320x240_25.mp4", "h264_high_bpyramid_320x240_25.mp4", "hevc_main_320x240_25.mp4"] {
        let (input, items) = feed(name);
        let events = package(items);
        assert!(matches!(events.first(), Some(PackagerEvent::Init(_))), "{name}: init first");
        let back = VideoInput::read(InputKind::Mp4, joined(&events), None).expect("the parts demux");
        let sent = input.packets();
        let got = back.packets();
        assert_eq!(got.len(), sent.len(), "{name}: pictures");
        for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
            assert_eq!(g.data, s.data, "{name}: picture {i}");
            assert_eq!(g.pts_90k, s.pts_90k, "{name}: pts of picture {i}");
            assert_eq!(g.is_key, s.is_key, "{name}: key flag of picture {i}");
        }
        let dts: Vec<i64> = got.iter().map(|p| p.dts_90k.expect("mp4 has dts")).collect();
        assert!(dts.windows(2).all(|w| w[0] < w[1]), "{name}: decode times increase");
        assert!(got.iter().all(|p| p.dts_90k <= p.pts_90k), "{name}: no picture decoded after its presentation");
        let reorders = sent.iter().zip(sent.iter().skip(1)).any(|(a, b)| b.pts_90k < a.pts_90k);
        let PackagerEvent::Init(init) = &events[0] else { unreachable!() };
        assert_eq!(init.reorders, reorders, "{name}: reordering known");
        if !reorders {
            assert!(got.iter().all(|p| p.dts_90k == p.pts_90k), "{name}: no delay without B-frames");
        }
    }
}

#[test]
fn parts_stay_under_the_target_and_segments_start_at_key_frames() {
    let (input, items) = feed("h264_main_320x240_25.mp4");
    let events = package(items);
    let parts = parts(&events);
    assert!(parts.len() > 5, "several parts");
    for p in &parts {
        assert!(p.duration_90k <= u64::from(OPTIONS.part_target_ms) * 90 || p.payload.len() == 1, "{p:?}");
        assert_eq!(p.independent, p.index == 0 || p.independent, "index 0 is independent");
        if p.index == 0 {
            assert!(p.independent, "segment {} starts with a key frame", p.msn);
        }
    }
    // Numbering: segments 0, 1, 2…, parts 0, 1, 2… within each, and every segment ended once
    // with the sum of its parts' durations.
    let mut expected = (0, 0);
    let mut segment_duration = 0;
    for event in &events {
        match event {
            PackagerEvent::Part(p) => {
                assert_eq!((p.msn, p.index), expected);
                expected.1 += 1;
                segment_duration += p.duration_90k;
            }
            PackagerEvent::SegmentEnd { msn, duration_90k } => {
                assert_eq!(*msn, expected.0);
                assert_eq!(*duration_90k, segment_duration);
                assert!(*duration_90k >= u64::from(OPTIONS.segment_target_ms) * 90 || Some(*msn) == parts.last().map(|p| p.msn));
                expected = (msn + 1, 0);
                segment_duration = 0;
            }
            _ => {}
        }
    }
    let total: u64 = parts.iter().map(|p| p.duration_90k).sum();
    let frame = u64::from(input.config.nominal_frame_duration_90k());
    assert_eq!(total, input.packets().len() as u64 * frame, "every picture lasts one frame");
}

#[test]
fn a_segment_past_its_target_wants_a_key_frame_until_one_comes() {
    let (input, items) = feed("h264_main_320x240_25.mp4");
    // Half a second: well before the fixture's second key frame at 1 s (the packager holds a
    // few pictures back, for their durations and the reorder delay).
    let mut packager = LivePackager::new(PackagerOptions { part_target_ms: 200, segment_target_ms: 500 });
    let mut wanted_before_key = Vec::new();
    for item in items {
        let is_key = matches!(&item, FeedItem::Item(LiveItem::Packet(p)) if p.is_key);
        if is_key {
            wanted_before_key.push(packager.wants_key_frame());
        }
        packager.push(item);
    }
    // The fixture's key frames: at 0 s (nothing open yet) and at 1 s (the target passed).
    assert_eq!(input.packets().iter().filter(|p| p.is_key).count(), 2);
    assert_eq!(wanted_before_key, vec![false, true]);
    // The last segment (1 s to the end) is past the target again.
    assert!(packager.wants_key_frame());
    packager.finish();
    assert!(!packager.wants_key_frame(), "nothing open after the end");
}

#[test]
fn a_new_publisher_is_a_new_generation_with_its_own_init() {
    let (_, mut items) = feed("h264_cbp_320x240_25.mp4");
    let (_, second) = feed("hevc_main_320x240_25.mp4");
    items.push(FeedItem::Break(BreakReason::SourceEnded));
    items.extend(second);
    let events = package(items);
    let inits: Vec<u64> =
        events.iter().filter_map(|e| if let PackagerEvent::Init(i) = e { Some(i.generation) } else { None }).collect();
    assert_eq!(inits, vec![1, 2]);
    let parts = parts(&events);
    assert!(parts.windows(2).all(|w| (w[0].msn, w[0].index) < (w[1].msn, w[1].index)), "numbers go on");
    let first_of_second = parts.iter().find(|p| p.generation == 2).expect("second generation");
    assert!(first_of_second.independent && first_of_second.index == 0);
}

fn window_of(events: Vec<PackagerEvent>) -> LiveWindow {
    let mut window = LiveWindow::new(4, OPTIONS.part_target_ms, OPTIONS.segment_target_ms);
    for e in events {
        window.push(e);
    }
    window
}

#[test]
fn the_playlist_lists_segments_parts_and_the_next_part() {
    let (_, items) = looped_feed("h264_main_320x240_25.mp4", 5);
    let mut events = package(items);
    // Leave the last segment open: drop its end.
    let last_end = events.iter().rposition(|e| matches!(e, PackagerEvent::SegmentEnd { .. })).expect("segments");
    let PackagerEvent::SegmentEnd { msn: open_msn, .. } = events.remove(last_end) else { unreachable!() };
    let open_parts = parts(&events).iter().filter(|p| p.msn == open_msn).count() as u32;
    let events_for_rate = events.clone();
    let window = window_of(events);
    let text = window.playlist("?k=v").expect("a playlist");
    assert!(text.starts_with("#EXTM3U\n"), "{text}");
    assert!(text.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600"), "{text}");
    assert!(text.contains("#EXT-X-PART-INF:PART-TARGET=0.200\n"), "{text}");
    assert!(text.contains("#EXT-X-MAP:URI=\"init-1.mp4?k=v\"\n"), "{text}");
    assert!(text.contains(&format!("part-{open_msn}-0.m4s?k=v\",INDEPENDENT=YES\n")), "{text}");
    assert!(text.ends_with(&format!("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"part-{open_msn}-{open_parts}.m4s?k=v\"\n")), "{text}");
    // 4 complete segments kept, then the open one.
    let first_msn = open_msn - 4;
    assert!(text.contains(&format!("#EXT-X-MEDIA-SEQUENCE:{first_msn}\n")), "{text}");
    assert_eq!(text.matches("#EXTINF:").count(), 4, "{text}");
    assert!(!text.contains(&format!("part-{first_msn}-")), "old segments are listed without parts: {text}");

    let complete: u64 = events_for_rate
        .iter()
        .filter_map(|e| match e {
            PackagerEvent::SegmentEnd { msn, duration_90k } if *msn >= first_msn => Some(*duration_90k),
            _ => None,
        })
        .sum();
    assert_eq!(window.complete_duration_90k(), complete, "the four complete segments, not the open one");
    assert_eq!(window_of(Vec::new()).complete_duration_90k(), 0);

    // Blocking reload: what the playlist holds, and what can still come.
    assert!(window.contains(open_msn - 1, None));
    assert!(!window.contains(open_msn, None), "the open segment is not complete");
    assert!(window.contains(open_msn, Some(open_parts - 1)));
    assert!(!window.contains(open_msn, Some(open_parts)));
    assert!(matches!(window.lookup(LiveResource::Part { msn: open_msn, index: open_parts }), Lookup::Pending));
    assert!(matches!(window.lookup(LiveResource::Part { msn: open_msn + 1, index: 0 }), Lookup::Pending));
    assert!(matches!(window.lookup(LiveResource::Segment { msn: open_msn }), Lookup::Pending));
    assert!(matches!(window.lookup(LiveResource::Segment { msn: first_msn - 1 }), Lookup::Gone));
    assert!(matches!(window.lookup(LiveResource::Part { msn: open_msn - 1, index: 99 }), Lookup::Gone));
    let Lookup::Ready(segment) = window.lookup(LiveResource::Segment { msn: first_msn }) else { panic!("segment") };
    let Lookup::Ready(part) = window.lookup(LiveResource::Part { msn: first_msn, index: 0 }) else { panic!("part") };
    assert!(segment.starts_with(&part), "a segment is its parts joined");
    assert!(matches!(window.lookup(LiveResource::Init { generation: 1 }), Lookup::Ready(_)));

    // The bit rate: the parts' bytes over their duration.
    let listed = parts(&events_for_rate);
    let bytes: usize = listed.iter().filter(|p| p.msn >= first_msn).map(|p| p.len_bytes()).sum();
    let duration: u64 = listed.iter().filter(|p| p.msn >= first_msn).map(|p| p.duration_90k).sum();
    assert_eq!(window.bitrate_bps(), bytes as u64 * 8 * 90_000 / duration);

    // A viewer starting now gets the group of pictures so far, from its key frame.
    let from_key = window.parts_from_last_key();
    assert!(from_key.first().is_some_and(|p| p.independent));
    assert!(from_key.iter().skip(1).all(|p| !p.independent));
    let (m, i) = (first_msn, 0);
    let after = window.parts_after(m, i).expect("still in the window");
    assert_eq!((after[0].msn, after[0].index), (first_msn, 1));
    assert!(window.parts_after(first_msn - 2, 0).is_none(), "a viewer that far behind has lost parts");
}

#[test]
fn a_break_is_a_discontinuity_with_the_new_init() {
    let (_, mut items) = feed("h264_cbp_320x240_25.mp4");
    let (_, second) = feed("h264_main_320x240_25.mp4");
    items.push(FeedItem::Break(BreakReason::SourceEnded));
    items.extend(second);
    let window = window_of(package(items));
    let text = window.playlist("").expect("a playlist");
    let at = text.find("#EXT-X-DISCONTINUITY\n").expect("a discontinuity");
    assert!(text[at..].starts_with("#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"init-2.mp4\"\n"), "{text}");
    assert_eq!(window.latest_init().map(|i| i.generation), Some(2));
}

#[test]
fn resource_names_parse() {
    assert_eq!(LiveResource::parse("init-3.mp4"), Some(LiveResource::Init { generation: 3 }));
    assert_eq!(LiveResource::parse("seg-12.m4s"), Some(LiveResource::Segment { msn: 12 }));
    assert_eq!(LiveResource::parse("part-12-4.m4s"), Some(LiveResource::Part { msn: 12, index: 4 }));
    for bad in ["", "seg-.m4s", "part-1.m4s", "part-1-x.m4s", "init-1.m4s", "seg-99999999999999999999.m4s", "../x"] {
        assert_eq!(LiveResource::parse(bad), None, "{bad}");
    }
}

#[test]
fn a_stream_without_key_frames_is_cut_at_five_segment_targets_and_the_window_stays_bounded() {
    // One key frame, then 40 s without another (as an intra-refresh camera sends).
    let (_, items) = looped_feed("h264_cbp_320x240_25.mp4", 20);
    let mut seen_first = false;
    let items: Vec<FeedItem> = items
        .into_iter()
        .map(|item| match item {
            FeedItem::Item(LiveItem::Packet(p)) => {
                let is_key = p.is_key && !std::mem::replace(&mut seen_first, true);
                FeedItem::Item(LiveItem::Packet(EncodedPacket::new(p.data, p.pts_90k, is_key)))
            }
            other => other,
        })
        .collect();
    let events = package(items);
    let limit_90k = 5 * u64::from(OPTIONS.segment_target_ms) * 90;
    let durations: Vec<u64> =
        events.iter().filter_map(|e| if let PackagerEvent::SegmentEnd { duration_90k, .. } = e { Some(*duration_90k) } else { None }).collect();
    assert!(durations.len() >= 8, "40 s are cut into segments: {durations:?}");
    assert!(durations.iter().all(|&d| d <= limit_90k), "no segment past five targets: {durations:?}");
    assert!(durations[..durations.len() - 1].iter().all(|&d| d + 90_000 / 25 > limit_90k), "cut at the limit: {durations:?}");
    let parts = parts(&events);
    assert_eq!(parts.iter().filter(|p| p.independent).count(), 1, "one part starts with the one key frame");

    let window = window_of(events);
    let text = window.playlist("").expect("a playlist");
    assert!(!text.contains("#EXT-X-INDEPENDENT-SEGMENTS"), "segments cut without a key frame: {text}");
    assert!(window.complete_duration_90k() <= 4 * limit_90k, "the window holds four segments at most");
    assert!(window.parts_from_last_key().is_empty(), "the key frame left the window: a viewer joining now waits for one");
}
