//! Byte-level tests of the boxes the muxer writes, against layouts worked out by hand from
//! ISO/IEC 14496-12, and the muxer's timing and error rules.

use bytes::Bytes;

use super::test_support::{box_at, child, child_boxes, load_fixture, test_config};
use super::*;
use crate::codec::{Codec, ColourDescription};

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn h264_config() -> DecoderConfig {
    // Not a valid avcC: the muxer copies the record verbatim and must not look inside.
    test_config(Codec::H264, Bytes::from_static(&[1, 0x64, 0, 0x1e, 0xff, 0xe0, 0x00]), 320, 240)
}

/// A 25 fps sample at timescale 12800; `data` is `size` bytes of `fill`.
fn sample(dts: i64, cts_offset: i32, size: usize, fill: u8, is_sync: bool) -> Sample {
    Sample { data: Bytes::from(vec![fill; size]), dts, cts_offset, duration: 512, is_sync }
}

/// What a trun says about its samples, read back by hand (8.8.8.2, all optional fields present).
struct ReadBack {
    sequence_number: u32,
    base_decode_time: u64,
    data_offset: u32,
    /// (duration, size, flags, composition offset)
    rows: Vec<(u32, u32, u32, i32)>,
}

fn read_back(segment: &MediaSegment) -> ReadBack {
    let moof = child(&segment.header, b"moof");
    let traf = child(moof, b"traf");
    let tfdt = child(traf, b"tfdt");
    let trun = child(traf, b"trun");
    let count = be32(trun, 4) as usize;
    let rows = (0..count)
        .map(|i| {
            let at = 12 + 16 * i;
            (be32(trun, at), be32(trun, at + 4), be32(trun, at + 8), be32(trun, at + 12) as i32)
        })
        .collect();
    ReadBack {
        sequence_number: be32(child(moof, b"mfhd"), 4),
        base_decode_time: u64::from_be_bytes(tfdt[4..12].try_into().expect("8 bytes")),
        data_offset: be32(trun, 8),
        rows,
    }
}

#[test]
fn ftyp_is_iso6_with_cmaf_brands() {
    let init = Fmp4Muxer::new(&h264_config(), 12_800).init_segment();
    let expected: &[u8] = b"\0\0\0\x1cftypiso6\0\0\0\0iso6cmfcmp41";
    assert_eq!(&init[..28], expected);
}

#[test]
fn init_segment_box_tree_and_fixed_fields() {
    let init = Fmp4Muxer::new(&h264_config(), 12_800).init_segment();
    let top: Vec<[u8; 4]> = child_boxes(&init).iter().map(|b| b.0).collect();
    assert_eq!(top, [*b"ftyp", *b"moov"]);
    let moov = child(&init, b"moov");
    assert_eq!(child_boxes(moov).iter().map(|b| b.0).collect::<Vec<_>>(), [*b"mvhd", *b"trak", *b"mvex"]);

    // mvhd v0: 100-byte body; timescale at 12, rate 1.0 at 20, next_track_ID 2 last.
    let mvhd = child(moov, b"mvhd");
    assert_eq!(mvhd.len(), 100);
    assert_eq!((be32(mvhd, 0), be32(mvhd, 12), be32(mvhd, 16), be32(mvhd, 20)), (0, 12_800, 0, 0x0001_0000));
    assert_eq!(be32(mvhd, 96), 2);

    // tkhd v0 flags 3 (enabled, in movie): track_ID 1 at 12, 320x240 in 16.16 at the end.
    let trak = child(moov, b"trak");
    assert_eq!(
        child_boxes(trak).iter().map(|b| b.0).collect::<Vec<_>>(),
        [*b"tkhd", *b"mdia"],
        "no edts without a shift"
    );
    let tkhd = child(trak, b"tkhd");
    assert_eq!(tkhd.len(), 84);
    assert_eq!((be32(tkhd, 0), be32(tkhd, 12)), (3, 1));
    assert_eq!((be32(tkhd, 76), be32(tkhd, 80)), (320 << 16, 240 << 16));

    // mdhd v0: timescale, duration 0, language "und" = 0x55c4.
    let mdhd = box_at(&init, &[b"moov", b"trak", b"mdia", b"mdhd"]);
    assert_eq!(mdhd, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x32, 0, 0, 0, 0, 0, 0x55, 0xc4, 0, 0]);
    let hdlr = box_at(&init, &[b"moov", b"trak", b"mdia", b"hdlr"]);
    assert_eq!(&hdlr[8..12], b"vide");
    assert_eq!(&hdlr[24..], b"VideoHandler\0");

    let minf = box_at(&init, &[b"moov", b"trak", b"mdia", b"minf"]);
    assert_eq!(child(minf, b"vmhd"), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    let dinf: &[u8] = b"\0\0\0\x1cdref\0\0\0\0\0\0\0\x01\0\0\0\x0curl \0\0\0\x01";
    assert_eq!(child(minf, b"dinf"), dinf);
    let stbl = child(minf, b"stbl");
    for (table, body) in [(b"stts", &[0u8; 8][..]), (b"stsc", &[0; 8]), (b"stsz", &[0; 12]), (b"stco", &[0; 8])] {
        assert_eq!(child(stbl, table), body, "{}", String::from_utf8_lossy(table));
    }
    // trex: track 1, sample description 1, no defaults.
    let trex = box_at(&init, &[b"moov", b"mvex", b"trex"]);
    assert_eq!(trex, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
}

#[test]
fn sample_entry_holds_record_verbatim_then_colr_and_pasp() {
    let mut config = h264_config();
    config.params.colour = ColourDescription { primaries: 1, transfer: 1, matrix: 1, full_range: true };
    config.params.sample_aspect_ratio = (4, 3);
    let init = Fmp4Muxer::new(&config, 12_800).init_segment();
    let stsd = box_at(&init, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"]);
    assert_eq!(stsd[..8], [0, 0, 0, 0, 0, 0, 0, 1]);
    let avc1 = child(&stsd[8..], b"avc1");
    // 12.1.3: data_reference_index 1 at 6, width/height at 24, 72 dpi, frame_count 1, depth 24,
    // pre_defined -1.
    assert_eq!(avc1[6..8], [0, 1]);
    assert_eq!(avc1[24..28], [0x01, 0x40, 0x00, 0xf0]);
    assert_eq!((be32(avc1, 28), be32(avc1, 32)), (0x0048_0000, 0x0048_0000));
    assert_eq!(avc1[40..42], [0, 1]);
    assert_eq!(avc1[74..78], [0, 0x18, 0xff, 0xff]);
    let children: Vec<[u8; 4]> = child_boxes(&avc1[78..]).iter().map(|b| b.0).collect();
    assert_eq!(children, [*b"avcC", *b"colr", *b"pasp"]);
    assert_eq!(child(&avc1[78..], b"avcC"), &config.record[..]);
    // 12.1.5.2 nclx: primaries, transfer, matrix (u16 each), full_range in the top bit.
    assert_eq!(child(&avc1[78..], b"colr"), b"nclx\0\x01\0\x01\0\x01\x80");
    assert_eq!(child(&avc1[78..], b"pasp"), [0, 0, 0, 4, 0, 0, 0, 3]);
    // tkhd shows the display width: 320 * 4/3 = 426.67 -> 0x01aa_aaaa in 16.16.
    let tkhd = box_at(&init, &[b"moov", b"trak", b"tkhd"]);
    assert_eq!((be32(tkhd, 76), be32(tkhd, 80)), (0x01aa_aaaa, 240 << 16));
}

#[test]
fn hevc_sample_entry_is_hvc1_with_hvcc() {
    let config = test_config(Codec::H265, Bytes::from_static(b"hvcc-record"), 320, 240);
    let init = Fmp4Muxer::new(&config, 90_000).init_segment();
    let hvcc = box_at(&init, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"hvc1", b"hvcC"]);
    assert_eq!(hvcc, b"hvcc-record");
}

#[test]
fn media_segment_layout_matches_hand_computed_bytes() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 12_800);
    let samples = [sample(0, 1024, 5, 0xaa, true), sample(512, -512, 3, 0xbb, false)];
    let segment = muxer.media_segment(&samples).expect("mux");
    // moof = 8 + mfhd 16 + traf (8 + tfhd 16 + tfdt 20 + trun (20 + 2 * 16)) = 120;
    // data offset = 120 + 8 (mdat header).
    let mut expected = Vec::new();
    expected.extend_from_slice(b"\0\0\0\x78moof\0\0\0\x10mfhd\0\0\0\0\0\0\0\x01");
    expected.extend_from_slice(b"\0\0\0\x60traf\0\0\0\x10tfhd\0\x02\0\0\0\0\0\x01");
    expected.extend_from_slice(b"\0\0\0\x14tfdt\x01\0\0\0\0\0\0\0\0\0\0\0");
    expected.extend_from_slice(b"\0\0\0\x34trun\x01\0\x0f\x01\0\0\0\x02\0\0\0\x80");
    expected.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 5, 0x02, 0, 0, 0, 0, 0, 4, 0]); // sync
    expected.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 3, 0x01, 0x01, 0, 0, 0xff, 0xff, 0xfe, 0]); // -512
    expected.extend_from_slice(b"\0\0\0\x10mdat");
    assert_eq!(segment.header, expected);
    assert_eq!(segment.to_vec(), [expected.clone(), vec![0xaa; 5], vec![0xbb; 3]].concat());
    assert_eq!(segment.len_bytes(), 136);
    let mut written = Vec::new();
    segment.write_to(&mut written).expect("write to Vec");
    assert_eq!(written, segment.to_vec());
    // Zero copy: the payload is the samples' own memory.
    assert_eq!(segment.payload[0].as_ptr(), samples[0].data.as_ptr());
    assert_eq!((segment.sequence_number, segment.base_decode_time, segment.duration), (1, 0, 1024));
}

#[test]
fn negative_dts_is_shifted_into_tfdt_and_taken_back_by_the_edit_list() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 12_800);
    // The B-pyramid fixture's first frames: dts -1024, -512, 0; pts 0, 1536, 512.
    let first = [sample(-1024, 1024, 4, 1, true), sample(-512, 2048, 4, 2, false), sample(0, 512, 4, 3, false)];
    let second = [sample(512, 1024, 4, 4, true)];
    let a = read_back(&muxer.media_segment(&first).expect("mux"));
    let b = read_back(&muxer.media_segment(&second).expect("mux"));
    assert_eq!(muxer.dts_shift(), Some(1024));
    assert_eq!((a.sequence_number, a.base_decode_time), (1, 0));
    assert_eq!((b.sequence_number, b.base_decode_time), (2, 1536));
    // Composition offsets are the input's; decode time + offset - edit media time = pts.
    let mut decode_time = a.base_decode_time as i64;
    for (row, s) in a.rows.iter().zip(&first) {
        assert_eq!(decode_time + i64::from(row.3) - 1024, s.pts());
        decode_time += i64::from(row.0);
    }
    assert_eq!(b.rows[0].3, 1024);
    assert_eq!(a.data_offset, 88 + 3 * 16 + 8);

    let init = muxer.init_segment();
    let elst = box_at(&init, &[b"moov", b"trak", b"edts", b"elst"]);
    // v0, one entry: segment_duration 0 (fragmented), media_time 1024, rate 1.0.
    assert_eq!(elst, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0, 0, 1, 0, 0]);
}

#[test]
fn durations_come_from_consecutive_dts_and_the_last_sample_keeps_its_own() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 90_000);
    let mut samples = [sample(0, 0, 1, 0, true), sample(3000, 0, 1, 0, false), sample(9000, 0, 1, 0, false)];
    samples[2].duration = 1234; // a gap before the last sample, then its own duration
    let segment = muxer.media_segment(&samples).expect("mux");
    let rows = read_back(&segment).rows;
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [3000, 6000, 1234]);
    assert_eq!(segment.duration, 10_234);
}

#[test]
fn errors_name_the_segment_and_sample_and_leave_the_muxer_unchanged() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 12_800);
    assert_eq!(muxer.media_segment(&[]), Err(MuxError::NoSamples { segment: 1 }));
    let backwards = [sample(0, 0, 1, 0, true), sample(512, 0, 1, 0, false), sample(512, 0, 1, 0, false)];
    assert_eq!(
        muxer.media_segment(&backwards),
        Err(MuxError::NonMonotonicDts { segment: 1, sample: 2, dts: 512, previous_dts: 512 })
    );
    let gap = [sample(0, 0, 1, 0, true), sample(1 << 32, 0, 1, 0, false)];
    assert_eq!(
        muxer.media_segment(&gap),
        Err(MuxError::DurationTooLarge { segment: 1, sample: 0, duration_ticks: 1 << 32 })
    );
    assert_eq!(muxer.dts_shift(), None, "a failed segment fixes nothing");

    let ok = muxer.media_segment(&[sample(1000, 0, 1, 0, true)]).expect("mux");
    assert_eq!(ok.sequence_number, 1, "failed segments do not use up sequence numbers");
    let err = muxer.media_segment(&[sample(1000, 0, 1, 0, true)]).expect_err("dts repeats across segments");
    assert_eq!(err, MuxError::NonMonotonicDts { segment: 2, sample: 0, dts: 1000, previous_dts: 1000 });
    assert_eq!(err.to_string(), "fmp4.moof[2].trun.sample[0]: dts 1000 does not follow the previous dts 1000");

    let mut zero = Fmp4Muxer::new(&h264_config(), 0);
    assert_eq!(zero.media_segment(&[sample(0, 0, 1, 0, true)]), Err(MuxError::ZeroTimescale));
}

#[test]
fn init_taken_first_fixes_the_shift_at_zero_and_refuses_negative_dts() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 12_800);
    let init = muxer.init_segment();
    assert_eq!(muxer.dts_shift(), Some(0));
    assert!(child_boxes(child(&init, b"moov")).len() == 3);
    assert_eq!(
        muxer.media_segment(&[sample(-1024, 1024, 1, 0, true)]),
        Err(MuxError::DecodeTimeOutOfRange { segment: 1, dts: -1024, dts_shift: 0 })
    );
    assert!(muxer.media_segment(&[sample(0, 1024, 1, 0, true)]).is_ok());
    assert_eq!(muxer.init_segment(), init, "the init segment does not change once fixed");
}

#[test]
fn the_most_negative_dts_is_refused_not_overflowed() {
    let mut muxer = Fmp4Muxer::new(&h264_config(), 12_800);
    let err = muxer.media_segment(&[sample(i64::MIN, 0, 1, 0, true)]).expect_err("unrepresentable");
    assert!(matches!(err, MuxError::DecodeTimeOutOfRange { .. }), "{err}");
    // The largest representable shift works, with a version 1 edit list.
    let segment = muxer.media_segment(&[sample(i64::MIN + 1, 0, 1, 0, true)]).expect("mux");
    assert_eq!(segment.base_decode_time, 0);
    let elst = box_at(&muxer.init_segment(), &[b"moov", b"trak", b"edts", b"elst"]).to_vec();
    assert_eq!(elst[0], 1);
    assert_eq!(elst[16..24], i64::MAX.to_be_bytes());
}

/// Random records and sample sequences, with wild timestamps and sizes: the muxer returns an
/// error or segments whose boxes add up, never a panic.
#[test]
fn random_inputs_never_panic_and_stay_consistent() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut segments_written = 0;
    for _ in 0..300 {
        let record: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
        let mut config = test_config(Codec::H264, Bytes::from(record.clone()), next() as u32, next() as u32);
        config.params.sample_aspect_ratio = (next() as u32 % 3, next() as u32);
        let mut muxer = Fmp4Muxer::new(&config, (next() % 3) as u32 * 45_000);
        let mut dts = (next() % 100_000) as i64 - 50_000;
        for _ in 0..4 {
            let samples: Vec<Sample> = (0..next() % 6)
                .map(|_| {
                    // Mostly increasing, sometimes backwards or leaping past 32 bits.
                    dts = dts.saturating_add(match next() % 8 {
                        0 => next() as i64,
                        1 => -((next() % 1000) as i64),
                        _ => (next() % 4000) as i64,
                    });
                    Sample {
                        data: Bytes::from(vec![0u8; (next() % 40) as usize]),
                        dts,
                        cts_offset: next() as i32,
                        duration: next() as u32,
                        is_sync: next() % 2 == 0,
                    }
                })
                .collect();
            if let Ok(segment) = muxer.media_segment(&samples) {
                segments_written += 1;
                let back = read_back(&segment);
                assert_eq!(back.rows.len(), samples.len());
                assert_eq!(back.data_offset as usize, segment.header.len());
                let payload: u64 = back.rows.iter().map(|r| u64::from(r.1)).sum();
                assert_eq!(segment.len_bytes(), segment.header.len() as u64 + payload);
            }
        }
        let init = muxer.init_segment();
        let avcc = box_at(&init, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1", b"avcC"]);
        assert_eq!(avcc, record);
    }
    assert!(segments_written > 200, "only {segments_written} segments: the generator is too wild");
}

#[test]
fn init_segment_of_a_real_fixture_carries_its_avcc_record() {
    let track = load_fixture("h264_high_bpyramid_320x240_25.mp4", Codec::H264);
    let init = Fmp4Muxer::new(&track.config, track.timescale).init_segment();
    let avcc = box_at(&init, &[b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd", b"avc1", b"avcC"]);
    assert_eq!(avcc, &track.config.record[..]);
    assert_eq!(avcc[0], 1, "configurationVersion of a real avcC");
}

/// Pins the exact bytes written for a real fixture, so that any change to the output is a
/// decision. When this breaks on purpose: run the round-trip tests (ffmpeg reads the new output
/// back bit-exactly), then update the digest. FNV-1a 64, written here so it never changes.
#[test]
fn bpyramid_fixture_output_is_pinned() {
    let track = load_fixture("h264_high_bpyramid_320x240_25.mp4", Codec::H264);
    let mut segmenter = crate::mp4::segmenter::Segmenter::new(u64::from(track.timescale));
    let mut muxer = Fmp4Muxer::new(&track.config, track.timescale);
    let mut segments = Vec::new();
    for s in track.samples.iter().cloned() {
        if let Some(samples) = segmenter.push(s) {
            segments.push(muxer.media_segment(&samples).expect("mux").to_vec());
        }
    }
    let rest = segmenter.flush().expect("last segment");
    segments.push(muxer.media_segment(&rest).expect("mux").to_vec());
    let output = [vec![muxer.init_segment()], segments].concat().concat();
    let fnv1a =
        output.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    assert_eq!((output.len(), format!("{fnv1a:016x}").as_str()), (113_525, "06bcc4ed4a1783c6"));
}
