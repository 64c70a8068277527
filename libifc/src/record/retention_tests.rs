//! Retention against a model, over thousands of random steps: cameras record, operators protect
//! and unprotect ranges, NG verdicts protect windows, the clock advances, retention passes and
//! disk-full passes run and their plans are applied. After every pass the model checks the
//! plan: nothing protected or unfinished deleted, budgets held whenever deletable data is left,
//! and nothing deleted that did not have to go.

use super::*;
use crate::test_rng::XorShift;

const CAMERAS: usize = 3;

struct Camera {
    segments: Vec<Segment>,
    /// Protection records (operator ranges and NG windows); unprotecting removes one.
    protections: Vec<(i64, i64)>,
    budget: Budget,
    /// Where the next segment starts.
    next_start_ms: i64,
}

impl Camera {
    fn protected(&self) -> ProtectedRanges {
        ProtectedRanges::from_ranges(self.protections.iter().copied())
    }
}

fn key(s: &Segment) -> (i64, i64) {
    (s.start_ms, s.id)
}

fn is_deletable(s: &Segment, protected: &ProtectedRanges) -> bool {
    s.finished && !protected.overlaps(s.start_ms, s.end_ms)
}

/// Checks one camera's plan against the model and applies it.
fn check_and_apply_camera(cam: &mut Camera, now_ms: i64, step: usize) {
    let protected = cam.protected();
    let plan = plan_camera(&cam.segments, &protected, cam.budget, now_ms);
    let cutoff = cam.budget.max_age_ms.map(|a| now_ms - a);
    let too_old = |s: &Segment| cutoff.is_some_and(|c| s.end_ms <= c);
    let (deleted, kept): (Vec<Segment>, Vec<Segment>) = cam.segments.iter().partition(|s| plan.delete.contains(&s.id));
    assert_eq!(deleted.len(), plan.delete.len(), "step {step}: plan names unknown or repeated ids");
    for s in &deleted {
        assert!(s.finished, "step {step}: deleted unfinished segment {s:?}");
        assert!(!protected.overlaps(s.start_ms, s.end_ms), "step {step}: deleted protected segment {s:?}");
    }
    let kept_bytes: u64 = kept.iter().map(|s| s.bytes).sum();
    assert_eq!(plan.bytes_after, kept_bytes, "step {step}");
    // Age: nothing deletable past the age is kept.
    for s in kept.iter().filter(|s| is_deletable(s, &protected)) {
        assert!(!too_old(s), "step {step}: kept {s:?} past the age (cutoff {cutoff:?})");
    }
    // Bytes: over the budget only when nothing deletable is left, and then said.
    let over = cam.budget.max_bytes.is_some_and(|m| kept_bytes > m);
    assert_eq!(plan.over_budget, over, "step {step}");
    if over {
        assert!(kept.iter().all(|s| !is_deletable(s, &protected)), "step {step}: over budget with deletable data left");
    }
    // Minimal: deletions beyond the age were needed for the bytes, and were the oldest.
    let for_bytes: Vec<&Segment> = deleted.iter().filter(|s| !too_old(s)).collect();
    if let Some(youngest) = for_bytes.iter().max_by_key(|s| key(s)) {
        let max = cam.budget.max_bytes.expect("bytes deletions need a byte budget");
        assert!(kept_bytes + youngest.bytes > max, "step {step}: {youngest:?} did not have to go");
        for s in kept.iter().filter(|s| is_deletable(s, &protected)) {
            assert!(key(s) > key(youngest), "step {step}: kept older {s:?} but deleted {youngest:?}");
        }
    }
    cam.segments = kept;
}

fn check_and_apply_space(cams: &mut [Camera], needed: u64, step: usize) {
    let protected: Vec<ProtectedRanges> = cams.iter().map(Camera::protected).collect();
    let views: Vec<CameraSegments<'_>> =
        cams.iter().zip(&protected).map(|(c, p)| CameraSegments { segments: &c.segments, protected: p }).collect();
    let plan = plan_space(&views, needed);
    let mut deleted = Vec::new();
    for &(i, id) in &plan.delete {
        let s = *cams[i].segments.iter().find(|s| s.id == id).expect("a known segment");
        assert!(is_deletable(&s, &protected[i]), "step {step}: disk-full pass deleted {s:?}");
        deleted.push(s);
    }
    let freed: u64 = deleted.iter().map(|s| s.bytes).sum();
    assert_eq!(plan.freed_bytes, freed, "step {step}");
    assert_eq!(plan.satisfied, freed >= needed, "step {step}");
    for (i, cam) in cams.iter_mut().enumerate() {
        cam.segments.retain(|s| !plan.delete.contains(&(i, s.id)));
    }
    let youngest = deleted.iter().map(|s| s.start_ms).max();
    for (cam, p) in cams.iter().zip(&protected) {
        for s in cam.segments.iter().filter(|s| is_deletable(s, p)) {
            // Unsatisfied: everything deletable went. Satisfied: only the oldest went.
            assert!(plan.satisfied, "step {step}: unsatisfied but {s:?} is left");
            assert!(youngest.is_none_or(|y| s.start_ms >= y), "step {step}: kept older {s:?}");
        }
    }
    if let Some(last) = deleted.last() {
        assert!(freed - last.bytes < needed, "step {step}: {last:?} did not have to go");
    }
}

#[test]
fn retention_never_deletes_protected_data_and_holds_budgets_whenever_it_can() {
    for seed in 1..=8u64 {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15 ^ seed);
        let mut now_ms: i64 = 1_000_000;
        let mut next_id = 0;
        let mut cams: Vec<Camera> = (0..CAMERAS)
            .map(|c| Camera {
                segments: Vec::new(),
                protections: Vec::new(),
                budget: Budget {
                    max_age_ms: (c != 1).then(|| 20_000 + rng.below(60_000) as i64),
                    max_bytes: (c != 2).then(|| 2_000 + rng.below(20_000) as u64),
                },
                next_start_ms: now_ms,
            })
            .collect();
        for step in 0..3_000 {
            let c = rng.below(CAMERAS);
            match rng.below(100) {
                // Record: the previous segment finishes, a new one starts at its end.
                0..=44 => {
                    let cam = &mut cams[c];
                    if let Some(last) = cam.segments.last_mut() {
                        last.finished = true;
                    }
                    let len = 500 + rng.below(4_000) as i64;
                    let start = cam.next_start_ms.max(now_ms - 10_000);
                    next_id += 1;
                    cam.segments.push(Segment {
                        id: next_id,
                        start_ms: start,
                        end_ms: start + len,
                        bytes: 50 + rng.below(2_000) as u64,
                        finished: false,
                    });
                    cam.next_start_ms = start + len;
                    now_ms = now_ms.max(start + len);
                }
                // An operator protects a range somewhere in the recent past.
                45..=52 => {
                    let start = now_ms - rng.below(120_000) as i64;
                    cams[c].protections.push((start, start + rng.below(15_000) as i64));
                }
                // An NG verdict protects its window.
                53..=60 => {
                    let at = now_ms - rng.below(5_000) as i64;
                    cams[c].protections.push(ProtectedRanges::ng_window(at, 2_000, 3_000));
                }
                // Unprotect one record.
                61..=66 => {
                    let n = cams[c].protections.len();
                    if n > 0 {
                        cams[c].protections.swap_remove(rng.below(n));
                    }
                }
                67..=79 => now_ms += rng.below(10_000) as i64,
                80..=94 => check_and_apply_camera(&mut cams[c], now_ms, step),
                _ => check_and_apply_space(&mut cams, rng.below(8_000) as u64, step),
            }
        }
    }
}

#[test]
fn a_full_disk_with_only_protected_data_left_is_unsatisfied_and_deletes_nothing_protected() {
    let segments = [
        Segment { id: 1, start_ms: 0, end_ms: 10, bytes: 100, finished: true },
        Segment { id: 2, start_ms: 10, end_ms: 20, bytes: 100, finished: true },
        Segment { id: 3, start_ms: 20, end_ms: 30, bytes: 100, finished: false },
    ];
    let protected = ProtectedRanges::from_ranges([(5, 6)]);
    let plan = plan_space(&[CameraSegments { segments: &segments, protected: &protected }], 250);
    assert_eq!(plan, SpacePlan { delete: vec![(0, 2)], freed_bytes: 100, satisfied: false });
    let plan = plan_camera(&segments, &protected, Budget { max_age_ms: None, max_bytes: Some(150) }, 100);
    assert_eq!(plan, CameraPlan { delete: vec![2], bytes_after: 200, over_budget: true });
}
