//! Crash recovery of a camera's segment directory, sans-IO: what to do with each file and index
//! row found at start.
//!
//! The write protocol this reconciles (the recorder's side):
//! 1. write the segment to `ID.m4s.part`, fsync it;
//! 2. rename it to `ID.m4s`, fsync the directory;
//! 3. insert the index row (id, bytes, checksum): from here on the segment exists.
//!
//! and deletion: mark the row garbage, delete the file, fsync the directory, delete the row.
//!
//! A crash can stop either protocol between any two steps. So at start: a `.part` file is an
//! unfinished segment (lost by design: at most one per camera); a finished file without a row
//! was never committed (deleted: its row would have carried its times and checksum); a garbage
//! row's file, if still there, is deleted and then the row. A live row whose file is missing or
//! has another size breaks the protocol (a disk or an operator did it): reported, not hidden.

use std::collections::HashMap;

/// The file name of segment `id` once finished.
pub fn segment_file_name(id: i64) -> String {
    format!("{id}.m4s")
}

/// The file name of segment `id` while it is written.
pub fn partial_file_name(id: i64) -> String {
    format!("{id}.m4s.part")
}

/// A file found in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundFile {
    pub name: String,
    pub bytes: u64,
}

/// An index row of this camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexedSegment {
    pub id: i64,
    pub bytes: u64,
    /// Marked for deletion (step one of deleting).
    pub garbage: bool,
}

/// What recovery does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryPlan {
    /// Files to delete (unfinished, uncommitted, garbage, or not ours).
    pub delete_files: Vec<String>,
    /// Index rows to delete once the files are gone (garbage rows).
    pub delete_rows: Vec<i64>,
    /// Live rows whose file is missing: the protocol was broken outside the recorder.
    pub missing: Vec<i64>,
    /// Live rows whose file has another size than indexed: `(id, indexed, found)`.
    pub size_mismatch: Vec<(i64, u64, u64)>,
    /// Unfinished segments dropped (`.part` files), for the log and the counters.
    pub unfinished: u64,
}

enum Kind {
    Finished(i64),
    Partial,
    Foreign,
}

fn classify(name: &str) -> Kind {
    let id = |stem: &str| stem.parse::<i64>().ok().filter(|id| segment_file_name(*id) == format!("{stem}.m4s"));
    if let Some(stem) = name.strip_suffix(".m4s.part") {
        return id(stem).map_or(Kind::Foreign, |_| Kind::Partial);
    }
    if let Some(stem) = name.strip_suffix(".m4s") {
        return id(stem).map_or(Kind::Foreign, Kind::Finished);
    }
    Kind::Foreign
}

/// Reconciles `files` (the directory's entries) with `rows` (the camera's index).
/// `keep_foreign`: leave files that are not segment files alone (the directory is shared).
pub fn plan_recovery(files: &[FoundFile], rows: &[IndexedSegment], keep_foreign: bool) -> RecoveryPlan {
    let rows_by_id: HashMap<i64, &IndexedSegment> = rows.iter().map(|r| (r.id, r)).collect();
    let mut plan = RecoveryPlan::default();
    let mut present: HashMap<i64, u64> = HashMap::new();
    for f in files {
        match classify(&f.name) {
            Kind::Partial => {
                plan.unfinished += 1;
                plan.delete_files.push(f.name.clone());
            }
            Kind::Finished(id) => match rows_by_id.get(&id) {
                Some(row) if !row.garbage => {
                    present.insert(id, f.bytes);
                }
                // Garbage, or never committed.
                _ => plan.delete_files.push(f.name.clone()),
            },
            Kind::Foreign if !keep_foreign => plan.delete_files.push(f.name.clone()),
            Kind::Foreign => {}
        }
    }
    for row in rows {
        if row.garbage {
            plan.delete_rows.push(row.id);
            continue;
        }
        match present.get(&row.id) {
            None => plan.missing.push(row.id),
            Some(&bytes) if bytes != row.bytes => plan.size_mismatch.push((row.id, row.bytes, bytes)),
            Some(_) => {}
        }
    }
    plan.delete_files.sort();
    plan.delete_rows.sort_unstable();
    plan.missing.sort_unstable();
    plan.size_mismatch.sort_unstable();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, bytes: u64) -> FoundFile {
        FoundFile { name: name.into(), bytes }
    }

    fn row(id: i64, bytes: u64, garbage: bool) -> IndexedSegment {
        IndexedSegment { id, bytes, garbage }
    }

    /// The write protocol stopped after each step, with committed segment 1 beside it: only the
    /// segment being written is lost, and nothing is left over.
    #[test]
    fn a_crash_at_each_write_step_loses_only_the_unfinished_segment() {
        let committed = (file("1.m4s", 100), row(1, 100, false));
        // Stopped during or after step 1 (the part file), after step 2 (renamed, no row).
        for (files, rows, unfinished) in [
            (vec![committed.0.clone(), file("2.m4s.part", 40)], vec![committed.1], 1),
            (vec![committed.0.clone(), file("2.m4s", 120)], vec![committed.1], 0),
        ] {
            let plan = plan_recovery(&files, &rows, false);
            assert_eq!(plan.unfinished, unfinished);
            assert_eq!(plan.delete_files.len(), 1, "{plan:?}");
            assert!(plan.delete_files[0].starts_with("2."), "{plan:?}");
            assert!(plan.missing.is_empty() && plan.size_mismatch.is_empty() && plan.delete_rows.is_empty());
        }
        // After step 3: both are segments, nothing to do.
        let files = [committed.0.clone(), file("2.m4s", 120)];
        let plan = plan_recovery(&files, &[committed.1, row(2, 120, false)], false);
        assert_eq!(plan, RecoveryPlan::default());
    }

    /// The delete protocol stopped after each step.
    #[test]
    fn a_crash_at_each_delete_step_finishes_the_deletion() {
        // Marked garbage, file still there.
        let plan = plan_recovery(&[file("7.m4s", 10)], &[row(7, 10, true)], false);
        assert_eq!((plan.delete_files, plan.delete_rows), (vec!["7.m4s".to_owned()], vec![7]));
        // File gone, row still there.
        let plan = plan_recovery(&[], &[row(7, 10, true)], false);
        assert_eq!((plan.delete_files.len(), plan.delete_rows, plan.missing.len()), (0, vec![7], 0));
    }

    #[test]
    fn broken_protocol_is_reported() {
        let plan = plan_recovery(&[file("3.m4s", 99)], &[row(3, 100, false), row(4, 5, false)], false);
        assert_eq!(plan.missing, [4]);
        assert_eq!(plan.size_mismatch, [(3, 100, 99)]);
        assert!(plan.delete_files.is_empty());
    }

    #[test]
    fn names_that_only_look_like_segments_are_foreign() {
        let files = [file("01.m4s", 1), file("x.m4s", 1), file("5.m4s.part.bak", 1), file("notes.txt", 1)];
        let plan = plan_recovery(&files, &[row(1, 1, false)], true);
        assert!(plan.delete_files.is_empty(), "{plan:?}");
        assert_eq!(plan.missing, [1], "01.m4s is not segment 1's file");
        let plan = plan_recovery(&files, &[], false);
        assert_eq!(plan.delete_files.len(), 4);
    }
}
