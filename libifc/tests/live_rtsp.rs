//! A camera's stream decoded live: gst-rtsp-server packetises a committed raw stream, `LiveVideo`
//! receives it over RTSP, libavcodec decodes it, and every picture must equal, byte for byte,
//! the picture decoded from the file itself (TCP interleaved loses nothing).

use std::time::Duration;

use bytes::Bytes;
use ifc::decode::{open_decoder, Decoder, DecoderOptions, EncodedPacket, Frame};
use ifc::live::LiveVideo;
use ifc::remux::{input_kind, LiveItem, VideoInput};
use ifc::rtsp::{RtspError, RtspOptions};

#[path = "support/rtsp_server.rs"]
mod rtsp_server;
use rtsp_server::{repo_root, RtspServer};

/// A frame's visible pixels, plane by plane.
fn pixels(frame: &Frame) -> Vec<u8> {
    (0..3).flat_map(|i| frame.plane_rows(i).flatten().copied().collect::<Vec<u8>>()).collect()
}

fn decode_all(decoder: &mut dyn Decoder, packets: impl IntoIterator<Item = EncodedPacket>) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    for packet in packets {
        decoder.push(packet).expect("push");
        while let Ok(Some(f)) = decoder.pull() {
            frames.push(pixels(&f));
        }
    }
    decoder.flush().expect("flush");
    while let Ok(Some(f)) = decoder.pull() {
        frames.push(pixels(&f));
    }
    frames
}

fn file_frames(file: &str) -> Vec<Vec<u8>> {
    let data = Bytes::from(std::fs::read(repo_root().join("testdata").join(file)).expect("testdata"));
    let ext = file.rsplit('.').next();
    let input = VideoInput::read(input_kind(ext, &data).expect("kind"), data, None).expect("read");
    let mut decoder = open_decoder(DecoderOptions::from_config(input.config.clone())).expect("decoder");
    decode_all(decoder.as_mut(), input.packets())
}

fn live_frames(url: &str) -> (Vec<Vec<u8>>, usize, ifc::live::LiveStats) {
    let mut live = LiveVideo::open(url, RtspOptions::default().read_timeout(Duration::from_secs(10))).expect("open");
    let mut packets = Vec::new();
    let mut config = None;
    let mut configs = 0;
    while let Some(item) = live.next_item().expect("next item") {
        match item {
            LiveItem::Config(c) => {
                configs += 1;
                config.get_or_insert(c);
            }
            LiveItem::Packet(p) => packets.push(p),
        }
    }
    let mut decoder = open_decoder(DecoderOptions::from_config(config.expect("a configuration"))).expect("decoder");
    (decode_all(decoder.as_mut(), packets), configs, live.stats())
}

#[test]
fn live_pictures_equal_the_files_pictures() {
    for (file, configs) in [
        ("h264_main_320x240_25.h264", 1),
        ("hevc_main_320x240_25.h265", 1),
        ("hevc_opengop_cra_320x240_25.h265", 1),
        ("h264_res_change_320x240_to_256x144_25.h264", 2),
    ] {
        let expected = file_frames(file);
        let server = RtspServer::start(file, None);
        let (frames, seen_configs, stats) = live_frames(&server.url(""));
        assert_eq!(seen_configs, configs, "{file}: configurations");
        assert_eq!(frames.len(), expected.len(), "{file}: every picture arrives ({stats:?})");
        for (i, (got, want)) in frames.iter().zip(&expected).enumerate() {
            assert!(got == want, "{file}: picture {i} differs from the file's");
        }
        assert_eq!(stats.source.packets_lost, 0, "{file}");
        assert_eq!(stats.malformed_packets, 0, "{file}");
    }
}

#[test]
fn live_times_follow_the_rtp_clock_from_zero_through_b_frames() {
    let server = RtspServer::start("h264_high_bpyramid_320x240_25.mp4", None);
    let mut live = LiveVideo::open(&server.url(""), RtspOptions::default()).expect("open");
    assert_eq!(live.media().framerate, Some(25.0));
    let mut pts = Vec::new();
    while let Some(item) = live.next_item().expect("next item") {
        if let LiveItem::Packet(p) = item {
            pts.push(p.pts_90k.expect("pts"));
        }
    }
    assert_eq!(pts[0], 0, "times count from the first picture");
    assert!(pts.windows(2).any(|w| w[1] < w[0]), "B-frames arrive out of display order");
    pts.sort_unstable();
    assert!(pts.windows(2).all(|w| w[1] - w[0] == 3600), "25 fps in 90 kHz ticks: {pts:?}");
}

#[test]
fn a_refused_connection_is_a_typed_error_naming_the_camera_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("rtsp://admin:hunter2@127.0.0.1:{port}/cam");
    let err = LiveVideo::open(&url, RtspOptions::default()).err().expect("refused");
    assert!(matches!(err, RtspError::Connect { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")) && !text.contains("hunter2"), "{text}");
}
