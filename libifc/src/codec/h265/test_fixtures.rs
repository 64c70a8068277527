//! Test support: the H.265 fixtures in `testdata/`, ffprobe, a bit writer for hand-made syntax
//! and a deterministic PRNG for bit flips.

use std::collections::HashMap;
use std::process::Command;

use crate::codec::nal::AnnexBNals;

/// Every H.265 fixture, without extension: each has a raw `.h265` file.
pub const HEVC_FIXTURES: [&str; 4] = [
    "hevc_main_320x240_25",
    "hevc_main10_320x240_25",
    "hevc_opengop_cra_320x240_25",
    "hevc_res_change_320x240_to_256x144_25",
];

/// The fixtures that also exist as MP4 (the resolution change is raw only).
pub const HEVC_MP4_FIXTURES: [&str; 3] =
    ["hevc_main_320x240_25", "hevc_main10_320x240_25", "hevc_opengop_cra_320x240_25"];

pub fn fixture_path(file: &str) -> String {
    format!("{}/../testdata/{file}", env!("CARGO_MANIFEST_DIR"))
}

pub fn read_fixture(file: &str) -> Vec<u8> {
    let path = fixture_path(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The NAL units of `NAME.h265`, in stream order.
pub fn raw_nals(name: &str) -> Vec<Vec<u8>> {
    AnnexBNals::new(&read_fixture(&format!("{name}.h265"))).map(|(_, nal)| nal.to_vec()).collect()
}

/// The parameter sets and SEI in front of the raw stream's first picture: what
/// `hevc_mp4toannexb` copied there from the MP4's hvcC.
pub fn leading_non_vcl(name: &str) -> Vec<Vec<u8>> {
    raw_nals(name).into_iter().take_while(|n| nal_unit_type(n) >= 32).collect()
}

pub fn nal_unit_type(nal: &[u8]) -> u8 {
    (nal[0] >> 1) & 0x3f
}

/// The first NAL unit of `NAME.h265` with this `nal_unit_type`.
pub fn first_nal_of_type(name: &str, nal_unit_type_wanted: u8) -> Vec<u8> {
    raw_nals(name)
        .into_iter()
        .find(|n| nal_unit_type(n) == nal_unit_type_wanted)
        .unwrap_or_else(|| panic!("{name}: no NAL unit of type {nal_unit_type_wanted}"))
}

/// Runs ffprobe with `args`; ffprobe 5.1 is part of the development environment.
pub fn ffprobe(args: &[&str]) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ffprobe is needed by this test: {e}"));
    assert!(out.status.success(), "ffprobe {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("ffprobe prints UTF-8")
}

/// `ffprobe -show_streams` of a fixture's first video stream as key → value (the `default`
/// writer's `key=value` lines carry the same fields as `-of json`).
pub fn ffprobe_stream(file: &str) -> HashMap<String, String> {
    let text =
        ffprobe(&["-select_streams", "v:0", "-show_streams", "-of", "default=noprint_wrappers=1", &fixture_path(file)]);
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The payload of the first `hvcC` box in an MP4 fixture, found by its type and size.
pub fn mp4_hvcc(name: &str) -> Vec<u8> {
    let mp4 = read_fixture(&format!("{name}.mp4"));
    let at = mp4.windows(4).position(|w| w == b"hvcC").unwrap_or_else(|| panic!("{name}.mp4 has no hvcC"));
    let size = u32::from_be_bytes(mp4[at - 4..at].try_into().unwrap()) as usize;
    mp4[at + 4..at - 4 + size].to_vec()
}

/// Writes bits MSB-first, with Exp-Golomb codes, to build syntax structures by hand.
#[derive(Debug, Default)]
pub struct BitWriter(Vec<bool>);

impl BitWriter {
    pub fn bit(&mut self, b: bool) -> &mut Self {
        self.0.push(b);
        self
    }

    pub fn bits(&mut self, n: u32, v: u32) -> &mut Self {
        (0..n).rev().for_each(|i| self.0.push((u64::from(v) >> i) & 1 == 1));
        self
    }

    pub fn ue(&mut self, v: u32) -> &mut Self {
        let code = u64::from(v) + 1;
        let len = 64 - code.leading_zeros();
        (1..len).for_each(|_| self.0.push(false));
        (0..len).rev().for_each(|i| self.0.push((code >> i) & 1 == 1));
        self
    }

    pub fn se(&mut self, v: i32) -> &mut Self {
        let mapped = if v > 0 { 2 * i64::from(v) - 1 } else { -2 * i64::from(v) };
        self.ue(u32::try_from(mapped).unwrap())
    }

    /// The bits so far, zero-padded to whole bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.0
            .chunks(8)
            .map(|c| c.iter().enumerate().fold(0u8, |acc, (i, &b)| acc | (u8::from(b) << (7 - i))))
            .collect()
    }
}

/// A minimal SPS NAL unit (id 0, one sub-layer, Main 4:2:0 level 2, 320×240, no VUI) with
/// the given `bit_depth_luma_minus8` (and chroma the same).
pub fn minimal_sps(bit_depth_minus8: u32) -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(16, 33 << 9 | 1);
    w.bits(4, 0).bits(3, 0).bit(true);
    w.bits(8, 1).bits(32, 0x6000_0000).bits(16, 0x9000).bits(32, 0).bits(8, 60);
    w.ue(0).ue(1).ue(320).ue(240).bit(false).ue(bit_depth_minus8).ue(bit_depth_minus8).ue(4);
    w.bit(false).ue(4).ue(2).ue(0); // one sub-layer: DPB 5, reorder 2
    w.ue(0).ue(3).ue(0).ue(3).ue(0).ue(0); // 8×8 CU, 64×64 CTB, 4..32 TU
    w.bit(false).bit(false).bit(true).bit(false); // no scaling lists, AMP, PCM; SAO
    w.ue(0).bit(false).bit(true).bit(true).bit(false).bit(false); // no RPS, LT, VUI; TMVP, smoothing
    w.bit(true);
    // No run of zero bytes can occur, so no emulation prevention is needed.
    w.bytes()
}

/// xorshift64 (Marsaglia 2003): a deterministic PRNG so failures reproduce.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Flips `flips` random bits of `data` (nothing when empty).
    pub fn flip_bits(&mut self, data: &mut [u8], flips: usize) {
        if data.is_empty() {
            return;
        }
        for _ in 0..flips {
            let bit = self.below(data.len() * 8);
            data[bit / 8] ^= 0x80 >> (bit % 8);
        }
    }
}
