//! Thousands of damaged packets, made from the fixtures by a small deterministic generator:
//! nothing may panic, and after every packet the counters must add up.

use bytes::Bytes;

use super::test_support::{read_testdata, rfc4571_frames, ALL};
use super::{Depacketizer, DepacketizerStats, RtpPacket};
use crate::codec::Codec;
use crate::test_rng::XorShift as Rng;

/// One packet damaged in one of several ways, most of them aimed at a length or a flag.
fn mutate(rng: &mut Rng, packet: &Bytes) -> Bytes {
    let mut b = packet.to_vec();
    match rng.below(8) {
        0 => b.truncate(rng.below(b.len() + 1)),
        // First byte: version, padding, extension, CSRC count.
        1 => b[0] ^= 1 << rng.below(8),
        // Last byte: the padding count when P is set.
        2 => *b.last_mut().unwrap() = rng.next() as u8,
        // Payload header, FU header, the first aggregation size.
        3 => {
            let at = 12 + rng.below(4);
            if at < b.len() {
                b[at] = rng.next() as u8;
            }
        }
        4 => {
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len());
                b[at] ^= 1 << rng.below(8);
            }
        }
        5 => b.extend((0..rng.below(40)).map(|_| rng.next() as u8)),
        // Sequence number or timestamp.
        6 => {
            let at = [2, 3, 4, 7][rng.below(4)];
            b[at] = rng.next() as u8;
        }
        _ => b = (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
    }
    Bytes::from(b)
}

fn assert_counts_add_up(s: &DepacketizerStats, errors: u64, pulled: u64, context: &str) {
    let used = s.single_nal_packets + s.aggregation_packets + s.fragmentation_packets;
    assert_eq!(
        s.packets,
        used + s.late_or_duplicate_packets + s.malformed_packets + s.unsupported_packets,
        "{context}"
    );
    assert_eq!(errors, s.malformed_packets + s.unsupported_packets, "{context}");
    assert_eq!(pulled, s.access_units, "{context}");
}

#[test]
fn mutated_packets_never_panic_and_the_counts_add_up() {
    let mut rng = Rng(0x1fc_2024);
    let mut totals = (0u64, 0u64, 0u64); // packets pushed, parse errors, units out
    for f in ALL {
        let frames = rfc4571_frames(&read_testdata(f.rtp));
        for round in 0..12 {
            let mut d = Depacketizer::new(f.codec);
            let (mut errors, mut pulled, mut loss, mut dropped) = (0u64, 0u64, 0u64, 0u64);
            let mut k = 0;
            while k < frames.len() {
                let mut batch = vec![frames[k].clone()];
                match rng.below(100) {
                    0..=4 => batch.clear(),
                    5..=7 => batch.push(frames[k].clone()),
                    8..=10 if k + 1 < frames.len() => {
                        batch.insert(0, frames[k + 1].clone());
                        k += 1;
                    }
                    11..=25 => batch[0] = mutate(&mut rng, &frames[k]),
                    _ => {}
                }
                k += 1;
                for data in batch {
                    let Ok(packet) = RtpPacket::parse(data) else {
                        totals.1 += 1;
                        continue;
                    };
                    totals.0 += 1;
                    if d.push(packet).is_err() {
                        errors += 1;
                    }
                    while let Some(unit) = d.pull() {
                        pulled += 1;
                        loss += unit.loss_before;
                        dropped += unit.dropped_before;
                        assert!(!unit.nals.is_empty());
                        assert!(unit.nals.iter().all(|n| n.len() >= f.codec.nal_header_len()));
                        assert!(unit.nals.iter().any(|n| f.codec.classify(n).is_some_and(|k| k.is_vcl())));
                        assert_eq!(unit.timestamp as u32, unit.rtp_timestamp, "the extension keeps the low bits");
                    }
                    let context = format!("{} round {round} packet {k}", f.rtp);
                    assert_counts_add_up(d.stats(), errors, pulled, &context);
                }
            }
            d.flush();
            pulled += std::iter::from_fn(|| d.pull()).count() as u64;
            let s = d.stats();
            assert_counts_add_up(s, errors, pulled, f.rtp);
            assert!(loss <= s.lost_packets + s.restarts + s.ssrc_changes + s.malformed_packets + s.unsupported_packets);
            assert!(dropped <= s.units_dropped);
            totals.2 += s.access_units;
        }
    }
    assert!(totals.0 > 7000 && totals.1 > 100 && totals.2 > 1000, "{totals:?}");
}

#[test]
fn random_payloads_behind_valid_headers_never_panic() {
    let mut rng = Rng(42);
    for codec in [Codec::H264, Codec::H265] {
        let mut d = Depacketizer::new(codec);
        let mut errors = 0;
        for seq in 0..5000u16 {
            let mut data = vec![0x80, u8::from(rng.percent(20)) << 7 | 96];
            data.extend_from_slice(&seq.to_be_bytes());
            data.extend_from_slice(&(u32::from(seq / 4) * 3600).to_be_bytes());
            data.extend_from_slice(&[0, 0, 0, 1]);
            let random = |rng: &mut Rng, n: usize| (0..n).map(|_| rng.next() as u8).collect::<Vec<_>>();
            // Aggregation and fragment types more often than chance would pick them;
            // aggregation units with sizes that mostly fit.
            match (codec, rng.below(4)) {
                (Codec::H264, 0) | (Codec::H265, 0) => {
                    data.extend_from_slice(if codec == Codec::H264 { &[0x78] } else { &[0x60, 0x01] });
                    for _ in 0..1 + rng.below(4) {
                        let size = 2 + rng.below(12);
                        let declared = if rng.percent(90) { size } else { rng.below(40) };
                        data.extend_from_slice(&(declared as u16).to_be_bytes());
                        data.extend(random(&mut rng, size));
                    }
                }
                (Codec::H264, 1) | (Codec::H265, 1) => {
                    data.extend_from_slice(if codec == Codec::H264 { &[0x7c] } else { &[0x62, 0x01] });
                    let n = rng.below(40);
                    data.extend(random(&mut rng, n));
                }
                _ => {
                    let n = 1 + rng.below(48);
                    data.extend(random(&mut rng, n));
                }
            }
            let packet = RtpPacket::parse(Bytes::from(data)).unwrap();
            errors += u64::from(d.push(packet).is_err());
            while d.pull().is_some() {}
        }
        let s = d.stats();
        assert_eq!(s.packets, 5000);
        assert_eq!(errors, s.malformed_packets + s.unsupported_packets);
        assert!(errors > 500 && s.fragmentation_packets > 500 && s.aggregation_packets > 100, "{s:?}");
    }
}
