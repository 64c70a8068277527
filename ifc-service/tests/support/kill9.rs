//! What the `kill -9` test (`tests/recorder_kill9.rs`) and its child process
//! (`examples/kill9_recorder.rs`) agree on: where the child's data dir is passed, and the
//! recording config both use.

use std::path::Path;

use ifc_service::config::{CameraRecording, ServeConfig};

/// The environment variable holding the child's data dir.
pub const CHILD_DIR: &str = "IFC_KILL9_CHILD_DATA_DIR";

pub fn config(data_dir: &Path, cameras: &[String]) -> ServeConfig {
    let mut config = ServeConfig { data_dir: data_dir.to_owned(), ..ServeConfig::default() };
    config.recording.cameras = cameras
        .iter()
        .map(|id| CameraRecording { camera_id: id.clone(), segment_s: 1, max_age_s: None, max_bytes: Some(600_000) })
        .collect();
    config.recording.min_free_bytes = 0;
    // Retention every second with a small budget: kills land inside deletions too.
    config.recording.retention_interval_s = 1;
    config
}


/// The camera ids the parent wrote for the child.
pub fn read_cameras(data_dir: &Path) -> Vec<String> {
    std::fs::read_to_string(data_dir.join("cameras.txt")).expect("camera ids").lines().map(str::to_owned).collect()
}
