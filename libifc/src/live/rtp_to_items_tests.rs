//! [`RtpToItems`] on GStreamer's real packets (`testdata/rtp/`): one configuration, then every
//! picture of the source as a packet; junk and foreign packets are counted, not fatal.

use bytes::Bytes;

use super::RtpToItems;
use crate::codec::Codec;
use crate::remux::LiveItem;
use crate::rtsp::VideoMedia;

/// RFC 4571 framing (2-byte length, packet), as the fixtures are stored.
fn packets(name: &str) -> Vec<Bytes> {
    let path = format!("{}/../testdata/rtp/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = Bytes::from(std::fs::read(&path).unwrap());
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 2 <= data.len() {
        let len = usize::from(u16::from_be_bytes([data[pos], data[pos + 1]]));
        out.push(data.slice(pos + 2..pos + 2 + len));
        pos += 2 + len;
    }
    out
}

fn media(codec: Codec, payload_type: u8) -> VideoMedia {
    VideoMedia {
        codec,
        payload_type,
        clock_rate: 90_000,
        control: "rtsp://h/cameras/c/streamid=0".into(),
        parameter_sets: Vec::new(),
        framerate: None,
    }
}

fn run(items: &mut RtpToItems, packets: &[Bytes]) -> (usize, usize) {
    let (mut configs, mut pictures) = (0, 0);
    let mut count = |item: LiveItem| match item {
        LiveItem::Config(_) => configs += 1,
        LiveItem::Packet(_) => pictures += 1,
    };
    for packet in packets {
        items.push(packet.clone());
        while let Some(item) = items.pull() {
            count(item);
        }
    }
    items.end();
    while let Some(item) = items.pull() {
        count(item);
    }
    (configs, pictures)
}

#[test]
fn every_picture_of_real_packets_comes_out_once_after_one_configuration() {
    for (name, codec, pictures) in [
        ("h264_main_320x240_25.fu-a_mtu400.rtp", Codec::H264, 50),
        ("hevc_main_320x240_25.fu_mtu400.rtp", Codec::H265, 50),
    ] {
        let packets = packets(name);
        let payload_type = packets[0][1] & 0x7f;
        let mut items = RtpToItems::new(&media(codec, payload_type));
        assert_eq!(run(&mut items, &packets), (1, pictures), "{name}");
        let stats = items.stats();
        assert_eq!((stats.malformed_packets, stats.foreign_packets, stats.config_errors), (0, 0, 0), "{name}");
    }
}

#[test]
fn junk_and_foreign_packets_are_counted_and_the_stream_goes_on() {
    let packets = packets("h264_main_320x240_25.fu-a_mtu400.rtp");
    let payload_type = packets[0][1] & 0x7f;
    let mut mixed = Vec::new();
    for (i, packet) in packets.iter().enumerate() {
        if i % 50 == 7 {
            mixed.push(Bytes::from_static(b"\x00\x01junk"));
            // An RTCP sender report that strayed onto the RTP channel: payload type 200 & 0x7f.
            mixed.push(Bytes::from_static(&[0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
        }
        mixed.push(packet.clone());
    }
    let mut items = RtpToItems::new(&media(Codec::H264, payload_type));
    assert_eq!(run(&mut items, &mixed), (1, 50));
    let stats = items.stats();
    assert_eq!(stats.malformed_packets, 5);
    assert_eq!(stats.foreign_packets, 5);
}
