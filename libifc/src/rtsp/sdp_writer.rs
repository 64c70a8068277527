//! The session description a publisher sends with ANNOUNCE (RFC 2326 §10.3, RFC 4566): one
//! video stream, its RTP payload format (RFC 6184 §8.1 for H.264, RFC 7798 §7.1 for H.265) and
//! its parameter sets, so that a receiver can decode from the first key frame.

use std::fmt::Write;

use super::base64::encode;
use crate::codec::{Codec, DecoderConfig, NalKind};

/// The SDP of one video stream described by `config`, sent as RTP payload type
/// `payload_type`; the stream's control URL is `control` (relative to the request URL).
pub fn announce_sdp(config: &DecoderConfig, payload_type: u8, control: &str) -> String {
    let codec = config.codec;
    let mut sdp = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        sdp,
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=ifc\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=video 0 RTP/AVP {payload_type}\r\n"
    );
    let kind_of = |nal: &[u8]| codec.classify(nal);
    let sets = |kind: NalKind| -> Vec<String> {
        config.parameter_sets.iter().filter(|n| kind_of(n) == Some(kind)).map(|n| encode(n)).collect()
    };
    match codec {
        Codec::H264 => {
            let _ = write!(sdp, "a=rtpmap:{payload_type} H264/90000\r\n");
            let mut fmtp = format!("a=fmtp:{payload_type} packetization-mode=1");
            // profile_idc, constraint flags, level_idc: bytes 1–3 of the SPS.
            if let Some(sps) = config.parameter_sets.iter().find(|n| kind_of(n) == Some(NalKind::Sps)).filter(|s| s.len() >= 4) {
                let _ = write!(fmtp, ";profile-level-id={:02X}{:02X}{:02X}", sps[1], sps[2], sps[3]);
            }
            let both: Vec<String> = [sets(NalKind::Sps), sets(NalKind::Pps)].concat();
            if !both.is_empty() {
                let _ = write!(fmtp, ";sprop-parameter-sets={}", both.join(","));
            }
            sdp.push_str(&fmtp);
            sdp.push_str("\r\n");
        }
        Codec::H265 => {
            let _ = write!(sdp, "a=rtpmap:{payload_type} H265/90000\r\n");
            let mut fmtp = format!("a=fmtp:{payload_type}");
            let mut separator = " ";
            for (name, kind) in [("sprop-vps", NalKind::Vps), ("sprop-sps", NalKind::Sps), ("sprop-pps", NalKind::Pps)] {
                let values = sets(kind);
                if !values.is_empty() {
                    let _ = write!(fmtp, "{separator}{name}={}", values.join(","));
                    separator = ";";
                }
            }
            if separator == ";" {
                sdp.push_str(&fmtp);
                sdp.push_str("\r\n");
            }
        }
    }
    let _ = write!(sdp, "a=control:{control}\r\n");
    sdp
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remux::{input_kind, VideoInput};
    use crate::rtsp::parse_session;

    fn config(name: &str) -> DecoderConfig {
        let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let data = bytes::Bytes::from(std::fs::read(&path).expect("fixture"));
        VideoInput::read(input_kind(Some("mp4"), &data).expect("kind"), data, None).expect("input").config
    }

    #[test]
    fn the_parser_reads_back_codec_payload_type_parameter_sets_and_control() {
        for name in ["h264_main_320x240_25.mp4", "hevc_main_320x240_25.mp4"] {
            let config = config(name);
            let sdp = announce_sdp(&config, 97, "streamid=0");
            let parsed = parse_session(sdp.as_bytes(), "rtsp://server/cameras/a").expect("our SDP parses");
            let video = &parsed.video;
            assert_eq!((video.codec, video.payload_type, video.clock_rate), (config.codec, 97, 90_000), "{name}");
            assert_eq!(video.control, "rtsp://server/cameras/a/streamid=0", "{name}");
            assert_eq!(video.parameter_sets, config.parameter_sets, "{name}: {sdp}");
        }
    }

    #[test]
    fn h264_states_its_profile_and_level() {
        let sdp = announce_sdp(&config("h264_main_320x240_25.mp4"), 96, "streamid=0");
        // Main profile (77 = 0x4D), level 1.3 or whatever the fixture says: read from the SPS.
        assert!(sdp.contains("packetization-mode=1;profile-level-id=4D"), "{sdp}");
    }
}
