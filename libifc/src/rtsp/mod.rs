//! An RTSP 1.0 client (RFC 2326) that pulls one H.264 or H.265 video stream from a camera,
//! RTP interleaved on the RTSP connection (TCP). RTP packets come out as bytes for the
//! depacketiser.
//!
//! Sans-IO pieces, each usable alone: [`RtspUrl`] (parsing, redaction), [`Request`] and
//! [`MessageReader`] (serialising requests; responses, server requests and interleaved frames
//! out of a byte stream), [`parse_session`] (SDP → [`VideoMedia`]), [`Authenticator`] (Basic
//! and Digest). One blocking adapter over `std::net::TcpStream` drives them: [`Session`].
//!
//! # Logging
//! A `rtsp` span per session carries the redacted URL; requests and responses are DEBUG
//! events (method, CSeq, status; never the `Authorization` header); each RTP packet is a
//! TRACE event. Credentials never reach a log line or an error message.
#![forbid(unsafe_code)]

mod auth;
mod base64;
mod client;
mod connection;
mod error;
mod headers;
mod message;
mod publisher;
mod reader;
mod sdp;
mod sdp_writer;
pub mod server;
mod url;

pub use auth::{AuthError, Authenticator, Challenge, Credentials, DigestChallenge};
pub(crate) use client::far_future;
pub use client::{Described, Playing, Polled, RtspOptions, Session};
pub use error::RtspError;
pub use headers::DEFAULT_SESSION_TIMEOUT;
pub use message::{Headers, IncomingRequest, Method, Request, Response, DEFAULT_USER_AGENT};
pub use publisher::{PublishStats, Publisher};
pub use reader::{MessageReader, ReadItem, MAX_BODY_BYTES, MAX_HEADER_BYTES};
pub use sdp::{parse_session, SdpError, SessionDescription, VideoMedia};
pub use sdp_writer::announce_sdp;
pub use url::{RtspUrl, UrlError, DEFAULT_PORT};
