//! Recording's decisions, sans-IO: which time ranges are protected (by an operator, or around
//! an NG verdict), which segments a retention pass or a full disk deletes, and how a segment
//! directory is reconciled with the index after a crash. The service layer
//! owns the files, the index and the clock; it asks these functions what to do and does it.

mod protected;
mod recovery;
mod retention;
mod segment_timing;
mod segment_writer;
#[cfg(test)]
mod retention_tests;

pub use protected::ProtectedRanges;
pub use recovery::{partial_file_name, plan_recovery, segment_file_name, FoundFile, IndexedSegment, RecoveryPlan};
pub use retention::{plan_camera, plan_space, Budget, CameraPlan, CameraSegments, Segment, SpacePlan};
pub use segment_timing::{decode_times, SampleTiming, SegmentTiming, TimingError};
pub use segment_writer::{
    hex_lower, CloseReason, FinishedSegment, SegmentError, SegmentWriter, SegmentWriterOptions, SegmentWriterStats, TIMESCALE_90K,
};
