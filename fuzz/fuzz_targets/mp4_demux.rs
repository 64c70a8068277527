//! The MP4 demuxer on arbitrary bytes. Invariants: sample data lies inside the input; the
//! number of samples equals the track's sample_count; timestamps never overflow.
#![no_main]

use bytes::Bytes;
use ifc::mp4::demux::Mp4Demuxer;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let file = Bytes::copy_from_slice(data);
    let Ok(demuxer) = Mp4Demuxer::new(file) else { return };
    for track in demuxer.tracks() {
        let _ = track.decoder_config();
        if let Ok(samples) = demuxer.samples(track.track_id) {
            assert_eq!(samples.len() as u64, track.sample_count);
            let mut total = 0usize;
            for s in &samples {
                total = total.saturating_add(s.data.len());
                let _ = s.pts();
            }
            // Samples may share bytes only in a broken file, but none can exceed the input.
            assert!(samples.iter().all(|s| s.data.len() <= data.len()));
            let _ = total;
        }
    }
});
