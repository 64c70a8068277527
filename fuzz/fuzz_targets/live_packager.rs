//! The live packager and the LL-HLS window on an arbitrary feed: packets with any payload, key
//! flag and presentation time (backwards, repeated, huge jumps), breaks and new sessions.
//! Invariants: nothing panics; parts come after their generation's init, numbered in order,
//! each lasting > 0; every generation's init + parts demux to exactly the pictures the parts
//! hold; a segment lasts at most five segment targets unless it is one picture (a stream
//! without key frames is cut there); the window's playlist renders and holds what it says it
//! holds.
#![no_main]

use std::sync::OnceLock;

use bytes::Bytes;
use ifc::codec::DecoderConfig;
use ifc::decode::EncodedPacket;
use ifc::live::{BreakReason, FeedItem, LivePackager, LiveWindow, PackagerEvent, PackagerOptions};
use ifc::remux::{InputKind, LiveItem, VideoInput};
use libfuzzer_sys::fuzz_target;

/// Two real configurations (no B-frames, and B-frames), from the repository's fixtures.
fn configs() -> &'static [DecoderConfig; 2] {
    static CONFIGS: OnceLock<[DecoderConfig; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let read = |bytes: &'static [u8]| VideoInput::read(InputKind::Mp4, Bytes::from_static(bytes), None).expect("fixture").config;
        [
            read(include_bytes!("../../testdata/h264_cbp_320x240_25.mp4")),
            read(include_bytes!("../../testdata/h264_high_bpyramid_320x240_25.mp4")),
        ]
    })
}

fuzz_target!(|input: &[u8]| {
    let options = PackagerOptions { part_target_ms: 100 + u32::from(input.first().copied().unwrap_or(0)), segment_target_ms: 1000 };
    let mut packager = LivePackager::new(options);
    let mut window = LiveWindow::new(3, options.part_target_ms, options.segment_target_ms);
    let mut events = Vec::new();
    let mut pts: i64 = 0;
    // Each op: kind, pts step (i16), payload length.
    for op in input.get(1..).unwrap_or_default().chunks_exact(4) {
        let step = i64::from(i16::from_le_bytes([op[1], op[2]]));
        let item = match op[0] % 16 {
            0 => FeedItem::Item(LiveItem::Config(configs()[0].clone())),
            1 => FeedItem::Item(LiveItem::Config(configs()[1].clone())),
            2 => FeedItem::Break(BreakReason::Lagged { items: 1 }),
            3 => FeedItem::Break(BreakReason::SourceEnded),
            4 => FeedItem::Item(LiveItem::Packet(EncodedPacket::new(Bytes::new(), None, true))),
            k => {
                // Big jumps too: a step × 2^k for the high kinds.
                pts = pts.saturating_add(step.saturating_mul(1 << (k - 5)));
                let data = Bytes::from(vec![0u8; usize::from(op[3])]);
                FeedItem::Item(LiveItem::Packet(EncodedPacket::new(data, Some(pts), op[0] & 0x80 != 0)))
            }
        };
        events.extend(packager.push(item));
    }
    events.extend(packager.finish());

    let mut generation_init: Option<(u64, Vec<u8>)> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut pictures = 0usize;
    let mut last: Option<(u64, u32)> = None;
    let mut segment_pictures = 0usize;
    let longest_90k = 5 * u64::from(options.segment_target_ms) * 90;
    let check_generation = |init: &Option<(u64, Vec<u8>)>, joined: &[u8], pictures: usize| {
        if let Some((_, bytes)) = init {
            if pictures > 0 {
                let file = [bytes.as_slice(), joined].concat();
                let back = VideoInput::read(InputKind::Mp4, Bytes::from(file), None).expect("our own fragments demux");
                assert_eq!(back.samples.len(), pictures, "every picture of the parts comes back");
            }
        }
    };
    for event in &events {
        match event {
            PackagerEvent::Init(init) => {
                check_generation(&generation_init, &joined, pictures);
                generation_init = Some((init.generation, init.init.to_vec()));
                joined.clear();
                pictures = 0;
            }
            PackagerEvent::Part(part) => {
                let (generation, _) = generation_init.as_ref().expect("an init before any part");
                assert_eq!(part.generation, *generation);
                assert!(part.duration_90k > 0);
                assert!(last.is_none_or(|l| (part.msn, part.index) > l), "parts in order");
                last = Some((part.msn, part.index));
                joined.extend_from_slice(&part.to_vec());
                pictures += part.payload.len();
                segment_pictures += part.payload.len();
            }
            PackagerEvent::SegmentEnd { msn, duration_90k } => {
                assert!(last.is_some_and(|(m, _)| m == *msn));
                assert!(*duration_90k <= longest_90k || segment_pictures == 1, "segment {msn}: {duration_90k} ticks in {segment_pictures} pictures");
                segment_pictures = 0;
            }
            PackagerEvent::Break => {}
        }
        window.push(event.clone());
        if let Some(text) = window.playlist("?s") {
            assert!(text.starts_with("#EXTM3U\n"));
            if let Some(msn) = window.last_msn() {
                assert!(window.contains(msn.saturating_sub(1), None) || !text.contains("#EXTINF"));
            }
        }
    }
    check_generation(&generation_init, &joined, pictures);
});
