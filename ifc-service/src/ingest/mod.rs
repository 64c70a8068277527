//! Streams cameras push to the server: RTSP publish ([`rtsp`]) and WHIP ([`whip`]), beside
//! the RTSP pull sessions of `rtsp` cameras. Both feed a `push` camera's `MediaHub` feed.
//!
//! ```text
//! publisher ─TCP─▶ accept (max_sessions) ─▶ connection task (tokio): MessageReader
//!   ─request─▶ rtsp::server::PublishSession (sans-IO, libifc) ─response─▶ publisher
//!   ANNOUNCE: camera by name (`push`, Digest credentials) ─▶ MediaHub feed's publisher slot
//!   RTP ($ interleaved, or UDP datagrams on the session's server ports)
//!     ─▶ live::RtpToItems ─LiveItem─▶ FanoutPublisher ─▶ inspections (StreamSource::Feed), …
//! ```
//!
//! Nothing of a refused session (unknown camera, wrong credentials, busy camera) reaches a
//! feed: the publisher slot is taken only after ANNOUNCE is authenticated, and RTP is taken
//! only after RECORD.

pub mod rtsp;
mod udp;
pub mod whip;

pub use rtsp::start_rtsp;
