//! The feed's promises: nothing waits on a slow subscriber, late and lagging subscribers resume
//! at a key packet after the configuration, sessions are separated by breaks.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::codec::Codec;
use crate::decode::EncodedPacket;
use crate::mp4::fmp4::test_support::test_config;

fn config(width: u32) -> LiveItem {
    LiveItem::Config(test_config(Codec::H264, Bytes::from_static(&[1, 0x64, 0, 0x1e]), width, 240))
}

fn packet(pts: i64, is_key: bool) -> LiveItem {
    LiveItem::Packet(EncodedPacket::new(Bytes::from(vec![0u8; 10]), Some(pts), is_key))
}

fn soon() -> Instant {
    Instant::now() + Duration::from_millis(20)
}

/// What a subscriber reads until nothing is ready: `C<width>`, `K<pts>`/`P<pts>`, `E`, `L<n>`.
fn drain(sub: &mut Subscription) -> Vec<String> {
    let mut seen = Vec::new();
    while let Polled::Ready(item) = sub.poll(soon()) {
        seen.push(match item {
            FeedItem::Item(LiveItem::Config(c)) => format!("C{}", c.params.width),
            FeedItem::Item(LiveItem::Packet(p)) => format!("{}{}", if p.is_key { "K" } else { "P" }, p.pts_90k.unwrap_or(-1)),
            FeedItem::Break(BreakReason::SourceEnded) => "E".into(),
            FeedItem::Break(BreakReason::Lagged { items }) => format!("L{items}"),
        });
    }
    seen
}

#[test]
fn a_late_subscriber_gets_the_configuration_then_starts_at_a_key_packet() {
    let feed = Fanout::new(64);
    let publisher = feed.publisher().expect("free");
    publisher.send(config(320));
    publisher.send(packet(0, true));
    publisher.send(packet(1, false));
    let mut early = feed.subscribe();
    publisher.send(packet(2, false));
    publisher.send(packet(3, true));
    publisher.send(packet(4, false));
    assert_eq!(drain(&mut early), ["C320", "K3", "P4"]);
}

#[test]
fn a_subscriber_that_falls_behind_is_told_and_resumes_at_a_key_packet() {
    let feed = Fanout::new(4);
    let publisher = feed.publisher().expect("free");
    let mut slow = feed.subscribe();
    let mut fast = feed.subscribe();
    publisher.send(config(320));
    for pts in 0..10 {
        publisher.send(packet(pts, pts % 4 == 0));
        assert!(!drain(&mut fast).is_empty(), "the fast one keeps up");
    }
    // Ring: P6 P7 K8 P9 (4 items); the slow one lost config + P0..P5 (7 items).
    assert_eq!(drain(&mut slow), ["L7", "K8", "P9"]);
    assert_eq!(slow.lost_items(), 7);
    assert_eq!(fast.lost_items(), 0);
}

#[test]
fn sessions_are_separated_by_a_break_and_one_publisher_at_a_time() {
    let feed = Fanout::new(64);
    let mut sub = feed.subscribe();
    let first = feed.publisher().expect("free");
    assert!(feed.publisher().is_err(), "the slot is taken");
    first.send(config(320));
    first.send(packet(0, true));
    drop(first);
    let second = feed.publisher().expect("free again");
    second.send(packet(1, false));
    second.send(config(640));
    second.send(packet(2, true));
    assert_eq!(drain(&mut sub), ["C320", "K0", "E", "C640", "K2"]);
    let stats = feed.stats();
    assert_eq!((stats.sessions, stats.packets_sent, stats.publishing), (2, 3, true));
    // A subscriber joining now gets the second session's configuration.
    let mut late = feed.subscribe();
    second.send(packet(3, true));
    assert_eq!(drain(&mut late), ["C640", "K3"]);
}

#[test]
fn a_waiting_subscriber_wakes_for_a_packet_from_another_thread_and_ends_when_closed() {
    let feed = Fanout::new(8);
    let mut sub = feed.subscribe();
    let sender = feed.clone();
    let thread = std::thread::spawn(move || {
        let publisher = sender.publisher().expect("free");
        std::thread::sleep(Duration::from_millis(50));
        publisher.send(packet(7, true));
        std::thread::sleep(Duration::from_millis(50));
        sender.close();
    });
    let started = Instant::now();
    match sub.poll(Instant::now() + Duration::from_secs(10)) {
        Polled::Ready(FeedItem::Item(LiveItem::Packet(p))) => assert_eq!(p.pts_90k, Some(7)),
        other => panic!("expected the packet, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5), "woken by the send, not the deadline");
    thread.join().expect("sender");
    assert!(matches!(sub.poll(Instant::now() + Duration::from_secs(10)), Polled::Ready(FeedItem::Break(BreakReason::SourceEnded))));
    assert!(matches!(sub.poll(Instant::now() + Duration::from_secs(10)), Polled::Ended));
}

#[test]
fn a_subscriber_reading_late_learns_when_each_packet_was_sent() {
    let feed = Fanout::new(8);
    let mut sub = feed.subscribe();
    let publisher = feed.publisher().expect("free");
    assert_eq!(sub.sent_at(), None);
    let before = Instant::now();
    publisher.send(packet(0, true));
    let after = Instant::now();
    std::thread::sleep(Duration::from_millis(30));
    publisher.send(packet(3600, false));
    assert!(matches!(sub.poll(soon()), Polled::Ready(FeedItem::Item(LiveItem::Packet(_)))));
    let first = sub.sent_at().expect("sent");
    assert!(before <= first && first <= after, "the send's time, not the read's");
    assert!(matches!(sub.poll(soon()), Polled::Ready(FeedItem::Item(LiveItem::Packet(_)))));
    assert!(sub.sent_at().expect("sent") >= first + Duration::from_millis(30));
}

#[test]
fn a_subscriber_waiting_for_a_key_packet_makes_the_feed_want_a_key_frame() {
    let feed = Fanout::new(4);
    let _early = feed.subscribe();
    let publisher = feed.publisher().expect("free");
    assert!(!publisher.take_keyframe_request(), "a subscriber from before the session starts with it");
    publisher.send(config(320));
    publisher.send(packet(0, true));
    // Joining mid-session: the next key packet may be minutes away for a WebRTC sender.
    let mut late = feed.subscribe();
    assert!(publisher.take_keyframe_request());
    assert!(!publisher.take_keyframe_request(), "asked once");
    // Falling behind asks again.
    for pts in 1..=6 {
        publisher.send(packet(pts, false));
    }
    assert_eq!(drain(&mut late)[..2], ["C320".to_owned(), "L2".to_owned()]);
    assert!(publisher.take_keyframe_request());
    // And a consumer outside the feed may ask.
    feed.request_keyframe();
    assert!(publisher.take_keyframe_request());
}
