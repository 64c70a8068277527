//! [`MediaHub`]: each camera's one live feed ([`ifc::live::Fanout`]), shared by everything that
//! consumes it (inspections, the recorder, later the distributor) and filled by whatever
//! ingests it (an RTSP pull session, an RTSP publisher, a WHIP session). A camera's media
//! enters the process once; consumers share its `Bytes`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use ifc::live::Fanout;

/// Items kept per feed for consumers that fall behind: at 30 fps, about 17 s of pictures
/// (plus the odd configuration). A consumer further behind is broken and resumes at a key frame.
pub const FEED_CAPACITY_ITEMS: usize = 512;

/// See the module docs. Keyed by camera id.
#[derive(Debug, Default)]
pub struct MediaHub {
    feeds: Mutex<HashMap<String, Fanout>>,
}

impl MediaHub {
    /// The feed of `camera_id`, created on first use.
    pub fn feed(&self, camera_id: &str) -> Fanout {
        let mut feeds = self.feeds.lock().unwrap_or_else(PoisonError::into_inner);
        feeds.entry(camera_id.to_owned()).or_insert_with(|| Fanout::new(FEED_CAPACITY_ITEMS)).clone()
    }

    /// Closes and forgets the feed of a deleted camera: its consumers end.
    pub fn remove(&self, camera_id: &str) {
        let removed = self.feeds.lock().unwrap_or_else(PoisonError::into_inner).remove(camera_id);
        if let Some(feed) = removed {
            feed.close();
        }
    }
}
