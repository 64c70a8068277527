//! Broken input: every fixture truncated at many lengths, every table box cut short, thousands
//! of deterministic bit flips and stomped words, and one test per rule the demuxer enforces.
//! The demuxer must answer each with a `ParseError` naming a box path and a byte offset, and
//! never panic.

use bytes::Bytes;

use super::test_file::{self, full_box, mp4_box, words, FragmentOptions, ProgressiveOptions};
use super::tests::{mp4_fixtures, read_fixture, top_level_boxes};
use super::*;
use crate::ParseErrorKind;

fn assert_located(err: &ParseError, file_len: usize, context: &str) {
    assert!(!err.at.is_empty(), "{context}: error without a path: {err}");
    let offset = err.offset.unwrap_or_else(|| panic!("{context}: error without an offset: {err}"));
    assert!(offset <= file_len as u64, "{context}: offset {offset} past the file: {err}");
}

#[test]
fn truncated_fixtures_are_errors_naming_a_box() {
    for path in mp4_fixtures() {
        let file = read_fixture(&path);
        let full = Mp4Demuxer::new(file.clone()).expect("fixture parses");
        let full_count = full.tracks()[0].sample_count;
        let box_ends: Vec<usize> = top_level_boxes(&file).iter().map(|b| b.2).collect();
        // Every length through the boxes before the media data, then a spread through the rest.
        for len in (0..2048).chain((2048..file.len()).step_by(97)) {
            let context = format!("{} cut to {len} bytes", path.display());
            match Mp4Demuxer::new(file.slice(..len)) {
                Err(err) => assert_located(&err, len, &context),
                // Only a cut between top-level boxes can leave a well-formed file: e.g. the
                // fragmented fixture without its last fragments.
                Ok(demuxer) => {
                    assert!(box_ends.contains(&len), "{context}: accepted");
                    assert!(demuxer.tracks()[0].sample_count < full_count, "{context}");
                }
            }
        }
    }
}

/// Boxes the demuxer reads to their last byte: any cut inside them must be an error there.
const FULLY_READ: [&[u8; 4]; 12] =
    [b"mdhd", b"elst", b"stts", b"ctts", b"stsc", b"stsz", b"stco", b"stss", b"trex", b"tfhd", b"tfdt", b"trun"];
const CONTAINERS: [&[u8; 4]; 9] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf"];
/// Boxes the demuxer names with their index among siblings of the same type.
const INDEXED: [&[u8; 4]; 5] = [b"trak", b"moof", b"traf", b"trun", b"trex"];

/// A box found by [`walk`]: its path as the demuxer names it, and the `(start, end)` of it and
/// of each of its ancestors, outermost first.
struct Located {
    path: String,
    box_type: [u8; 4],
    chain: Vec<(usize, usize)>,
}

fn walk(file: &[u8], start: usize, end: usize, parent: &str, chain: &[(usize, usize)], out: &mut Vec<Located>) {
    let mut seen: Vec<[u8; 4]> = Vec::new();
    let mut pos = start;
    while pos + 8 <= end {
        let size = u32::from_be_bytes(file[pos..pos + 4].try_into().expect("4 bytes")) as usize;
        assert!(size >= 8, "fixture boxes have 32-bit sizes");
        let box_type: [u8; 4] = file[pos + 4..pos + 8].try_into().expect("4 bytes");
        let name = String::from_utf8_lossy(&box_type).into_owned();
        let name = if INDEXED.contains(&&box_type) {
            format!("{name}[{}]", seen.iter().filter(|t| **t == box_type).count())
        } else {
            name
        };
        seen.push(box_type);
        let path = if parent.is_empty() { name } else { format!("{parent}.{name}") };
        let mut own_chain = chain.to_vec();
        own_chain.push((pos, pos + size));
        if CONTAINERS.contains(&&box_type) {
            walk(file, pos + 8, pos + size, &path, &own_chain, out);
        }
        out.push(Located { path, box_type, chain: own_chain });
        pos += size;
    }
}

/// `file` with the payload of the last box in `chain` cut to `keep` bytes, and the sizes of
/// that box and its ancestors reduced to match.
fn cut_box(file: &[u8], chain: &[(usize, usize)], keep: usize) -> Vec<u8> {
    let &(start, end) = chain.last().expect("a box");
    let removed = end - (start + 8 + keep);
    let mut out = [&file[..start + 8 + keep], &file[end..]].concat();
    for &(box_start, box_end) in chain {
        let size = (box_end - box_start - removed) as u32;
        out[box_start..box_start + 4].copy_from_slice(&size.to_be_bytes());
    }
    out
}

#[test]
fn every_table_box_cut_short_is_an_error_naming_that_box() {
    let mut cases = 0;
    for path in mp4_fixtures() {
        let file = read_fixture(&path);
        let mut boxes = Vec::new();
        walk(&file, 0, file.len(), "", &[], &mut boxes);
        for located in boxes.iter().filter(|b| FULLY_READ.contains(&&b.box_type)) {
            let &(start, end) = located.chain.last().expect("a box");
            let payload_len = end - start - 8;
            let keeps = (0..payload_len.min(64)).chain((64..payload_len).step_by(37)).chain([payload_len - 1]);
            for keep in keeps {
                let damaged = cut_box(&file, &located.chain, keep);
                let context = format!("{}: {} cut to {keep} of {payload_len} bytes", path.display(), located.path);
                let err = Mp4Demuxer::new(Bytes::from(damaged)).expect_err(&context);
                assert_eq!(err.at, located.path, "{context}: {err}");
                assert!(err.offset.is_some_and(|o| o >= start as u64), "{context}: {err}");
                cases += 1;
            }
        }
    }
    assert!(cases > 1000, "only {cases} cases");
}

/// xorshift64 (Marsaglia): deterministic, so a failure reproduces.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn bit_flips_and_stomped_words_never_panic_and_errors_name_a_box() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let (mut errors, mut cases) = (0, 0);
    for path in mp4_fixtures() {
        let file = std::fs::read(&path).expect("fixture");
        // Damage lands mostly in the boxes that describe samples, where it matters.
        let metadata: Vec<(usize, usize)> = top_level_boxes(&file)
            .iter()
            .map(|&(t, start, end)| if &t == b"mdat" { (start, start + 8) } else { (start, end) })
            .collect();
        for case in 0..300 {
            let mut damaged = file.clone();
            for _ in 0..1 + rng.below(3) {
                let pos = if rng.below(8) == 0 {
                    rng.below(file.len())
                } else {
                    let (start, end) = metadata[rng.below(metadata.len())];
                    start + rng.below(end - start)
                };
                if rng.below(2) == 0 {
                    damaged[pos] ^= 1 << rng.below(8);
                } else {
                    // A whole 32-bit field (count, size, offset) set to an extreme.
                    let word = [0u32, 1, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 0xffff_fff0][rng.below(6)];
                    let at = (pos & !3).min(file.len() - 4);
                    damaged[at..at + 4].copy_from_slice(&word.to_be_bytes());
                }
            }
            cases += 1;
            let context = format!("{} case {case}", path.display());
            match Mp4Demuxer::new(Bytes::from(damaged)) {
                Err(err) => {
                    assert_located(&err, file.len(), &context);
                    errors += 1;
                }
                Ok(demuxer) => {
                    for track in demuxer.tracks() {
                        let samples = demuxer.samples(track.track_id).expect("listed track");
                        assert_eq!(samples.len() as u64, track.sample_count, "{context}");
                        assert!(track.timescale > 0, "{context}");
                    }
                }
            }
        }
    }
    assert!(errors * 4 > cases, "only {errors} of {cases} damaged files were refused");
}

// ---- one rule at a time, on synthesized files ----

/// `(start, end)` of the first box along `types`, descending from the top level.
fn find(file: &[u8], types: &[&[u8; 4]]) -> (usize, usize) {
    let (mut start, mut end) = (0, file.len());
    let mut found = (0, 0);
    for (depth, want) in types.iter().enumerate() {
        let mut pos = start;
        loop {
            let size = u32::from_be_bytes(file[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            if &file[pos + 4..pos + 8] == *want {
                found = (pos, pos + size);
                break;
            }
            pos += size;
            assert!(pos < end, "no {} at depth {depth}", String::from_utf8_lossy(*want));
        }
        (start, end) = (found.0 + 8, found.1);
    }
    found
}

const STBL: [&[u8; 4]; 5] = [b"moov", b"trak", b"mdia", b"minf", b"stbl"];

fn stbl_box(file: &[u8], leaf: &[u8; 4]) -> (usize, usize) {
    let mut path = STBL.to_vec();
    path.push(leaf);
    find(file, &path)
}

fn put_u32(file: &mut [u8], at: usize, value: u32) {
    file[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

fn progressive() -> Vec<u8> {
    // 23 samples, 3 per chunk: stsc holds (1, 3, 1) and (8, 2, 1).
    test_file::progressive(&test_file::test_samples(23, 0), &ProgressiveOptions::default())
}

fn demux_err(file: Vec<u8>) -> ParseError {
    let len = file.len();
    let err = Mp4Demuxer::new(Bytes::from(file)).expect_err("broken file");
    assert_located(&err, len, "synthesized");
    err
}

const STBL_PATH: &str = "moov.trak[0].mdia.minf.stbl";

#[test]
fn zero_timescale_is_invalid() {
    let mut file = progressive();
    let (mdhd, _) = find(&file, &[b"moov", b"trak", b"mdia", b"mdhd"]);
    put_u32(&mut file, mdhd + 20, 0);
    let err = demux_err(file);
    assert_eq!((err.at.as_str(), err.offset), ("moov.trak[0].mdia.mdhd", Some(mdhd as u64 + 20)));
    assert_eq!(err.kind, ParseErrorKind::Invalid("timescale 0".into()));
}

#[test]
fn stsc_first_chunk_going_backwards_is_invalid() {
    let mut file = progressive();
    let (stsc, _) = stbl_box(&file, b"stsc");
    let second_entry = stsc + 16 + 12;
    put_u32(&mut file, second_entry, 1);
    let err = demux_err(file);
    assert_eq!((err.at, err.offset), (format!("{STBL_PATH}.stsc"), Some(second_entry as u64)));
    assert!(err.kind.to_string().contains("does not follow"), "{}", err.kind);
}

#[test]
fn chunk_offset_table_shorter_than_stsc_needs_is_invalid() {
    let mut file = progressive();
    let (stco, _) = stbl_box(&file, b"stco");
    put_u32(&mut file, stco + 12, 7); // 8 chunks hold the 23 samples
    let err = demux_err(file);
    assert_eq!(err.at, format!("{STBL_PATH}.stco"));
    assert!(err.kind.to_string().contains("needs chunk 8"), "{}", err.kind);
}

#[test]
fn sample_past_the_end_of_the_file_is_an_error_at_its_chunk_offset() {
    let mut file = progressive();
    let len = file.len() as u32;
    let (stco, _) = stbl_box(&file, b"stco");
    let last_entry = stco + 16 + 7 * 4;
    put_u32(&mut file, last_entry, len - 3);
    let err = demux_err(file);
    assert_eq!((err.at, err.offset), (format!("{STBL_PATH}.stco"), Some(last_entry as u64)));
    assert!(err.kind.to_string().contains("past the end of the file"), "{}", err.kind);
}

#[test]
fn sample_counts_beyond_the_bytes_are_refused_before_allocating() {
    let mut file = progressive();
    let (stsz, _) = stbl_box(&file, b"stsz");
    put_u32(&mut file, stsz + 16, u32::MAX);
    let err = demux_err(file);
    assert_eq!(err.at, format!("{STBL_PATH}.stsz"));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");

    // A constant sample size backs the count with no table: the file size bounds it.
    let mut samples = test_file::test_samples(4, 0);
    samples.iter_mut().for_each(|s| s.data.resize(8, 1));
    let opts = ProgressiveOptions { constant_size: true, ..ProgressiveOptions::default() };
    let mut file = test_file::progressive(&samples, &opts);
    let (stsz, _) = stbl_box(&file, b"stsz");
    put_u32(&mut file, stsz + 16, u32::MAX);
    let err = demux_err(file);
    assert_eq!(err.at, format!("{STBL_PATH}.stsz"));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
}

#[test]
fn stts_covering_too_few_samples_and_stss_past_the_last_sample_are_invalid() {
    let mut file = progressive();
    let (stts, _) = stbl_box(&file, b"stts");
    put_u32(&mut file, stts + 16, 0); // the first run covers no sample
    assert_eq!(demux_err(file).at, format!("{STBL_PATH}.stts"));

    let mut file = progressive();
    let (_, end) = stbl_box(&file, b"stss");
    put_u32(&mut file, end - 4, 24);
    assert_eq!(demux_err(file).at, format!("{STBL_PATH}.stss"));
}

#[test]
fn a_box_larger_than_its_parent_names_itself() {
    let mut file = progressive();
    let (trak, trak_end) = find(&file, &[b"moov", b"trak"]);
    put_u32(&mut file, trak, (trak_end - trak + 1) as u32);
    let err = demux_err(file);
    assert_eq!((err.at.as_str(), err.offset), ("moov.trak", Some(trak as u64)));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
}

#[test]
fn a_file_without_moov_is_missing_it() {
    let file = mp4_box(b"ftyp", b"isom\0\0\0\0");
    let err = demux_err([file, mp4_box(b"mdat", &[0; 16])].concat());
    assert_eq!((err.at.as_str(), &err.kind), ("file", &ParseErrorKind::Missing("moov box".into())));
}

/// An init segment (ftyp + moov with mvex for track 1) followed by `moof` holding one traf.
fn with_moof(traf_children: &[u8]) -> Vec<u8> {
    let init = test_file::fragmented(&[vec![]], &FragmentOptions::default());
    let moof = mp4_box(b"moof", &[full_box(b"mfhd", 0, 0, &words(&[1])), mp4_box(b"traf", traf_children)].concat());
    [init, moof, mp4_box(b"mdat", &[7; 64])].concat()
}

const TRAF_PATH: &str = "moof[0].traf[0]";

#[test]
fn trun_count_without_per_sample_fields_is_bounded_by_the_file() {
    // Default size 1, no per-sample fields: nothing in the trun backs its count.
    let tfhd = full_box(b"tfhd", 0, 0x02_0010, &words(&[1, 1]));
    let trun = full_box(b"trun", 0, 0, &words(&[u32::MAX]));
    let err = demux_err(with_moof(&[tfhd, trun].concat()));
    assert_eq!(err.at, format!("{TRAF_PATH}.trun[0]"));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
}

#[test]
fn decode_time_overflow_is_invalid() {
    let tfhd = full_box(b"tfhd", 0, 0x02_0008, &words(&[1, 1000]));
    let trun = full_box(b"trun", 0, 0x200, &words(&[2, 0, 0]));
    let tfdt = |time: u64| full_box(b"tfdt", 1, 0, &time.to_be_bytes());
    let err = demux_err(with_moof(&[tfhd.clone(), tfdt(u64::MAX), trun.clone()].concat()));
    assert_eq!(err.at, format!("{TRAF_PATH}.tfdt"));
    let err = demux_err(with_moof(&[tfhd, tfdt(i64::MAX as u64 - 1500), trun].concat()));
    assert_eq!(err.at, format!("{TRAF_PATH}.trun[0]"));
    assert!(err.kind.to_string().contains("overflow"), "{err}");
}

#[test]
fn trun_data_before_the_file_or_past_its_end_is_an_error() {
    let tfhd = full_box(b"tfhd", 0, 0x02_0018, &words(&[1, 512, 4]));
    let run = |data_offset: i32| full_box(b"trun", 0, 0x1, &[words(&[1]), data_offset.to_be_bytes().to_vec()].concat());
    let file = with_moof(&[tfhd.clone(), run(i32::MIN)].concat());
    assert_eq!(demux_err(file).at, format!("{TRAF_PATH}.trun[0]"));
    let file = with_moof(&[tfhd, run(i32::MAX)].concat());
    let err = demux_err(file);
    assert_eq!(err.at, format!("{TRAF_PATH}.trun[0]"));
    assert!(err.kind.to_string().contains("past the end of the file"), "{err}");
}

#[test]
fn traf_for_a_track_without_trak_is_invalid() {
    let tfhd = full_box(b"tfhd", 0, 0, &words(&[9]));
    let err = demux_err(with_moof(&tfhd));
    assert_eq!(err.at, format!("{TRAF_PATH}.tfhd"));
    assert!(err.kind.to_string().contains("track_id 9"), "{err}");
    let err = demux_err(with_moof(&[]));
    assert_eq!((err.at.as_str(), &err.kind), (TRAF_PATH, &ParseErrorKind::Missing("tfhd box".into())));
}

#[test]
fn sample_description_index_out_of_range_is_invalid() {
    let tfhd = full_box(b"tfhd", 0, 0x02_0002, &words(&[1, 2]));
    assert_eq!(demux_err(with_moof(&tfhd)).at, format!("{TRAF_PATH}.tfhd"));
}

// ---- box header forms on real files ----

#[test]
fn mdat_with_a_64_bit_or_to_the_end_size_gives_the_same_samples() {
    let path = std::path::Path::new(super::tests::TESTDATA).join("h264_main_320x240_25.mp4");
    let file = read_fixture(&path);
    let reference = Mp4Demuxer::new(file.clone()).expect("fixture parses");
    let reference = reference.samples(1).expect("track 1");
    let (_, mdat, end) = *top_level_boxes(&file).last().expect("boxes");
    assert_eq!(end, file.len(), "mdat is the last box");

    let mut to_end = file.to_vec();
    put_u32(&mut to_end, mdat, 0);
    let demuxer = Mp4Demuxer::new(Bytes::from(to_end)).expect("size 0 reaches the end of the file");
    assert_eq!(demuxer.samples(1).expect("track 1"), reference);

    // largesize: 8 more header bytes, so every chunk offset moves by 8.
    let mut large = file[..mdat].to_vec();
    large.extend_from_slice(&1u32.to_be_bytes());
    large.extend_from_slice(b"mdat");
    large.extend_from_slice(&(end as u64 - mdat as u64 + 8).to_be_bytes());
    large.extend_from_slice(&file[mdat + 8..]);
    let (stco, _) = stbl_box(&large, b"stco");
    let entries = u32::from_be_bytes(large[stco + 12..stco + 16].try_into().expect("4 bytes")) as usize;
    for i in 0..entries {
        let at = stco + 16 + 4 * i;
        let offset = u32::from_be_bytes(large[at..at + 4].try_into().expect("4 bytes"));
        put_u32(&mut large, at, offset + 8);
    }
    let demuxer = Mp4Demuxer::new(Bytes::from(large)).expect("largesize mdat");
    let samples = demuxer.samples(1).expect("track 1");
    assert!(samples.iter().zip(reference).all(|(a, b)| a.data == b.data && a.dts == b.dts));
    assert_eq!(samples.len(), reference.len());
}

#[test]
fn uuid_and_unknown_boxes_are_skipped_everywhere() {
    let samples = test_file::test_samples(8, 9);
    let opts = ProgressiveOptions { moov_after_mdat: true, ..ProgressiveOptions::default() };
    let file = test_file::progressive(&samples, &opts);
    let reference = Mp4Demuxer::new(Bytes::from(file.clone())).expect("parses");
    let uuid = mp4_box(b"uuid", &[[0xab; 16].as_slice(), b"private"].concat());
    let unknown = mp4_box(b"zzzz", &[1, 2, 3]);
    // moov comes last, so growing it moves no sample data; append junk to stbl, trak and moov.
    let mut extended = [&file[..], &uuid, &unknown].concat();
    for path in [&STBL[..], &STBL[..2], &STBL[..1]] {
        let chain: Vec<(usize, usize)> = (1..=path.len()).map(|n| find(&extended, &path[..n])).collect();
        let &(_, end) = chain.last().expect("found");
        let junk = [uuid.clone(), unknown.clone()].concat();
        let mut grown = [&extended[..end], &junk, &extended[end..]].concat();
        for &(start, box_end) in &chain {
            put_u32(&mut grown, start, (box_end - start + junk.len()) as u32);
        }
        extended = grown;
    }
    let demuxer = Mp4Demuxer::new(Bytes::from(extended)).expect("junk is skipped");
    assert_eq!(demuxer.tracks(), reference.tracks());
    assert_eq!(demuxer.samples(1).expect("track 1"), reference.samples(1).expect("track 1"));
}

#[test]
fn constant_sample_size_count_beyond_what_the_file_holds_is_refused_before_allocating() {
    // Fewer samples than the file has bytes (the old bound), but 8 bytes each: more data
    // than the whole file.
    let mut samples = test_file::test_samples(4, 0);
    samples.iter_mut().for_each(|s| s.data.resize(8, 1));
    let opts = ProgressiveOptions { constant_size: true, ..ProgressiveOptions::default() };
    let mut file = test_file::progressive(&samples, &opts);
    let (stsz, _) = stbl_box(&file, b"stsz");
    let count = (file.len() / 2) as u32;
    put_u32(&mut file, stsz + 16, count);
    let err = demux_err(file);
    assert_eq!(err.at, format!("{STBL_PATH}.stsz"));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
}

#[test]
fn trun_count_times_default_size_beyond_the_file_is_refused_before_allocating() {
    // Default size 512, no per-sample fields: 200 samples are fewer than the file's bytes
    // but need 100 KiB of data.
    let tfhd = full_box(b"tfhd", 0, 0x02_0010, &words(&[1, 512]));
    let trun = full_box(b"trun", 0, 0, &words(&[200]));
    let file = with_moof(&[tfhd, trun].concat());
    assert!(file.len() > 200 && file.len() < 200 * 512);
    let err = demux_err(file);
    assert_eq!(err.at, format!("{TRAF_PATH}.trun[0]"));
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
}

#[test]
fn composition_offset_past_the_largest_time_is_an_error_naming_the_trun() {
    // dts + duration fits; dts + cts_offset + duration does not (Sample::pts overflowed).
    let tfhd = full_box(b"tfhd", 0, 0x02_0008, &words(&[1, 1000]));
    let tfdt = full_box(b"tfdt", 1, 0, &(i64::MAX as u64 - 1500).to_be_bytes());
    let trun = full_box(b"trun", 0, 0xa00, &words(&[1, 0, 0x7fff_ffff]));
    let err = demux_err(with_moof(&[tfhd, tfdt, trun].concat()));
    assert_eq!(err.at, format!("{TRAF_PATH}.trun[0]"));
    assert!(err.kind.to_string().contains("largest time"), "{err}");
}

#[test]
fn samples_are_borrowed_not_cloned_per_call() {
    let demuxer = Mp4Demuxer::new(Bytes::from(progressive())).expect("test file parses");
    let (first, second) = (demuxer.samples(1).expect("track 1"), demuxer.samples(1).expect("track 1"));
    assert!(!first.is_empty());
    assert!(std::ptr::eq(first, second), "the same table, not a copy");
}
