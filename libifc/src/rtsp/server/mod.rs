//! The server side of RTSP 1.0 publishing (RFC 2326 §10.4 ANNOUNCE, §10.11 RECORD): cameras and
//! encoders (`ffmpeg -f rtsp`, GStreamer's `rtspclientsink`) push one H.264/H.265 video stream.
//!
//! Sans-IO, like the client: the caller owns the socket, feeds requests parsed by
//! [`super::MessageReader`] to a [`PublishSession`] and writes the [`ServerResponse`] it gets
//! back; RTP then arrives as `$` interleaved frames (TCP) or datagrams on ports the caller bound
//! (UDP), which the caller hands to `live::RtpToItems`.
//!
//! - [`response`]: responses, serialised with the request's `CSeq`;
//! - [`digest`]: server-side Digest (RFC 2617, MD5/MD5-sess, nonces issued by the server with an
//!   expiry), Basic only when configured; the arithmetic is the client's (`auth.rs`);
//! - [`transport`]: the `Transport` header of a publisher's SETUP and the server's answer;
//! - [`publish`]: the session state machine (OPTIONS, ANNOUNCE, SETUP, RECORD, TEARDOWN,
//!   GET_PARAMETER/SET_PARAMETER keep-alives).
//!
//! Nothing here panics on any input: every refusal is a response with a status and a reason.
#![forbid(unsafe_code)]

pub mod digest;
pub mod publish;
pub mod response;
pub mod transport;

pub use digest::{DigestAuthority, PublishSecret};
pub use publish::{
    camera_name_from_uri, Mount, PublishConfig, PublishEvent, PublishSession, PublishState, Reply, RequestContext,
};
pub use response::ServerResponse;
pub use transport::{parse_publish_transport, PublishTransport, TransportRefusal};

#[cfg(test)]
mod tests;
