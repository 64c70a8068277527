//! The RTP fixtures (`testdata/rtp/`, made by `scripts/make-rtp-fixtures.sh`) and what the
//! tests need to read them: RFC 4571 framing, the source stream's access units.

use bytes::Bytes;

use super::{AccessUnitRtp, Depacketizer, DepacketizerStats, RtpError, RtpPacket};
use crate::codec::{AccessUnit, AccessUnitAssembler, Codec, NalKind};

/// One packetizer run over one committed stream.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fixture {
    pub(super) rtp: &'static str,
    /// The Annex B form of the stream the packets were made from (same access units).
    pub(super) source: &'static str,
    pub(super) codec: Codec,
    /// Pictures in the packets (the source's first ones).
    pub(super) pictures: usize,
}

pub(super) const H264_FU_A: Fixture = Fixture {
    rtp: "rtp/h264_main_320x240_25.fu-a_mtu400.rtp",
    source: "h264_main_320x240_25.h264",
    codec: Codec::H264,
    pictures: 50,
};
pub(super) const H264_STAP_A: Fixture = Fixture {
    rtp: "rtp/h264_high_slices4_320x240_25.stap-a.rtp",
    source: "h264_high_slices4_320x240_25.h264",
    codec: Codec::H264,
    pictures: 50,
};
pub(super) const H264_BPYRAMID_WRAP: Fixture = Fixture {
    rtp: "rtp/h264_high_bpyramid_320x240_25.first60_wrap.rtp",
    source: "h264_high_bpyramid_320x240_25.h264",
    codec: Codec::H264,
    pictures: 60,
};
pub(super) const H265_FU: Fixture = Fixture {
    rtp: "rtp/hevc_main_320x240_25.fu_mtu400.rtp",
    source: "hevc_main_320x240_25.h265",
    codec: Codec::H265,
    pictures: 50,
};
pub(super) const H265_AP: Fixture = Fixture {
    rtp: "rtp/hevc_opengop_cra_320x240_25.ap.rtp",
    source: "hevc_opengop_cra_320x240_25.h265",
    codec: Codec::H265,
    pictures: 75,
};
pub(super) const ALL: [Fixture; 5] = [H264_FU_A, H264_STAP_A, H264_BPYRAMID_WRAP, H265_FU, H265_AP];

pub(super) fn read_testdata(name: &str) -> Bytes {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
}

/// Splits RFC 4571 framing: a 2-byte big-endian length, then that many bytes.
pub(super) fn rfc4571_frames(data: &Bytes) -> Vec<Bytes> {
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let len = usize::from(u16::from_be_bytes([data[pos], data[pos + 1]]));
        frames.push(data.slice(pos + 2..pos + 2 + len));
        pos += 2 + len;
    }
    frames
}

impl Fixture {
    /// The fixture's bytes and its packets (slices of those bytes).
    pub(super) fn packets(&self) -> (Bytes, Vec<RtpPacket>) {
        let data = read_testdata(self.rtp);
        let packets = rfc4571_frames(&data).into_iter().map(|f| RtpPacket::parse(f).unwrap()).collect();
        (data, packets)
    }

    /// The source stream's first `pictures` access units.
    pub(super) fn source_units(&self) -> Vec<AccessUnit> {
        let mut assembler = AccessUnitAssembler::new(self.codec);
        assert!(assembler.push_annex_b(read_testdata(self.source)).is_empty());
        assert!(assembler.flush().is_empty());
        let units: Vec<_> = std::iter::from_fn(|| assembler.pull()).take(self.pictures).collect();
        assert_eq!(units.len(), self.pictures, "{}", self.source);
        units
    }
}

/// What a depacketizer made of a packet sequence.
#[derive(Debug)]
pub(super) struct Run {
    pub(super) units: Vec<AccessUnitRtp>,
    pub(super) errors: Vec<RtpError>,
    pub(super) stats: DepacketizerStats,
}

/// Pushes every packet, pulling after each push, then flushes.
pub(super) fn depacketize(codec: Codec, packets: impl IntoIterator<Item = RtpPacket>) -> Run {
    let mut d = Depacketizer::new(codec);
    let mut units = Vec::new();
    let mut errors = Vec::new();
    for p in packets {
        if let Err(e) = d.push(p) {
            errors.push(e);
        }
        units.extend(std::iter::from_fn(|| d.pull()));
    }
    d.flush();
    units.extend(std::iter::from_fn(|| d.pull()));
    Run { units, errors, stats: d.stats().clone() }
}

/// The slice NAL units of a unit: what the packetizer passes through unchanged.
pub(super) fn slices(codec: Codec, nals: &[Bytes]) -> Vec<Bytes> {
    nals.iter().filter(|n| codec.classify(n).is_some_and(NalKind::is_vcl)).cloned().collect()
}

/// NAL units neither slices nor parameter sets nor delimiters (SEI, mostly): the packetizer
/// may drop those it finds outside the samples (in an hvcC record).
pub(super) fn other_nals(codec: Codec, nals: &[Bytes]) -> Vec<Bytes> {
    nals.iter()
        .filter(|n| {
            !matches!(codec.classify(n), Some(k) if k.is_vcl() || k.is_parameter_set() || k == NalKind::AccessUnitDelimiter)
        })
        .cloned()
        .collect()
}

/// Sizes and a checksum: enough to tell NAL unit lists apart without printing them.
pub(super) fn summary(nals: &[Bytes]) -> Vec<(usize, u32)> {
    nals.iter().map(|n| (n.len(), n.iter().fold(0u32, |h, &b| h.wrapping_mul(31).wrapping_add(u32::from(b))))).collect()
}
