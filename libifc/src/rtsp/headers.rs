//! Header fields the client interprets: `Session` (RFC 2326 §12.37), `Transport` (§12.39),
//! `Public` (§12.28).

use std::time::Duration;

use crate::error::{ParseError, Result};

/// §12.37: the session's timeout when the server names none.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(60);

/// `Session: <id>[;timeout=<seconds>]` → the id and the timeout, if one is given and above 0.
pub(crate) fn parse_session(value: &str) -> Result<(String, Option<Duration>)> {
    let mut parts = value.split(';');
    let id = parts.next().unwrap_or_default().trim();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ParseError::invalid("rtsp.session", "session id is empty or holds spaces or controls"));
    }
    let mut timeout = None;
    for param in parts {
        if let Some((name, seconds)) = param.split_once('=') {
            if name.trim().eq_ignore_ascii_case("timeout") {
                timeout = match seconds.trim().parse::<u32>() {
                    Ok(0) => None,
                    Ok(s) => Some(Duration::from_secs(u64::from(s))),
                    Err(_) => return Err(ParseError::invalid("rtsp.session.timeout", "not a number of seconds")),
                };
            }
        }
    }
    Ok((id.to_owned(), timeout))
}

/// Why a SETUP response's `Transport` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TransportProblem {
    NotTcp(String),
    Invalid(ParseError),
}

/// The interleaved (RTP, RTCP) channels of a SETUP response's `Transport`; `requested` when
/// it names none. The server may pick other channels than requested (§12.39).
pub(crate) fn interleaved_channels(transport: &str, requested: (u8, u8)) -> Result<(u8, u8), TransportProblem> {
    let mut params = transport.split(';').map(str::trim);
    let spec = params.next().unwrap_or_default();
    if !spec.to_ascii_uppercase().ends_with("/TCP") {
        return Err(TransportProblem::NotTcp(spec.to_owned()));
    }
    for param in params {
        let Some(range) = param.strip_prefix("interleaved=") else { continue };
        let invalid =
            || TransportProblem::Invalid(ParseError::invalid("rtsp.transport.interleaved", "not <n> or <n>-<m>"));
        let (rtp, rtcp) = match range.split_once('-') {
            Some((a, b)) => (a.parse::<u8>().map_err(|_| invalid())?, Some(b.parse::<u8>().map_err(|_| invalid())?)),
            None => (range.parse::<u8>().map_err(|_| invalid())?, None),
        };
        let rtcp = rtcp.unwrap_or(rtp.wrapping_add(1));
        if rtcp == rtp {
            return Err(invalid());
        }
        return Ok((rtp, rtcp));
    }
    Ok(requested)
}

/// Whether a `Public` header lists `method`.
pub(crate) fn public_lists(public: &str, method: &str) -> bool {
    public.split(',').any(|m| m.trim().eq_ignore_ascii_case(method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_and_timeout() {
        assert_eq!(parse_session("i49Km8.ENGh9GoKN").unwrap(), ("i49Km8.ENGh9GoKN".into(), None));
        assert_eq!(parse_session("12345678; timeout=30").unwrap(), ("12345678".into(), Some(Duration::from_secs(30))));
        assert_eq!(parse_session("abc;timeout=0").unwrap().1, None);
        assert!(parse_session("").is_err());
        assert!(parse_session("a b").is_err());
        assert!(parse_session("abc;timeout=x").is_err());
    }

    #[test]
    fn transport_channels_as_the_server_chose_them() {
        let gst = "RTP/AVP/TCP;unicast;interleaved=0-1;ssrc=B78E7CF4;mode=\"PLAY\"";
        assert_eq!(interleaved_channels(gst, (0, 1)), Ok((0, 1)));
        assert_eq!(interleaved_channels("RTP/AVP/TCP;unicast;interleaved=2-3", (0, 1)), Ok((2, 3)));
        assert_eq!(interleaved_channels("RTP/AVP/TCP;interleaved=4", (0, 1)), Ok((4, 5)));
        assert_eq!(interleaved_channels("RTP/AVP/TCP;unicast", (0, 1)), Ok((0, 1)));
        assert!(matches!(
            interleaved_channels("RTP/AVP;unicast;client_port=5000-5001", (0, 1)),
            Err(TransportProblem::NotTcp(_))
        ));
        for bad in ["RTP/AVP/TCP;interleaved=x-1", "RTP/AVP/TCP;interleaved=0-256", "RTP/AVP/TCP;interleaved=1-1"] {
            assert!(matches!(interleaved_channels(bad, (0, 1)), Err(TransportProblem::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn public_header_lookup() {
        let public = "OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY";
        assert!(public_lists(public, "GET_PARAMETER"));
        assert!(!public_lists(public, "SET_PARAMETER"));
    }
}
