//! Recording's decisions, sans-IO: which time ranges are protected (by an operator, or around
//! an NG verdict) and which segments a retention pass or a full disk deletes. The service layer
//! owns the files, the index and the clock; it asks these functions what to do and does it.

mod protected;
mod retention;
#[cfg(test)]
mod retention_tests;

pub use protected::ProtectedRanges;
pub use retention::{plan_camera, plan_space, Budget, CameraPlan, CameraSegments, Segment, SpacePlan};
