//! Retention: which recorded segments go. Two passes, both pure functions of what they are
//! given:
//! - [`plan_camera`], per camera and budget (age and bytes): segments past the age go, then the
//!   oldest until the camera fits its byte budget;
//! - [`plan_space`], when the disk is full: the oldest segments of any camera until enough
//!   bytes are free.
//!
//! Neither ever deletes a segment that overlaps a protected range or is still being written.
//! When only protected data is left and a budget still does not hold, the plan says so; the
//! caller raises the alarm and stops recording that camera rather than delete evidence.

use super::ProtectedRanges;

/// One segment of the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub id: i64,
    /// Wall time of its first and after its last frame, Unix ms: `[start, end)`.
    pub start_ms: i64,
    pub end_ms: i64,
    pub bytes: u64,
    /// False while the recorder is still writing it.
    pub finished: bool,
}

/// A camera's budget; `None` is unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Budget {
    pub max_age_ms: Option<i64>,
    pub max_bytes: Option<u64>,
}

/// What a retention pass does for one camera.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraPlan {
    /// Segment ids to delete, oldest first.
    pub delete: Vec<i64>,
    /// Bytes left after the deletions.
    pub bytes_after: u64,
    /// The byte budget does not hold even after every deletable segment went: what is left is
    /// protected or unfinished. Recording must stop with an alarm.
    pub over_budget: bool,
}

/// Whether `s` may be deleted at all.
fn deletable(s: &Segment, protected: &ProtectedRanges) -> bool {
    s.finished && !protected.overlaps(s.start_ms, s.end_ms)
}

/// Segments in deletion order: oldest start first, ties by id (stable across passes).
fn oldest_first<'a>(segments: impl IntoIterator<Item = &'a Segment>) -> Vec<&'a Segment> {
    let mut v: Vec<&Segment> = segments.into_iter().collect();
    v.sort_by_key(|s| (s.start_ms, s.id));
    v
}

/// The retention pass of one camera at `now_ms`.
pub fn plan_camera(segments: &[Segment], protected: &ProtectedRanges, budget: Budget, now_ms: i64) -> CameraPlan {
    let mut bytes: u64 = segments.iter().map(|s| s.bytes).fold(0, u64::saturating_add);
    let mut delete = Vec::new();
    let cutoff = budget.max_age_ms.map(|age| now_ms.saturating_sub(age.max(0)));
    for s in oldest_first(segments) {
        if !deletable(s, protected) {
            continue;
        }
        // Past the age (its last frame is older than the cutoff), or still over the bytes.
        let too_old = cutoff.is_some_and(|c| s.end_ms <= c);
        let too_big = budget.max_bytes.is_some_and(|max| bytes > max);
        if too_old || too_big {
            delete.push(s.id);
            bytes = bytes.saturating_sub(s.bytes);
        }
    }
    let over_budget = budget.max_bytes.is_some_and(|max| bytes > max);
    CameraPlan { delete, bytes_after: bytes, over_budget }
}

/// One camera's segments and protections, for [`plan_space`].
#[derive(Debug, Clone, Copy)]
pub struct CameraSegments<'a> {
    pub segments: &'a [Segment],
    pub protected: &'a ProtectedRanges,
}

/// What to delete to free disk space.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpacePlan {
    /// `(camera index in the input, segment id)`, oldest first.
    pub delete: Vec<(usize, i64)>,
    pub freed_bytes: u64,
    /// `freed_bytes >= needed`; false: only protected or unfinished data is left to delete.
    pub satisfied: bool,
}

/// The oldest deletable segments of any camera until `needed_bytes` are free.
pub fn plan_space(cameras: &[CameraSegments<'_>], needed_bytes: u64) -> SpacePlan {
    let mut candidates: Vec<(usize, &Segment)> = cameras
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.segments.iter().filter(|s| deletable(s, c.protected)).map(move |s| (i, s)))
        .collect();
    candidates.sort_by_key(|(i, s)| (s.start_ms, *i, s.id));
    let mut plan = SpacePlan::default();
    for (i, s) in candidates {
        if plan.freed_bytes >= needed_bytes {
            break;
        }
        plan.delete.push((i, s.id));
        plan.freed_bytes = plan.freed_bytes.saturating_add(s.bytes);
    }
    plan.satisfied = plan.freed_bytes >= needed_bytes;
    plan
}
