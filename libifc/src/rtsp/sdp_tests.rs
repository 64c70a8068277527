use super::*;
use crate::error::ParseErrorKind;

/// DESCRIBE bodies from gst-rtsp-server 1.22 serving testdata/h264_main_320x240_25.h264 and
/// testdata/hevc_main_320x240_25.h265 (captured).
const GST_H264: &str = "v=0\r\no=- 11899544227677035813 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\ni=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\na=range:npt=now-\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\na=framerate:25\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,aOvjyyA=;profile-level-id=4d400d;level-asymmetry-allowed=1\r\na=control:stream=0\r\na=ts-refclk:local\r\na=mediaclk:sender\r\na=ssrc:3079568628 cname:user3519365104@host-f1e6bca\r\n";
const GST_H265: &str = "v=0\r\no=- 10100275116329392685 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\ni=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\na=range:npt=now-\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H265/90000\r\na=framerate:25\r\na=fmtp:96 sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8lZQJ;sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZWWSTK8BaAgAAAwACAAADADIQ;sprop-pps=RAHBcrRiQA==\r\na=control:stream=0\r\na=ts-refclk:local\r\na=mediaclk:sender\r\na=ssrc:1826675146 cname:user2332120720@host-746e0388\r\n";
/// Shaped like a Hikvision camera's: audio first, absolute control URLs, no session control.
const CAMERA: &str = "v=0\r\no=- 1 1 IN IP4 192.168.1.64\r\ns=Media Presentation\r\nt=0 0\r\na=control:rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast\r\nm=audio 0 RTP/AVP 104\r\na=rtpmap:104 mpeg4-generic/16000/1\r\na=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=2?transportmode=unicast\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 h264/90000\r\na=fmtp:96 profile-level-id=420029; packetization-mode=1; sprop-parameter-sets=Z00AKp2oHgCJ+WbgICAgQA==,aO48gA==\r\na=control:rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast\r\n";

const BASE: &str = "rtsp://127.0.0.1:8554/test/";

#[test]
fn gst_h264_description() {
    let session = parse_session(GST_H264.as_bytes(), BASE).unwrap();
    let video = &session.video;
    assert_eq!((video.codec, video.payload_type, video.clock_rate), (Codec::H264, 96, 90_000));
    assert_eq!(video.control, "rtsp://127.0.0.1:8554/test/stream=0");
    assert_eq!(session.aggregate_control, BASE);
    assert_eq!(video.framerate, Some(25.0));
    let types: Vec<u8> = video.parameter_sets.iter().map(|s| s[0] & 0x1f).collect();
    assert_eq!(types, [7, 8], "SPS then PPS");
}

#[test]
fn gst_h265_description_orders_vps_sps_pps() {
    let video = parse_session(GST_H265.as_bytes(), BASE).unwrap().video;
    assert_eq!(video.codec, Codec::H265);
    let types: Vec<u8> = video.parameter_sets.iter().map(|s| (s[0] >> 1) & 0x3f).collect();
    assert_eq!(types, [32, 33, 34]);
}

#[test]
fn hevc_encoding_name_and_lowercase_names_are_accepted() {
    let sdp = GST_H265.replace("H265/90000", "HEVC/90000");
    assert_eq!(parse_session(sdp.as_bytes(), BASE).unwrap().video.codec, Codec::H265);
    let camera = parse_session(CAMERA.as_bytes(), "rtsp://192.168.1.64:554/Streaming/Channels/101").unwrap();
    assert_eq!(camera.video.codec, Codec::H264);
    assert_eq!(camera.video.parameter_sets.len(), 2);
    assert_eq!(camera.video.framerate, None);
}

#[test]
fn absolute_controls_stand_alone() {
    let session = parse_session(CAMERA.as_bytes(), "rtsp://192.168.1.64:554/Streaming/Channels/101").unwrap();
    assert_eq!(session.video.control, "rtsp://192.168.1.64:554/Streaming/Channels/101/trackID=1?transportmode=unicast");
    assert_eq!(session.aggregate_control, "rtsp://192.168.1.64:554/Streaming/Channels/101/?transportmode=unicast");
}

#[test]
fn relative_controls_append_to_the_base_with_one_slash() {
    let cases = [
        ("rtsp://h/live/", "trackID=1", "rtsp://h/live/trackID=1"),
        ("rtsp://h/live", "trackID=1", "rtsp://h/live/trackID=1"),
        (
            "rtsp://h:554/cam/realmonitor?channel=1&subtype=0/",
            "trackID=0",
            "rtsp://h:554/cam/realmonitor?channel=1&subtype=0/trackID=0",
        ),
        ("rtsp://h/live", "*", "rtsp://h/live"),
        ("rtsp://h:8554/live/x", "/other/track1", "rtsp://h:8554/other/track1"),
        ("rtsp://h", "/track1", "rtsp://h/track1"),
        ("rtsp://h/live", "RTSP://g/abs", "RTSP://g/abs"),
    ];
    for (base, control, want) in cases {
        assert_eq!(resolve_control(base, control, "t").unwrap(), want, "{base} + {control}");
    }
    assert!(resolve_control("rtsp://h/", "a b", "t").is_err());
}

#[test]
fn debug_redacts_query_secrets_of_control_urls() {
    let session = parse_session(GST_H264.as_bytes(), "rtsp://cam/live?token=s3cr3t").unwrap();
    assert_eq!(session.video.control, "rtsp://cam/live?token=s3cr3t/stream=0");
    let shown = format!("{session:?}");
    assert!(!shown.contains("s3cr3t") && shown.contains("token=***"), "{shown}");
}

#[test]
fn missing_media_control_falls_back_to_the_aggregate() {
    let sdp = GST_H264.replace("a=control:stream=0\r\n", "");
    assert_eq!(parse_session(sdp.as_bytes(), BASE).unwrap().video.control, BASE);
}

#[test]
fn no_h26x_video_names_what_the_stream_offers() {
    let sdp = "v=0\r\ns=x\r\nm=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\nm=video 0 RTP/AVP 26\r\nm=application 0 RTP/AVP 107\r\n";
    let err = parse_session(sdp.as_bytes(), BASE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "sdp: no H.264 or H.265 video; the stream offers: audio MPEG4-GENERIC, video JPEG, application payload type 107"
    );
    let err = parse_session(b"v=0\r\ns=x\r\n", BASE).unwrap_err();
    assert_eq!(err, SdpError::NoSupportedVideo { offers: "no media".into() });
}

#[test]
fn audio_h264_lookalike_is_not_video() {
    let sdp = GST_H264.replace("m=video", "m=audio");
    assert!(matches!(parse_session(sdp.as_bytes(), BASE), Err(SdpError::NoSupportedVideo { .. })));
}

#[test]
fn interleaved_packetization_mode_is_unsupported() {
    let sdp = GST_H264.replace("packetization-mode=1", "packetization-mode=2");
    let SdpError::Parse(err) = parse_session(sdp.as_bytes(), BASE).unwrap_err() else { panic!() };
    assert!(matches!(err.kind, ParseErrorKind::Unsupported(_)));
    assert_eq!(err.to_string(), "sdp.media[0].fmtp.packetization-mode: unsupported: 2 (interleaved mode)");
    let sdp = GST_H264.replace("packetization-mode=1", "packetization-mode=x");
    assert!(parse_session(sdp.as_bytes(), BASE).is_err());
}

#[test]
fn h265_decoding_order_number_is_unsupported() {
    let fmtp = "a=fmtp:96 sprop-max-don-diff=2;sprop-vps";
    let sdp = GST_H265.replace("a=fmtp:96 sprop-vps", fmtp);
    let SdpError::Parse(err) = parse_session(sdp.as_bytes(), BASE).unwrap_err() else { panic!() };
    assert!(matches!(err.kind, ParseErrorKind::Unsupported(_)), "{err}");
    let sdp = GST_H265.replace("a=fmtp:96 sprop-vps", "a=fmtp:96 sprop-max-don-diff=0;sprop-vps");
    assert!(parse_session(sdp.as_bytes(), BASE).is_ok());
}

#[test]
fn malformed_sdp_is_a_typed_error() {
    let bad_base64 = GST_H264.replace("aOvjyyA=", "aOv!jyyA=");
    let SdpError::Parse(err) = parse_session(bad_base64.as_bytes(), BASE).unwrap_err() else { panic!() };
    assert!(err.at.starts_with("sdp.media[0].fmtp.sprop-parameter-sets"), "{err}");
    for bad in [
        "v=0\r\nnot a line\r\n",
        "v=0\r\nm=video 0 RTP/AVP\r\n",
        "v=0\r\nm=video 0 RTP/AVP 300\r\na=rtpmap:300 H264/90000\r\n",
        // RFC 6184 §8.2.1: 90000 or nothing (a description cut after "H265/9" said 9 Hz).
        "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/9\r\n",
    ] {
        assert!(matches!(parse_session(bad.as_bytes(), BASE), Err(SdpError::Parse(_))), "{bad:?}");
    }
    let empty_set = GST_H264.replace("sprop-parameter-sets=Z01", "sprop-parameter-sets==,Z01");
    assert!(parse_session(empty_set.as_bytes(), BASE).is_err());
}

#[test]
fn odd_but_harmless_lines_are_tolerated() {
    // Bare LF, trailing NULs, Latin-1 in s=, a bad frame rate (ignored), no clock rate (skipped).
    let mut sdp = GST_H264.replace("\r\n", "\n").replace("a=framerate:25", "a=framerate:fast").into_bytes();
    sdp.splice(4..4, *b"s=C\xe1mara\n");
    sdp.extend_from_slice(b"\0\0");
    let video = parse_session(&sdp, BASE).unwrap().video;
    assert_eq!((video.payload_type, video.framerate), (96, None));
    let no_clock = GST_H264.replace("H264/90000", "H264");
    assert!(matches!(parse_session(no_clock.as_bytes(), BASE), Err(SdpError::NoSupportedVideo { .. })));
}

#[test]
fn every_truncation_of_a_real_description_is_a_typed_error_or_a_prefix_of_the_whole() {
    let full = parse_session(GST_H265.as_bytes(), BASE).unwrap().video;
    let rtpmap_end = GST_H265.find("a=rtpmap:96 H265/90000").unwrap() + "a=rtpmap:96 H265/90000".len();
    let last_sprop_end = GST_H265.find("RAHBcrRiQA==").unwrap() + "RAHBcrRiQA==".len();
    let mut outcomes = [0usize; 3];
    for cut in 0..GST_H265.len() {
        match parse_session(&GST_H265.as_bytes()[..cut], BASE) {
            Ok(description) => {
                let video = description.video;
                assert_eq!((video.codec, video.payload_type, video.clock_rate), (Codec::H265, 96, 90_000), "{cut}");
                // A cut set decodes to a prefix of the whole one, or is left out.
                assert!(video.parameter_sets.len() <= full.parameter_sets.len(), "{cut}");
                for set in &video.parameter_sets {
                    assert!(full.parameter_sets.iter().any(|whole| whole.starts_with(set)), "{cut}: {set:?}");
                }
                if cut >= last_sprop_end {
                    assert_eq!(video.parameter_sets, full.parameter_sets, "{cut}");
                }
                outcomes[0] += 1;
            }
            Err(SdpError::NoSupportedVideo { .. }) => {
                assert!(cut < rtpmap_end, "{cut}: a complete rtpmap names H.265");
                outcomes[1] += 1;
            }
            Err(SdpError::Parse(err)) => {
                assert!(err.at.starts_with("sdp"), "{cut}: {err}");
                outcomes[2] += 1;
            }
        }
    }
    assert!(outcomes.iter().all(|&n| n > 0), "{outcomes:?}");
}
