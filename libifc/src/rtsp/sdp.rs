//! The part of a DESCRIBE's SDP (RFC 4566) that pulling one video stream needs: the first
//! H.264 (RFC 6184) or H.265 (RFC 7798) video media, its control URL (RFC 2326 §C.1.1), its
//! out-of-band parameter sets and frame rate.

use std::fmt;

use bytes::Bytes;

use super::base64;
use super::url::redact;
use crate::codec::Codec;
use crate::error::{ParseError, Result};

/// The video stream to set up. `Debug` redacts the control URL.
#[derive(Clone, PartialEq)]
pub struct VideoMedia {
    pub codec: Codec,
    /// RTP payload type (`a=rtpmap`), usually dynamic (96–127).
    pub payload_type: u8,
    /// RTP timestamp rate in Hz (90 000 for H.264/H.265).
    pub clock_rate: u32,
    /// Absolute URL to SETUP, resolved against the base URL.
    pub control: String,
    /// NAL units without start codes: H.264 SPS and PPS (`sprop-parameter-sets`), H.265 VPS,
    /// SPS, PPS (`sprop-vps`, `sprop-sps`, `sprop-pps`), in that order. Empty when the stream
    /// carries them in band only.
    pub parameter_sets: Vec<Bytes>,
    /// `a=framerate` (media level, else session level).
    pub framerate: Option<f64>,
}

/// What [`parse_session`] found. `Debug` redacts the control URLs.
#[derive(Clone, PartialEq)]
pub struct SessionDescription {
    pub video: VideoMedia,
    /// Absolute URL for aggregate control (PLAY, TEARDOWN): the session-level `a=control`
    /// resolved, else the base URL.
    pub aggregate_control: String,
}

impl fmt::Debug for VideoMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoMedia")
            .field("codec", &self.codec)
            .field("payload_type", &self.payload_type)
            .field("clock_rate", &self.clock_rate)
            .field("control", &redact(&self.control))
            .field("parameter_sets", &self.parameter_sets.iter().map(Bytes::len).collect::<Vec<_>>())
            .field("framerate", &self.framerate)
            .finish()
    }
}

impl fmt::Debug for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionDescription")
            .field("video", &self.video)
            .field("aggregate_control", &redact(&self.aggregate_control))
            .finish()
    }
}

/// Why the SDP gives no stream to play.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// No video media is H.264 or H.265; `offers` lists what there is, e.g.
    /// `audio MPEG4-GENERIC, video JPEG`.
    #[error("sdp: no H.264 or H.265 video; the stream offers: {offers}")]
    NoSupportedVideo { offers: String },
    #[error("{0}")]
    Parse(#[from] ParseError),
}

struct Media<'a> {
    kind: &'a str,
    formats: Vec<&'a str>,
    attributes: Vec<(&'a str, &'a str)>,
}

impl<'a> Media<'a> {
    fn attribute(&self, name: &str) -> Option<&'a str> {
        attribute(&self.attributes, name)
    }

    /// `a=<name>:<pt> <rest>` for this payload type.
    fn for_payload_type(&self, name: &str, pt: &str) -> Option<&'a str> {
        self.attributes.iter().filter(|(n, _)| *n == name).find_map(|(_, v)| {
            let (p, rest) = v.split_once([' ', '\t'])?;
            (p == pt).then(|| rest.trim())
        })
    }
}

fn attribute<'a>(attributes: &[(&'a str, &'a str)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Finds the first H.264/H.265 video media. `base_url`: Content-Base, else Content-Location,
/// else the request URL (RFC 2326 §C.1.1), without user information.
pub fn parse_session(sdp: &[u8], base_url: &str) -> Result<SessionDescription, SdpError> {
    let text = String::from_utf8_lossy(sdp);
    let mut session_attributes = Vec::new();
    let mut media: Vec<Media<'_>> = Vec::new();
    for (n, raw) in text.split('\n').enumerate() {
        let line = raw.trim_end_matches(['\r', '\0', ' ', '\t']);
        if line.is_empty() {
            continue;
        }
        let (kind, value) = match line.as_bytes() {
            [k, b'=', ..] if k.is_ascii_alphabetic() => (k.to_ascii_lowercase(), &line[2..]),
            _ => return Err(ParseError::invalid(format!("sdp.line[{n}]"), "not <type>=<value>").into()),
        };
        match kind {
            b'm' => {
                let fields: Vec<&str> = value.split_ascii_whitespace().collect();
                if fields.len() < 4 {
                    return Err(ParseError::invalid(
                        format!("sdp.media[{}]", media.len()),
                        "m= needs media, port, proto and at least one format",
                    )
                    .into());
                }
                media.push(Media { kind: fields[0], formats: fields[3..].to_vec(), attributes: Vec::new() });
            }
            b'a' => {
                let pair = value.split_once(':').map_or((value, ""), |(n, v)| (n.trim(), v.trim()));
                match media.last_mut() {
                    Some(m) => m.attributes.push(pair),
                    None => session_attributes.push(pair),
                }
            }
            _ => {}
        }
    }
    let aggregate_control = match attribute(&session_attributes, "control") {
        Some(control) => resolve_control(base_url, control, "sdp.control")?,
        None => base_url.to_owned(),
    };
    for (index, m) in media.iter().enumerate().filter(|(_, m)| m.kind.eq_ignore_ascii_case("video")) {
        for &pt in &m.formats {
            let Some((codec, clock_rate)) = m.for_payload_type("rtpmap", pt).and_then(h26x_rtpmap) else { continue };
            let at = format!("sdp.media[{index}]");
            let payload_type = match pt.parse::<u8>() {
                Ok(pt) if pt <= 127 => pt,
                _ => return Err(ParseError::invalid(at, "payload type is not 0..=127").into()),
            };
            // RFC 6184 §8.2.1, RFC 7798 §7.1: "the clock rate MUST be 90000". Another rate
            // (a cut or hostile description) would time every picture wrongly.
            if clock_rate != 90_000 {
                let msg = format!("clock rate {clock_rate}, not the 90000 H.264/H.265 require");
                return Err(ParseError::invalid(format!("{at}.rtpmap"), msg).into());
            }
            let fmtp = m.for_payload_type("fmtp", pt).unwrap_or_default();
            let parameter_sets = match codec {
                Codec::H264 => h264_parameter_sets(fmtp),
                Codec::H265 => h265_parameter_sets(fmtp),
            }
            .map_err(|e| e.within(&at))?;
            let control = match m.attribute("control") {
                Some(control) => resolve_control(base_url, control, &format!("{at}.control"))?,
                None => aggregate_control.clone(),
            };
            let framerate = m
                .attribute("framerate")
                .or_else(|| attribute(&session_attributes, "framerate"))
                .and_then(|f| f.parse::<f64>().ok())
                .filter(|f| f.is_finite() && *f > 0.0);
            let video = VideoMedia { codec, payload_type, clock_rate, control, parameter_sets, framerate };
            return Ok(SessionDescription { video, aggregate_control });
        }
    }
    Err(SdpError::NoSupportedVideo { offers: offers(&media) })
}

/// `H264/90000`, `H265/90000`, `HEVC/90000` (names case-insensitive).
fn h26x_rtpmap(rtpmap: &str) -> Option<(Codec, u32)> {
    let mut parts = rtpmap.split('/');
    let codec = match parts.next()?.to_ascii_uppercase().as_str() {
        "H264" => Codec::H264,
        "H265" | "HEVC" => Codec::H265,
        _ => return None,
    };
    let clock_rate = parts.next()?.trim().parse::<u32>().ok().filter(|&r| r > 0)?;
    Some((codec, clock_rate))
}

fn fmtp_params(fmtp: &str) -> impl Iterator<Item = (&str, &str)> {
    fmtp.split(';').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.trim(), v.trim()))
}

fn decode_sets(list: &str, at: &str, out: &mut Vec<Bytes>) -> Result<()> {
    for set in list.split(',').filter(|s| !s.is_empty()) {
        let nal = base64::decode(set, at)?;
        if nal.is_empty() {
            return Err(ParseError::invalid(at, "empty parameter set"));
        }
        out.push(Bytes::from(nal));
    }
    Ok(())
}

/// RFC 6184 §8.1.
fn h264_parameter_sets(fmtp: &str) -> Result<Vec<Bytes>> {
    let mut sets = Vec::new();
    for (key, value) in fmtp_params(fmtp) {
        match key.to_ascii_lowercase().as_str() {
            "packetization-mode" => match value {
                "0" | "1" => {}
                "2" => return Err(ParseError::unsupported("fmtp.packetization-mode", "2 (interleaved mode)")),
                _ => return Err(ParseError::invalid("fmtp.packetization-mode", "not 0, 1 or 2")),
            },
            "sprop-parameter-sets" => decode_sets(value, "fmtp.sprop-parameter-sets", &mut sets)?,
            _ => {}
        }
    }
    Ok(sets)
}

/// RFC 7798 §7.1.
fn h265_parameter_sets(fmtp: &str) -> Result<Vec<Bytes>> {
    let (mut vps, mut sps, mut pps) = (Vec::new(), Vec::new(), Vec::new());
    for (key, value) in fmtp_params(fmtp) {
        match key.to_ascii_lowercase().as_str() {
            "sprop-vps" => decode_sets(value, "fmtp.sprop-vps", &mut vps)?,
            "sprop-sps" => decode_sets(value, "fmtp.sprop-sps", &mut sps)?,
            "sprop-pps" => decode_sets(value, "fmtp.sprop-pps", &mut pps)?,
            "sprop-max-don-diff" => match value.parse::<u32>() {
                Ok(0) => {}
                Ok(_) => {
                    return Err(ParseError::unsupported(
                        "fmtp.sprop-max-don-diff",
                        "above 0 (NAL units out of decoding order)",
                    ))
                }
                Err(_) => return Err(ParseError::invalid("fmtp.sprop-max-don-diff", "not a number")),
            },
            _ => {}
        }
    }
    vps.extend(sps);
    vps.extend(pps);
    Ok(vps)
}

/// RFC 2326 §C.1.1: `*` is the base itself, an absolute URL stands alone, a relative one is
/// appended to the base with a `/` between. Appending (not RFC 3986 resolution, which would
/// replace the base's last segment) is what cameras expect: many send a Content-Base without
/// the trailing slash, and FFmpeg and live555 resolve the same way.
fn resolve_control(base: &str, control: &str, at: &str) -> Result<String> {
    let url = if control == "*" {
        base.to_owned()
    } else if control.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("rtsp://"))
        || control.get(..8).is_some_and(|s| s.eq_ignore_ascii_case("rtsps://"))
    {
        control.to_owned()
    } else if let Some(absolute_path) = control.strip_prefix('/') {
        let authority_end = base.find("://").map_or(0, |s| s + 3);
        let path_start = base[authority_end..].find(['/', '?']).map_or(base.len(), |p| authority_end + p);
        format!("{}/{absolute_path}", &base[..path_start])
    } else if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    };
    if url.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control()) {
        return Err(ParseError::invalid(at, "control URL holds whitespace or control characters"));
    }
    Ok(url)
}

/// `audio MPEG4-GENERIC, video JPEG`: each media's kind and encodings.
fn offers(media: &[Media<'_>]) -> String {
    if media.is_empty() {
        return "no media".to_owned();
    }
    let mut out = Vec::new();
    for m in media {
        let names: Vec<String> = m
            .formats
            .iter()
            .map(|&pt| match m.for_payload_type("rtpmap", pt) {
                Some(rtpmap) => rtpmap.split('/').next().unwrap_or(rtpmap).to_owned(),
                None => static_payload_name(pt).map_or_else(|| format!("payload type {pt}"), str::to_owned),
            })
            .collect();
        out.push(format!("{} {}", m.kind, names.join("/")));
    }
    out.join(", ")
}

/// RFC 3551 §6 static payload types.
fn static_payload_name(pt: &str) -> Option<&'static str> {
    Some(match pt {
        "0" => "PCMU",
        "8" => "PCMA",
        "14" => "MPA",
        "26" => "JPEG",
        "31" => "H261",
        "32" => "MPV",
        "33" => "MP2T",
        "34" => "H263",
        _ => return None,
    })
}

#[cfg(test)]
#[path = "sdp_tests.rs"]
mod tests;
