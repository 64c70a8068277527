//! The MP4 demuxer (progressive and fragmented) on arbitrary bytes. Invariants: every sample's
//! data is a slice of the input; decode times strictly follow each other by the samples'
//! durations within a fragment-free table (and never go backwards); pts + duration fits
//! (`Sample::checked_end`); samples handed out twice are the same table; a track's sample
//! count is the number of samples it holds, and that number is bounded by the input size.
#![no_main]

use bytes::Bytes;
use ifc::mp4::demux::Mp4Demuxer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Bytes::copy_from_slice(data);
    let range = file.as_ptr() as usize..file.as_ptr() as usize + file.len();
    let Ok(demuxer) = Mp4Demuxer::new(file.clone()) else { return };
    let mut total_samples = 0u64;
    for track in demuxer.tracks() {
        let _ = track.decoder_config();
        assert!(track.timescale > 0);
        let samples = demuxer.samples(track.track_id).expect("a listed track has samples");
        assert!(std::ptr::eq(samples, demuxer.samples(track.track_id).expect("listed")));
        let counted = usize::try_from(track.sample_count).expect("count fits");
        assert_eq!(samples.len(), counted, "track {}: sample_count", track.track_id);
        total_samples += track.sample_count;
        for pair in samples.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            if !track.fragmented {
                assert_eq!(Some(b.dts), a.dts.checked_add(i64::from(a.duration)), "stts sums");
            }
        }
        for s in samples {
            assert!(s.checked_end().is_some(), "pts + duration fits");
            if !s.data.is_empty() {
                let start = s.data.as_ptr() as usize;
                assert!(range.contains(&start) && start + s.data.len() <= range.end, "data inside the input");
            }
        }
    }
    // Every sample is backed by at least one byte of its own (SampleBudget).
    assert!(total_samples <= data.len() as u64);
});
