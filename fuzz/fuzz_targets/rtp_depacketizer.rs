//! RTP packets and the depacketizer on arbitrary packet sequences (input: a codec byte, then
//! packets as u16 big-endian length + bytes, like RFC 4571). Invariants, checked after every
//! push and pull (as retina does): every pushed packet is counted once; a unit holds at least
//! one NAL unit, none empty, at most MAX_UNIT_NALS of them and MAX_UNIT_BYTES in all; unit
//! timestamps stay within half the RTP clock's range of the previous unit's; a random-access
//! unit holds a random-access slice.
#![no_main]

use bytes::Bytes;
use ifc::codec::{Codec, NalKind};
use ifc::rtp::{Depacketizer, RtpPacket, MAX_UNIT_BYTES, MAX_UNIT_NALS};
use libfuzzer_sys::fuzz_target;

fn drain(d: &mut Depacketizer, codec: Codec, last: &mut Option<i64>) {
    while let Some(unit) = d.pull() {
        assert!(!unit.nals.is_empty() && unit.nals.len() <= MAX_UNIT_NALS, "{} NAL units", unit.nals.len());
        assert!(unit.nals.iter().all(|n| !n.is_empty()));
        assert!(unit.nals.iter().map(Bytes::len).sum::<usize>() <= MAX_UNIT_BYTES);
        if unit.random_access {
            let rap = |n: &Bytes| matches!(codec.classify(n), Some(NalKind::Slice { random_access: true, .. }));
            assert!(unit.nals.iter().any(rap), "random_access without a random-access slice");
        }
        if let Some(previous) = *last {
            assert!((unit.timestamp - previous).abs() <= 1 << 31, "{previous} -> {}", unit.timestamp);
        }
        *last = Some(unit.timestamp);
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, mut rest)) = input.split_first() else { return };
    let codec = if first & 1 == 0 { Codec::H264 } else { Codec::H265 };
    let mut d = Depacketizer::new(codec);
    let (mut pushed, mut last) = (0u64, None);
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (packet, tail) = tail.split_at(len);
        rest = tail;
        if let Ok(packet) = RtpPacket::parse(Bytes::copy_from_slice(packet)) {
            assert!(packet.payload_type < 128);
            let _ = d.push(packet);
            pushed += 1;
            assert_eq!(d.stats().packets, pushed, "every pushed packet counted");
        }
        drain(&mut d, codec, &mut last);
    }
    d.flush();
    drain(&mut d, codec, &mut last);
});
