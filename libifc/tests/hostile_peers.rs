//! The RTSP client and the live stream against peers that misbehave on purpose
//! (support/hostile_peer.rs): each misbehaviour gets a typed error within its deadline, and the
//! process's memory stays bounded while the peer keeps sending. One test, run sequentially, so
//! that the resident-set measurements see only this test's memory.

use std::time::{Duration, Instant};

use ifc::decode::{open_decoder, BackendPreference, DecodeError, DecoderOptions};
use ifc::live::LiveVideo;
use ifc::remux::LiveItem;
use ifc::rtsp::{RtspError, RtspOptions, Session};

#[path = "support/hostile_peer.rs"]
mod hostile_peer;
use hostile_peer::{resident_bytes, HostilePeer, Misbehaviour};

/// Deadlines the peers are held to: each exchange 1 s, a picture 1 s, silence 5 s (longer, so
/// that only the new deadlines can end the waits in time).
fn options() -> RtspOptions {
    RtspOptions::default()
        .read_timeout(Duration::from_secs(5))
        .response_timeout(Duration::from_secs(1))
        .picture_timeout(Duration::from_secs(1))
}

/// Generous for loaded CI machines; the point is that the wait ends, well before the 5 s read
/// timeout or the peer's 60 s.
const WITHIN: Duration = Duration::from_millis(3500);
/// Growth of the resident set allowed per misbehaviour while the peer keeps sending.
const MEMORY_BOUND_BYTES: u64 = 64 << 20;

fn describe(peer: &HostilePeer) -> Result<(), RtspError> {
    Session::describe(&peer.url(), options()).map(drop)
}

#[test]
fn every_misbehaviour_is_a_typed_error_within_its_deadline_with_bounded_memory() {
    type Check = fn(&Result<(), RtspError>) -> bool;
    let handshake: [(Misbehaviour, Check); 6] = [
        (
            Misbehaviour::SlowLoris,
            |r| matches!(r, Err(RtspError::Timeout { during, .. }) if during.contains("OPTIONS")),
        ),
        (
            Misbehaviour::EndlessEmptyFrames,
            |r| matches!(r, Err(RtspError::Unsupported { what, .. }) if what.contains("frames")),
        ),
        (Misbehaviour::EndlessInterleavedJunk, |r| {
            matches!(r, Err(RtspError::Unsupported { .. } | RtspError::Timeout { .. }))
        }),
        (
            Misbehaviour::LyingContentLength,
            |r| matches!(r, Err(RtspError::Timeout { during, .. }) if during.contains("DESCRIBE")),
        ),
        (
            Misbehaviour::CseqMismatch,
            |r| matches!(r, Err(RtspError::Timeout { during, .. }) if during.contains("OPTIONS")),
        ),
        (Misbehaviour::AbsurdSdpSize, |r| matches!(r, Err(RtspError::Protocol { .. }))),
    ];
    let mut report = Vec::new();
    for (misbehaviour, expected) in handshake {
        let peer = HostilePeer::start(misbehaviour);
        let (rss, started) = (resident_bytes("self"), Instant::now());
        let result = describe(&peer);
        let (elapsed, grew) = (started.elapsed(), resident_bytes("self").saturating_sub(rss));
        assert!(expected(&result), "{misbehaviour:?}: {result:?}");
        assert!(elapsed < WITHIN, "{misbehaviour:?}: took {elapsed:?}");
        assert!(grew < MEMORY_BOUND_BYTES, "{misbehaviour:?}: resident set grew {grew} bytes");
        report.push(format!(
            "{misbehaviour:?}: {elapsed:?}, +{} KiB, peer sent {} bytes",
            grew >> 10,
            peer.sent.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }

    // Plays, but no picture ever completes: the picture deadline, not the silence, ends it.
    let peer = HostilePeer::start(Misbehaviour::NeverAPicture);
    let (rss, started) = (resident_bytes("self"), Instant::now());
    let mut live = LiveVideo::open(&peer.url(), options()).expect("the handshake itself is fine");
    let result = live.next_item();
    let (elapsed, grew) = (started.elapsed(), resident_bytes("self").saturating_sub(rss));
    assert!(
        matches!(&result, Err(RtspError::Timeout { during, .. }) if during.contains("picture")),
        "{:?}",
        result.map(|_| ())
    );
    assert!(elapsed < WITHIN, "NeverAPicture: took {elapsed:?}");
    assert!(grew < MEMORY_BOUND_BYTES, "NeverAPicture: resident set grew {grew} bytes");
    report.push(format!("NeverAPicture: {elapsed:?}, +{} KiB", grew >> 10));

    // Parameter sets declaring 16880 × 16880 pictures: refused before a decoder allocates.
    let peer = HostilePeer::start(Misbehaviour::HugePictureParameterSets);
    let mut live = LiveVideo::open(&peer.url(), options()).expect("the handshake itself is fine");
    let config = loop {
        match live.next_item().expect("an IDR arrives") {
            Some(LiveItem::Config(config)) => break config,
            Some(LiveItem::Packet(_)) => {}
            None => panic!("the peer ended the stream"),
        }
    };
    assert_eq!((config.params.coded_width, config.params.coded_height), (16_880, 16_880));
    let options = DecoderOptions::from_config(config).with_backend(BackendPreference::PreferSoftware);
    let err = open_decoder(options).err().expect("refused");
    assert!(matches!(err, DecodeError::PictureTooLarge { width: 16_880, height: 16_880, .. }), "{err}");
    eprintln!("{}", report.join("\n"));
}
