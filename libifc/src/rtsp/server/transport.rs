//! The `Transport` header of a publisher's SETUP (RFC 2326 §12.39) and the server's answer.
//!
//! Accepted: `RTP/AVP/TCP;unicast;interleaved=a-b;mode=record` (RTP on the RTSP connection) and
//! `RTP/AVP[/UDP];unicast;client_port=a-b;mode=record` (datagrams to ports the server binds and
//! names in `server_port`). A header may list alternatives, comma-separated; the first usable
//! one wins.

/// How a publisher will send RTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishTransport {
    /// `$` frames on the RTSP connection, RTP on `rtp_channel`, RTCP on `rtcp_channel`.
    Interleaved { rtp_channel: u8, rtcp_channel: u8 },
    /// UDP datagrams from the client's ports.
    Udp { client_rtp_port: u16, client_rtcp_port: u16 },
}

/// Why no alternative of a `Transport` header can be used: answered 461.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportRefusal {
    #[error("no Transport header")]
    Missing,
    #[error("multicast is not supported; use unicast (TCP interleaved or UDP)")]
    Multicast,
    #[error("mode {0} is not record: this server only takes published streams")]
    NotRecord(String),
    #[error("transport {0} is not RTP/AVP over TCP or UDP")]
    Protocol(String),
    #[error("Transport {0} is malformed")]
    Invalid(&'static str),
}

impl PublishTransport {
    /// The `Transport` value of the SETUP response. For UDP, `server_ports` are the (RTP, RTCP)
    /// ports the server bound for this session.
    pub fn answer(&self, server_ports: Option<(u16, u16)>) -> String {
        match *self {
            PublishTransport::Interleaved { rtp_channel, rtcp_channel } => {
                format!("RTP/AVP/TCP;unicast;interleaved={rtp_channel}-{rtcp_channel};mode=record")
            }
            PublishTransport::Udp { client_rtp_port, client_rtcp_port } => {
                let mut out = format!("RTP/AVP/UDP;unicast;client_port={client_rtp_port}-{client_rtcp_port}");
                if let Some((rtp, rtcp)) = server_ports {
                    out += &format!(";server_port={rtp}-{rtcp}");
                }
                out + ";mode=record"
            }
        }
    }

    pub fn is_udp(&self) -> bool {
        matches!(self, PublishTransport::Udp { .. })
    }
}

/// The first usable alternative of a SETUP's `Transport` value, else why the first one is not.
pub fn parse_publish_transport(value: &str) -> Result<PublishTransport, TransportRefusal> {
    let mut first_refusal = None;
    for alternative in split_outside_quotes(value, ',') {
        match parse_one(alternative.trim()) {
            Ok(transport) => return Ok(transport),
            Err(refusal) => {
                first_refusal.get_or_insert(refusal);
            }
        }
    }
    Err(first_refusal.unwrap_or(TransportRefusal::Missing))
}

fn parse_one(spec: &str) -> Result<PublishTransport, TransportRefusal> {
    let mut params = split_outside_quotes(spec, ';').into_iter().map(str::trim);
    let protocol = params.next().unwrap_or_default();
    if protocol.is_empty() {
        return Err(TransportRefusal::Missing);
    }
    let tcp = match protocol.to_ascii_uppercase().as_str() {
        "RTP/AVP/TCP" => true,
        "RTP/AVP" | "RTP/AVP/UDP" => false,
        _ => return Err(TransportRefusal::Protocol(shown(protocol))),
    };
    let (mut interleaved, mut client_port) = (None, None);
    for param in params {
        let (name, value) = param.split_once('=').map_or((param, ""), |(n, v)| (n.trim(), v.trim()));
        match name.to_ascii_lowercase().as_str() {
            "multicast" => return Err(TransportRefusal::Multicast),
            "interleaved" => interleaved = Some(pair::<u8>(value).ok_or(TransportRefusal::Invalid("interleaved"))?),
            "client_port" => client_port = Some(pair::<u16>(value).ok_or(TransportRefusal::Invalid("client_port"))?),
            "mode" => {
                let modes = value.trim_matches('"');
                if !modes.split(',').any(|m| m.trim().eq_ignore_ascii_case("record")) {
                    return Err(TransportRefusal::NotRecord(shown(value)));
                }
            }
            _ => {}
        }
    }
    if tcp {
        // §12.39: a client may leave the channels to the server; 0-1 is what everyone uses.
        let (rtp_channel, rtcp_channel) = interleaved.unwrap_or((0, 1));
        Ok(PublishTransport::Interleaved { rtp_channel, rtcp_channel })
    } else {
        let (client_rtp_port, client_rtcp_port) =
            client_port.ok_or(TransportRefusal::Invalid("client_port missing"))?;
        if client_rtp_port == 0 {
            return Err(TransportRefusal::Invalid("client_port"));
        }
        Ok(PublishTransport::Udp { client_rtp_port, client_rtcp_port })
    }
}

/// `a-b` or `a` (then `b = a + 1`); the two must differ.
fn pair<T: std::str::FromStr + Copy + PartialEq + TryFrom<u32> + Into<u32>>(value: &str) -> Option<(T, T)> {
    let (a, b) = match value.split_once('-') {
        Some((a, b)) => (a.trim().parse::<T>().ok()?, Some(b.trim().parse::<T>().ok()?)),
        None => (value.trim().parse::<T>().ok()?, None),
    };
    let b = match b {
        Some(b) => b,
        None => T::try_from(a.into() + 1).ok()?,
    };
    (a != b).then_some((a, b))
}

fn split_outside_quotes(text: &str, separator: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == separator && !quoted {
            out.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    out.push(&text[start..]);
    out
}

/// Client text in an error message, bounded and printable.
fn shown(text: &str) -> String {
    text.chars().take(64).map(|c| if c.is_control() { '?' } else { c }).collect()
}
