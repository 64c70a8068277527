//! `distribution`: live view for browsers and players, from each camera's feed: LL-HLS
//! (`/api/v1/cameras/{id}/live/index.m3u8`), fMP4 over WebSocket for Media Source Extensions
//! (`/api/v1/cameras/{id}/live.ws`), the verdict overlays (`/api/v1/cameras/{id}/overlays`)
//! and the player page (`/player`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DistributionConfig {
    /// Longest part (LL-HLS `EXT-X-PART`, one WebSocket message), milliseconds: the latency a
    /// viewer sees is about three of them. 100 to 1000.
    pub part_target_ms: u32,
    /// A segment ends at the first key frame past this, milliseconds (so segments are as long
    /// as the camera's key frame interval, when that is longer).
    pub segment_target_ms: u32,
    /// Complete segments kept in memory per camera (the live playlist's window).
    pub window_segments: usize,
    /// A camera nobody has watched for this long stops being packaged (and a pull camera stops
    /// being ingested if nothing else uses it), seconds.
    pub idle_stop_s: u64,
    /// WebSocket and WebRTC (WHEP) viewers per camera; more are refused (429).
    pub max_viewers_per_camera: usize,
    /// WebSocket and WebRTC viewers in all.
    pub max_viewers_total: usize,
    /// Egress to WebSocket and WebRTC viewers in all, kbit/s: a viewer that would take the
    /// sum of (viewers × their camera's bit rate) over it is refused (429). 0: no limit.
    pub max_egress_kbps: u64,
    /// A WebSocket viewer that has not taken a message for this long is dropped, milliseconds
    /// (it never slows the camera or other viewers: parts it misses are not kept for it).
    pub send_timeout_ms: u64,
}

impl Default for DistributionConfig {
    fn default() -> Self {
        Self {
            part_target_ms: 200,
            segment_target_ms: 2000,
            window_segments: 6,
            idle_stop_s: 30,
            max_viewers_per_camera: 32,
            max_viewers_total: 256,
            max_egress_kbps: 0,
            send_timeout_ms: 5000,
        }
    }
}

impl DistributionConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |field: &str, message: &str| ConfigError::Invalid { field: format!("distribution.{field}"), message: message.into() };
        if !(100..=1000).contains(&self.part_target_ms) {
            return Err(invalid("part_target_ms", "100 to 1000"));
        }
        if self.segment_target_ms < self.part_target_ms || self.segment_target_ms > 60_000 {
            return Err(invalid("segment_target_ms", "at least part_target_ms, at most 60000"));
        }
        if !(3..=100).contains(&self.window_segments) {
            return Err(invalid("window_segments", "3 to 100"));
        }
        Ok(())
    }
}
