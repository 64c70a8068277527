//! Damaged input never panics, is counted, and costs at most the frames up to the next key
//! frame: pictures decoded after it are bit-identical to those of the undamaged stream.

use bytes::Bytes;

use super::test_support::*;
use crate::codec::{AccessUnit, NalKind};
use crate::decode::{DecodeError, DecoderOptions, EncodedPacket, ErrorPolicy, Frame};
use crate::test_rng::XorShift as Noise;

fn decode_packets(name: &str, threads: usize, policy: ErrorPolicy, packets: Vec<EncodedPacket>) -> Decoded {
    decode(DecoderOptions::new(codec_of(name)).with_threads(threads).with_error_policy(policy), packets)
}

/// Index of the first key access unit after `index`.
fn next_key_after(aus: &[AccessUnit], index: usize) -> usize {
    (index + 1..aus.len()).find(|&i| aus[i].random_access).expect("a later key frame")
}

/// Every frame decoded from packet `from` on (decode order) equals the clean decode's frame
/// of the same packet, and every such clean frame is present except those in `may_miss`.
fn assert_recovered_from(name: &str, clean: &[Frame], damaged: &[Frame], from: u64, may_miss: &[u64]) {
    let by_index = |frames: &[Frame]| -> Vec<(u64, Vec<u8>)> {
        let mut v: Vec<_> = frames
            .iter()
            .filter_map(|f| f.decode_index.filter(|&i| i >= from).map(|i| (i, picture_bytes(f))))
            .collect();
        v.sort_by_key(|(i, _)| *i);
        v
    };
    let (clean, damaged) = (by_index(clean), by_index(damaged));
    let expected: Vec<_> = clean.into_iter().filter(|(i, _)| !may_miss.contains(i)).collect();
    let got: Vec<_> = damaged.into_iter().filter(|(i, _)| !may_miss.contains(i)).collect();
    assert_eq!(got.len(), expected.len(), "{name}: frames from packet {from} on");
    for ((gi, g), (ei, e)) in got.iter().zip(&expected) {
        assert_eq!(gi, ei, "{name}: the same pictures come out");
        assert!(g == e, "{name}: picture of packet {gi} differs from the undamaged decode");
    }
}

/// Flips bits in the middle of the slice data of access unit `index`.
fn flip_slice_bits(au: &AccessUnit, codec: crate::codec::Codec, noise: &mut Noise) -> AccessUnit {
    let mut au = au.clone();
    for nal in au.nals.iter_mut() {
        if matches!(codec.classify(nal), Some(NalKind::Slice { .. })) && nal.len() > 16 {
            let mut bytes = nal.to_vec();
            for _ in 0..8 {
                let at = 8 + noise.below(bytes.len() - 8);
                bytes[at] ^= 1 << noise.below(8);
            }
            *nal = Bytes::from(bytes);
        }
    }
    au
}

/// The last `n` pictures in display order.
fn tail_pictures(frames: &[Frame], n: usize) -> Vec<Vec<u8>> {
    frames[frames.len().saturating_sub(n)..].iter().map(picture_bytes).collect()
}

/// Clean frames decoded from access unit `key` on: in a closed GOP, the display-order tail.
fn frames_from(frames: &[Frame], key: usize) -> usize {
    frames.iter().filter(|f| f.decode_index.is_some_and(|i| i >= key as u64)).count()
}

fn damaged_packets(
    aus: &[AccessUnit],
    index: u64,
    damage: impl Fn(&AccessUnit) -> Option<AccessUnit>,
) -> Vec<EncodedPacket> {
    aus.iter()
        .filter_map(|au| if au.index == index { damage(au) } else { Some(au.clone()) })
        .map(|au| annex_b_packet(&au))
        .collect()
}

fn truncated(au: &AccessUnit) -> AccessUnit {
    let mut au = au.clone();
    if let Some(last) = au.nals.last_mut() {
        *last = last.slice(..last.len() / 2);
    }
    au
}

/// libavcodec's H.264 error concealment runs (and flags pictures) only single-threaded; with
/// more threads the same damage passes unflagged, like all damage in H.265
/// (see `undetected_damage_still_ends_at_the_next_key_frame`).
#[test]
fn h264_slice_damage_is_counted_dropped_and_recovered_at_the_next_idr() {
    for name in ["h264_main_320x240_25.h264", "h264_high_bpyramid_320x240_25.h264"] {
        let aus = access_units(name);
        let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
        let (damaged_index, key) = (5, next_key_after(&aus, 5));
        let flipped = damaged_packets(&aus, 5, |au| Some(flip_slice_bits(au, codec_of(name), &mut Noise(0x5eed))));
        let cut = damaged_packets(&aus, 5, |au| Some(truncated(au)));
        for (damage, packets) in [("bit flips", flipped), ("truncation", cut)] {
            let what = format!("{name}, {damage}");
            let damaged = decode_packets(name, 1, ErrorPolicy::SkipUntilKeyframe, packets);
            let s = damaged.stats;
            assert!(s.concealed_or_corrupt_frames > 0, "{what}: concealment noticed: {s:?}");
            assert!(s.skipped_until_keyframe > 0, "{what}: {s:?}");
            assert!(damaged.frames.iter().all(|f| !f.corrupt), "{what}: concealed pictures are dropped");
            assert_recovered_from(&what, &clean.frames, &damaged.frames, key as u64, &[]);
            let lost = clean.frames.len() - damaged.frames.len();
            assert!(lost <= key - damaged_index, "{what}: {lost} frames lost for one damaged access unit");
            // Before the damage (decode order), nothing changed.
            let before = damaged.frames.iter().filter(|f| f.decode_index < Some(damaged_index as u64)).count();
            assert_eq!(before, damaged_index, "{what}");
        }
    }
}

#[test]
fn under_conceal_damaged_pictures_and_those_predicted_from_them_are_delivered_and_flagged() {
    let name = "h264_main_320x240_25.h264";
    let aus = access_units(name);
    let key = next_key_after(&aus, 5) as u64;
    assert!(is_reference(codec_of(name), &aus[5]), "the damage must spread");
    let clean = decode_fixture(name, 1, ErrorPolicy::Conceal);
    let packets = damaged_packets(&aus, 5, |au| Some(truncated(au)));
    let damaged = decode_packets(name, 1, ErrorPolicy::Conceal, packets);
    assert_eq!(damaged.frames.len(), aus.len(), "every picture comes out");
    let mut corrupt: Vec<u64> = damaged.frames.iter().filter(|f| f.corrupt).filter_map(|f| f.decode_index).collect();
    corrupt.sort_unstable();
    // libavcodec flags the truncated picture; every picture decoded after it up to the IDR is
    // predicted, directly or not, from it.
    assert_eq!(corrupt, (5..key).collect::<Vec<_>>());
    assert_eq!(damaged.stats.concealed_or_corrupt_frames, 1);
    assert_eq!(damaged.stats.damaged_frames, key - 6);
    assert_eq!(damaged.stats.skipped_until_keyframe, 0);
    assert_unflagged_frames_equal_clean(name, &clean.frames, &damaged.frames);
}

/// Does the access unit hold a reference picture (H.264 `nal_ref_idc` > 0; H.265 anything but
/// the even types up to 14)?
fn is_reference(codec: crate::codec::Codec, au: &AccessUnit) -> bool {
    au.classified(codec).any(|(kind, nal)| {
        matches!(kind, Some(NalKind::Slice { .. }))
            && match codec {
                crate::codec::Codec::H264 => nal[0] & 0x60 != 0,
                crate::codec::Codec::H265 => !((nal[0] >> 1) <= 14 && (nal[0] >> 1) % 2 == 0),
            }
    })
}

/// The first predicted reference picture after `from` that is not a key frame.
fn reference_after(codec: crate::codec::Codec, aus: &[AccessUnit], from: usize) -> usize {
    (from..aus.len()).find(|&i| !aus[i].random_access && is_reference(codec, &aus[i])).expect("a reference picture")
}

/// Every frame not flagged `corrupt` equals the clean decode's frame of the same pts (the test
/// packets keep each access unit's pts, even when one is left out).
fn assert_unflagged_frames_equal_clean(what: &str, clean: &[Frame], damaged: &[Frame]) {
    let clean: std::collections::HashMap<_, _> = clean.iter().map(|f| (f.pts_90k, picture_bytes(f))).collect();
    for frame in damaged.iter().filter(|f| !f.corrupt) {
        let expected =
            clean.get(&frame.pts_90k).unwrap_or_else(|| panic!("{what}: pts {:?} not in clean", frame.pts_90k));
        assert!(
            *expected == picture_bytes(frame),
            "{what}: the unflagged picture of pts {:?} (packet {:?}) differs from the undamaged decode",
            frame.pts_90k,
            frame.decode_index
        );
    }
}

#[test]
fn b_pictures_decoded_after_a_damaged_reference_are_never_delivered_unflagged() {
    // libavcodec flags the damaged reference when it comes out, after the B-pictures predicted
    // from it that are displayed before it; they wait for that verdict.
    let name = "h264_high_bpyramid_320x240_25.h264";
    let codec = codec_of(name);
    let aus = access_units(name);
    let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
    let mut checked = 0;
    for seed in 1..=6u64 {
        let at = reference_after(codec, &aus, 1 + seed as usize * 3);
        let packets = damaged_packets(&aus, at as u64, |au| Some(flip_slice_bits(au, codec, &mut Noise(seed))));
        for policy in [ErrorPolicy::SkipUntilKeyframe, ErrorPolicy::Conceal] {
            let what = format!("{name}, bit flips in packet {at}, {policy:?}");
            let damaged = decode_packets(name, 1, policy, packets.clone());
            let s = damaged.stats;
            if s.concealed_or_corrupt_frames == 0 {
                continue; // libavcodec saw nothing: nothing to act on (see the module notes)
            }
            checked += 1;
            assert_unflagged_frames_equal_clean(&what, &clean.frames, &damaged.frames);
            if policy == ErrorPolicy::Conceal {
                assert_eq!(damaged.frames.len(), aus.len(), "{what}");
                let flagged = damaged.frames.iter().filter(|f| f.corrupt).count() as u64;
                assert_eq!(flagged, s.concealed_or_corrupt_frames + s.damaged_frames, "{what}: {s:?}");
            } else {
                assert!(damaged.frames.iter().all(|f| !f.corrupt), "{what}");
            }
        }
    }
    assert!(checked >= 4, "libavcodec flagged too few of the damaged pictures ({checked})");
}

#[test]
fn a_missing_reference_picture_is_found_and_what_is_predicted_from_it_is_flagged() {
    // libavcodec notices none of this: the H.264 frame_num gap and the H.265 reference picture
    // set naming an absent picture are ifc's own findings, with 1 or 2 threads alike.
    for name in ["h264_high_bpyramid_320x240_25.h264", "hevc_main_320x240_25.h265"] {
        let codec = codec_of(name);
        let aus = access_units(name);
        let clean = decode_fixture(name, 1, ErrorPolicy::Conceal);
        let gone = reference_after(codec, &aus, 4) as u64;
        let packets = damaged_packets(&aus, gone, |_| None);
        for threads in [1, 2] {
            let what = format!("{name}, packet {gone} left out, {threads} threads");
            let damaged = decode_packets(name, threads, ErrorPolicy::Conceal, packets.clone());
            let s = damaged.stats;
            assert!(s.damaged_frames > 0 && s.decode_errors > 0, "{what}: {s:?}");
            assert!(
                damaged.errors.iter().any(|e| matches!(e, DecodeError::Damaged { damage, .. }
                    if matches!(damage, crate::decode::Damage::FrameNumGap { .. } | crate::decode::Damage::MissingReference { .. }))),
                "{what}: {:?}",
                damaged.errors
            );
            assert_eq!(damaged.frames.len(), aus.len() - 1, "{what}: the others come out");
            assert_unflagged_frames_equal_clean(&what, &clean.frames, &damaged.frames);
            let skipping = decode_packets(name, threads, ErrorPolicy::SkipUntilKeyframe, packets.clone());
            assert!(skipping.frames.iter().all(|f| !f.corrupt), "{what}");
            assert!(skipping.frames.len() < aus.len() - 1, "{what}: damaged pictures dropped");
            assert_unflagged_frames_equal_clean(&what, &clean.frames, &skipping.frames);
        }
    }
}

#[test]
fn undetected_damage_still_ends_at_the_next_key_frame() {
    // libavcodec's H.265 decoder reports no concealment, and neither codec notices a missing
    // access unit (ifc's analysis does); whatever is noticed, the damage cannot outlive the
    // next IDR.
    for name in ["hevc_main_320x240_25.h265", "h264_main_320x240_25.h264", "h264_high_bpyramid_320x240_25.h264"] {
        let aus = access_units(name);
        let key = next_key_after(&aus, 5);
        let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
        let tail = frames_from(&clean.frames, key);
        let damages: [(&str, Vec<EncodedPacket>); 3] = [
            ("bit flips", damaged_packets(&aus, 5, |au| Some(flip_slice_bits(au, codec_of(name), &mut Noise(7))))),
            ("truncation", damaged_packets(&aus, 5, |au| Some(truncated(au)))),
            ("a dropped access unit", damaged_packets(&aus, 5, |_| None)),
        ];
        for (damage, packets) in damages {
            for threads in [1, 2] {
                let damaged = decode_packets(name, threads, ErrorPolicy::SkipUntilKeyframe, packets.clone());
                assert!(
                    tail_pictures(&damaged.frames, tail) == tail_pictures(&clean.frames, tail),
                    "{name}, {damage}, {threads} threads: pictures from the next key frame on are intact"
                );
            }
        }
    }
}

#[test]
fn missing_parameter_sets_are_counted_and_decoding_starts_at_the_next_key_frame() {
    for name in ["h264_main_320x240_25.h264", "hevc_main_320x240_25.h265", "hevc_opengop_cra_320x240_25.h265"] {
        let codec = codec_of(name);
        let aus = access_units(name);
        let key = next_key_after(&aus, 0);
        let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
        let packets = damaged_packets(&aus, 0, |au| {
            let mut au = au.clone();
            au.nals.retain(|nal| !codec.classify(nal).is_some_and(|k| k.is_parameter_set()));
            Some(au)
        });
        for threads in [1, 2] {
            let what = format!("{name}, {threads} threads");
            let damaged = decode_packets(name, threads, ErrorPolicy::SkipUntilKeyframe, packets.clone());
            let s = damaged.stats;
            assert!(s.decode_errors >= 1, "{what}: {s:?}");
            assert!(!damaged.errors.is_empty(), "{what}: the error is reported");
            for e in &damaged.errors {
                let says_where = matches!(e, DecodeError::Bitstream { stream_id: 0, reason, .. } if !reason.is_empty());
                assert!(says_where, "{what}: {e}");
            }
            // Frame threading reports an error up to `threads - 1` packets late.
            let skipped = (key - threads) as u64..=key as u64 - 1;
            assert!(skipped.contains(&s.skipped_until_keyframe), "{what}: packets up to the key frame skipped: {s:?}");
            let first = damaged.frames.iter().map(|f| f.decode_index).min().flatten();
            assert_eq!(first, Some(key as u64), "{what}: the first picture is the key frame's");
            // At an H.265 CRA, RASL pictures reference pictures before it and are skipped
            // (H.265 8.1.3); everything else is identical.
            let rasl: Vec<u64> = aus.iter().filter(|au| is_rasl(codec, au)).map(|au| au.index).collect();
            assert_recovered_from(&what, &clean.frames, &damaged.frames, key as u64, &rasl);
        }
    }
}

fn is_rasl(codec: crate::codec::Codec, au: &AccessUnit) -> bool {
    // H.265 nal_unit_type 8 (RASL_N) and 9 (RASL_R), Table 7-1.
    codec == crate::codec::Codec::H265
        && au.nals.iter().any(|n| n.first().is_some_and(|b| matches!((b >> 1) & 0x3f, 8 | 9)))
}

#[test]
fn joining_an_open_gop_stream_mid_way_starts_at_a_cra_without_its_rasl_pictures() {
    let name = "hevc_opengop_cra_320x240_25.h265";
    let codec = codec_of(name);
    let aus = access_units(name);
    let cra = next_key_after(&aus, 10);
    assert!(!aus[cra].idr, "the fixture's second random-access point is a CRA");
    let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
    let packets: Vec<_> = aus[10..].iter().map(annex_b_packet).collect();
    let joined = decode_packets(name, 2, ErrorPolicy::SkipUntilKeyframe, packets);
    assert_eq!(joined.stats.skipped_until_keyframe, (cra - 10) as u64);
    assert_eq!(joined.stats.decode_errors, 0, "skipping to the CRA leaves nothing undecodable");
    // Decode indices count from the join; pts still name the original access unit.
    let shown: Vec<i64> = joined.frames.iter().filter_map(|f| f.pts_90k).collect();
    let rasl: Vec<i64> = aus.iter().filter(|au| is_rasl(codec, au)).map(|au| au.index as i64 * 3600).collect();
    // Only the RASL pictures of the CRA where decoding began are undecodable.
    let next = next_key_after(&aus, cra) as i64 * 3600;
    let undecodable = |pts: i64| rasl.contains(&pts) && pts < next;
    let expected: Vec<i64> = clean
        .frames
        .iter()
        .filter_map(|f| f.pts_90k)
        .filter(|&pts| pts >= cra as i64 * 3600 && !undecodable(pts))
        .collect();
    assert!(rasl.iter().any(|&pts| undecodable(pts)), "the CRA has RASL pictures");
    assert_eq!(shown, expected);
}

#[test]
fn garbage_between_nal_units_never_outlives_the_next_key_frame() {
    let name = "h264_main_320x240_25.h264";
    let data = std::fs::read(fixture_path(name)).expect("fixture");
    let aus = access_units(name);
    let key = next_key_after(&aus, 0);
    let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
    let tail = frames_from(&clean.frames, key);
    let key_offset = data.windows(5).skip(100).position(|w| w == [0, 0, 0, 1, 0x67]).expect("second SPS") + 100;
    for seed in 1..=8u64 {
        let mut noise = Noise(seed);
        let mut stream = data.clone();
        // Garbage, with and without start codes, at a few NAL boundaries before the key frame.
        for _ in 0..4 {
            let starts: Vec<usize> = (0..key_offset - 4).filter(|&i| stream[i..i + 4] == [0, 0, 0, 1]).collect();
            let at = starts[noise.below(starts.len())];
            let mut junk: Vec<u8> = (0..1 + noise.below(64)).map(|_| noise.next() as u8).collect();
            if seed % 2 == 0 {
                junk.splice(0..0, [0, 0, 1]);
            }
            stream.splice(at..at, junk);
        }
        let mut assembler = crate::codec::AccessUnitAssembler::new(codec_of(name));
        let _ = assembler.push_annex_b(Bytes::from(stream));
        let _ = assembler.flush();
        let packets: Vec<_> = std::iter::from_fn(|| assembler.pull()).map(|au| annex_b_packet(&au)).collect();
        let damaged = decode_packets(name, 2, ErrorPolicy::SkipUntilKeyframe, packets);
        assert!(
            tail_pictures(&damaged.frames, tail) == tail_pictures(&clean.frames, tail),
            "seed {seed}: pictures from the key frame on are intact"
        );
    }
}

#[test]
fn a_truncated_stream_gives_every_complete_picture_at_flush() {
    for name in ["h264_high_bpyramid_320x240_25.h264", "hevc_main10_320x240_25.h265"] {
        let aus = access_units(name);
        let clean = decode_fixture(name, 1, ErrorPolicy::SkipUntilKeyframe);
        for last in [1, 17, 40] {
            let mut packets: Vec<_> = aus[..last].iter().map(annex_b_packet).collect();
            packets.push(annex_b_packet(&truncated(&aus[last])));
            let damaged = decode_packets(name, 2, ErrorPolicy::Conceal, packets);
            // Pictures decoded before the cut cannot depend on it: all of them, unchanged.
            let before_cut = |frames: &[Frame]| -> Vec<(u64, Vec<u8>)> {
                let mut v: Vec<_> = frames
                    .iter()
                    .filter_map(|f| f.decode_index.filter(|&i| i < last as u64).map(|i| (i, picture_bytes(f))))
                    .collect();
                v.sort_by_key(|(i, _)| *i);
                v
            };
            let got = before_cut(&damaged.frames);
            assert_eq!(got.len(), last, "{name}: cut in packet {last}");
            assert!(got == before_cut(&clean.frames), "{name}: cut in packet {last}");
        }
    }
}

#[test]
fn random_damage_and_random_packets_never_panic() {
    for name in ["h264_high_slices4_320x240_25.h264", "hevc_main10_320x240_25.h265"] {
        let codec = codec_of(name);
        let aus = access_units(name);
        for seed in 1..=6u64 {
            let mut noise = Noise(seed);
            let packets: Vec<_> = aus
                .iter()
                .map(|au| {
                    let mut p = annex_b_packet(au);
                    let mut bytes = p.data.to_vec();
                    for _ in 0..noise.below(4) {
                        let at = noise.below(bytes.len());
                        bytes[at] ^= noise.next() as u8;
                    }
                    bytes.truncate(bytes.len() - noise.below(bytes.len() / 8 + 1));
                    p.data = Bytes::from(bytes);
                    p
                })
                .collect();
            for policy in [ErrorPolicy::SkipUntilKeyframe, ErrorPolicy::Conceal] {
                let d = decode_packets(name, 1 + (seed % 2) as usize, policy, packets.clone());
                assert_eq!(d.stats.packets_in, aus.len() as u64);
            }
        }
        let mut noise = Noise(99);
        let junk = (0..200).map(|i| {
            let bytes: Vec<u8> = (0..noise.below(2000)).map(|_| noise.next() as u8).collect();
            EncodedPacket { data: Bytes::from(bytes), pts_90k: Some(i), dts_90k: None, is_key: i % 7 == 0 }
        });
        let d = decode(DecoderOptions::new(codec).with_error_policy(ErrorPolicy::Conceal), junk);
        assert_eq!(d.stats.packets_in, 200);
    }
}

#[test]
fn after_flush_a_new_stream_decodes_from_its_key_frame() {
    let name = "hevc_main_320x240_25.h265";
    let aus = access_units(name);
    let mut decoder = crate::decode::open_decoder(DecoderOptions::new(codec_of(name)).with_threads(2)).expect("opens");
    let mut passes = Vec::new();
    for _ in 0..2 {
        for au in &aus {
            decoder.push(annex_b_packet(au)).expect("clean stream");
        }
        decoder.flush().expect("flush");
        passes
            .push(std::iter::from_fn(|| decoder.pull().expect("pull")).map(|f| picture_bytes(&f)).collect::<Vec<_>>());
    }
    assert_eq!(passes[0].len(), aus.len());
    assert!(passes[0] == passes[1], "the second pass decodes exactly like the first");
    assert_eq!(decoder.stats().frames_out, 2 * aus.len() as u64);
}

#[test]
fn an_empty_packet_is_ignored_rather_than_ending_the_stream() {
    let name = "h264_main_320x240_25.h264";
    let aus = access_units(name);
    let mut packets: Vec<_> = aus.iter().map(annex_b_packet).collect();
    packets.insert(3, EncodedPacket::new(Bytes::new(), None, false));
    let decoded = decode_packets(name, 1, ErrorPolicy::SkipUntilKeyframe, packets);
    assert_eq!(decoded.frames.len(), aus.len());
    assert!(decoded.errors.is_empty());
}

#[test]
fn a_worker_under_a_slow_consumer_keeps_its_queue_bounded() {
    use crate::decode::{DecodeWorker, QueuePolicy};
    let name = "h264_main_320x240_25.h264";
    let aus = access_units(name);
    let options = DecoderOptions::new(codec_of(name)).with_stream_id(3);
    let (sender, receiver) = DecodeWorker::spawn(options, 3, QueuePolicy::DropOldest).expect("spawns");
    for au in &aus {
        sender.send(annex_b_packet(au)).expect("worker alive");
    }
    drop(sender);
    let mut received = 0u64;
    while let Some(frame) = receiver.recv() {
        assert_eq!(frame.stream_id, 3);
        assert!(receiver.stats().queued <= 3);
        received += 1;
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let stats = receiver.stats();
    assert_eq!(stats.decoded, aus.len() as u64);
    assert!(stats.dropped > 0);
    assert_eq!(stats.dropped + received, stats.decoded);
    assert_eq!(stats.decode.packets_in, aus.len() as u64);
}

#[test]
fn a_garbage_decoder_configuration_record_never_panics() {
    let aus = access_units("h264_main_320x240_25.h264");
    for record in [&[][..], &[1, 0x64, 0, 0x1e, 0xff, 0xe1, 0xff, 0xff], &[0xff; 64]] {
        for codec in [crate::codec::Codec::H264, crate::codec::Codec::H265] {
            let config = config_with_record(codec, Bytes::copy_from_slice(record), 4);
            let Ok(mut decoder) = crate::decode::open_decoder(DecoderOptions::new(codec).with_config(config)) else {
                continue;
            };
            for au in &aus[..5] {
                let _ = decoder.push(annex_b_packet(au));
                while let Ok(Some(_)) = decoder.pull() {}
            }
            let _ = decoder.flush();
            assert_eq!(decoder.stats().packets_in, 5);
        }
    }
}

#[test]
fn pictures_over_the_configured_size_cap_are_refused_before_libavcodec_sees_them() {
    for name in ["h264_main_320x240_25.h264", "hevc_main_320x240_25.h265"] {
        let packets: Vec<EncodedPacket> = access_units(name).iter().map(annex_b_packet).collect();
        // In band: every packet with an SPS is refused; nothing between reaches libavcodec.
        let options = DecoderOptions::new(codec_of(name)).with_max_picture_pixels(320 * 240 - 1);
        let capped = decode(options, packets.clone());
        assert!(capped.frames.is_empty(), "{name}: no picture decoded past the cap");
        assert!(!capped.errors.is_empty(), "{name}");
        for e in &capped.errors {
            let expected = DecodeError::PictureTooLarge {
                stream_id: 0,
                width: 320,
                height: 240,
                max_pixels: 320 * 240 - 1,
                max_side: crate::decode::MAX_PICTURE_SIDE,
            };
            assert_eq!(e, &expected, "{name}");
        }
        assert_eq!(capped.stats.decode_errors, capped.errors.len() as u64, "{name}");
        // At the cap, the stream decodes.
        let options = DecoderOptions::new(codec_of(name)).with_max_picture_pixels(320 * 240);
        let decoded = decode(options, packets);
        assert!(decoded.errors.is_empty() && !decoded.frames.is_empty(), "{name}: {:?}", decoded.errors);
    }
}

#[test]
fn a_configuration_declaring_a_huge_picture_is_refused_at_open() {
    let name = "h264_main_320x240_25.mp4";
    let data = Bytes::from(std::fs::read(fixture_path(name)).expect("fixture"));
    let mut config = crate::remux::mp4_source(data).expect("fixture").config;
    (config.params.coded_width, config.params.coded_height) = (16_880, 16_880);
    (config.params.width, config.params.height) = (16_880, 16_880);
    let options = DecoderOptions::from_config(config).with_backend(crate::decode::BackendPreference::PreferSoftware);
    let err = crate::decode::open_decoder(options).err().expect("refused");
    assert!(matches!(err, DecodeError::PictureTooLarge { width: 16_880, height: 16_880, .. }), "{err}");
}
