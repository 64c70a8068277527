//! RTP for one H.264 or H.265 video stream, sans-IO: the receive core below, and
//! [`Packetizer`] for sending.
//!
//! The RTSP client (the I/O adapter) reads packets from its transport (TCP interleaved
//! frames, RFC 2326 §10.12; or UDP datagrams), and for each one:
//!
//! ```text
//! bytes ─▶ RtpPacket::parse (RFC 3550 §5.1; payload stays a slice of the bytes)
//!       ─▶ Depacketizer::push (RFC 6184 / RFC 7798 payloads, sequence and loss bookkeeping)
//!       ─▶ Depacketizer::pull ─▶ AccessUnitRtp (NAL units of one picture, 90 kHz timestamps)
//! ```
//!
//! Nothing here reads a clock or a socket. Errors are per packet: after one, the
//! depacketizer stays usable and counts what it dropped in [`DepacketizerStats`].
//!
//! Supported: H.264 non-interleaved mode (single NAL unit, STAP-A, FU-A) and H.265 with
//! `sprop-max-don-diff` = 0 (single NAL unit, AP, FU; no DONL fields). See [`Depacketizer`]
//! for how access units are delimited and what happens on loss.

#![forbid(unsafe_code)]

mod depacketizer;
mod error;
mod h264;
mod h265;
mod packet;
mod packetizer;
mod payload;
mod sequence;
mod unit;

#[cfg(test)]
mod fixture_tests;
#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod loss_tests;
#[cfg(test)]
mod test_support;

pub use depacketizer::{AccessUnitRtp, Depacketizer, DepacketizerStats};
pub use error::RtpError;
pub use packet::RtpPacket;
pub use packetizer::{Packetizer, MIN_PAYLOAD_BYTES};
pub use sequence::{MAX_DROPOUT, MAX_MISORDER};
pub use unit::{MAX_UNIT_BYTES, MAX_UNIT_NALS};
