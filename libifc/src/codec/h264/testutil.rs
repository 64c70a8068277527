//! Test helpers: fixtures, ffmpeg/ffprobe runs, and a bit writer for hand-made NAL units.

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::codec::nal::AnnexBNals;

pub(super) const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata");

pub(super) fn read_testdata(name: &str) -> Vec<u8> {
    std::fs::read(format!("{TESTDATA}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every fixture file `h264_*.<ext>`, sorted.
pub(super) fn h264_fixtures(ext: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(TESTDATA)
        .expect("testdata")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("h264_") && n.ends_with(&format!(".{ext}")))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no h264_*.{ext} fixtures in {TESTDATA}");
    names
}

/// The raw Annex B fixture holding the same access units as an MP4 fixture.
pub(super) fn raw_counterpart(mp4: &str) -> String {
    mp4.trim_end_matches(".mp4").trim_end_matches("_fragmented").to_owned() + ".h264"
}

pub(super) fn nals(annex_b: &[u8]) -> Vec<&[u8]> {
    AnnexBNals::new(annex_b).map(|(_, nal)| nal).collect()
}

pub(super) fn nal_type(nal: &[u8]) -> u8 {
    nal[0] & 0x1f
}

/// The first NAL unit of a type.
pub(super) fn first_nal(annex_b: &[u8], nal_unit_type: u8) -> &[u8] {
    nals(annex_b).into_iter().find(|n| nal_type(n) == nal_unit_type).expect("NAL type in stream")
}

/// Runs ffmpeg or ffprobe, feeding `stdin`; returns stdout and stderr. The comparison tests
/// need ffmpeg 5.1 (see testdata/README.md): a missing tool fails the test, never skips it.
pub(super) fn run_tool(program: &str, args: &[&str], stdin: &[u8]) -> (String, String) {
    let (stdout, stderr) = run_tool_binary(program, args, stdin);
    (String::from_utf8_lossy(&stdout).into_owned(), stderr)
}

/// [`run_tool`] for binary output.
pub(super) fn run_tool_binary(program: &str, args: &[&str], stdin: &[u8]) -> (Vec<u8>, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program} (these tests compare with ffmpeg 5.1): {e}"));
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // ffprobe may stop reading early; a broken pipe is not a failure.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().expect("stdin writer");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{program} {args:?} failed: {stderr}");
    (out.stdout, stderr)
}

/// `ffprobe -show_streams` of a raw H.264 stream as `key=value` pairs; `extra` goes first.
pub(super) fn ffprobe_stream(annex_b: &[u8], extra: &[&str]) -> HashMap<String, String> {
    let mut args = vec!["-v", "error"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-show_streams", "-of", "default=nw=1", "-f", "h264", "-i", "pipe:0"]);
    key_values(&run_tool("ffprobe", &args, annex_b).0)
}

/// ffprobe's `[SECTION]` blocks (e.g. `FRAME`, `PACKET`) as `key=value` maps, in order.
pub(super) fn ffprobe_sections(args: &[&str], stdin: &[u8], section: &str) -> Vec<HashMap<String, String>> {
    let mut all = vec!["-v", "error"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-of", "default"]);
    let (out, _) = run_tool("ffprobe", &all, stdin);
    let open = format!("[{section}]");
    out.split(&open).skip(1).map(key_values).collect()
}

pub(super) fn key_values(text: &str) -> HashMap<String, String> {
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// Encodes `frames` frames of ffmpeg's test pattern at `size` with `codec_args`, as Annex B.
pub(super) fn encode(size: &str, frames: u32, codec_args: &[&str]) -> Vec<u8> {
    let source = format!("testsrc2=size={size}:rate=25");
    let frames = frames.to_string();
    let mut args = vec!["-nostdin", "-v", "error", "-f", "lavfi", "-i", &source, "-frames:v", &frames, "-threads", "1"];
    args.extend_from_slice(codec_args);
    args.extend_from_slice(&["-f", "h264", "pipe:1"]);
    let out = Command::new("ffmpeg")
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run ffmpeg (these tests compare with ffmpeg 5.1): {e}"));
    assert!(out.status.success(), "ffmpeg {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// Streams x264 makes that the fixtures do not cover: other profiles, bit depths, chroma
/// formats, interlacing, aspect ratios, HRD, scaling matrices, cropping on every side.
/// Encoded once per test binary.
pub(super) fn x264_variants() -> &'static [(&'static str, Vec<u8>)] {
    static VARIANTS: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    VARIANTS.get_or_init(encode_x264_variants)
}

fn encode_x264_variants() -> Vec<(&'static str, Vec<u8>)> {
    let x264 = |size: &str, frames: u32, args: &[&str]| {
        let mut all = vec!["-c:v", "libx264"];
        all.extend_from_slice(args);
        encode(size, frames, &all)
    };
    vec![
        ("high10", x264("64x48", 6, &["-pix_fmt", "yuv420p10le", "-profile:v", "high10"])),
        ("high10_intra", x264("64x48", 2, &["-pix_fmt", "yuv420p10le", "-x264-params", "keyint=1"])),
        ("high422", x264("64x48", 6, &["-pix_fmt", "yuv422p"])),
        ("high422_intra", x264("64x48", 2, &["-pix_fmt", "yuv422p", "-x264-params", "keyint=1"])),
        ("high444", x264("64x48", 6, &["-pix_fmt", "yuv444p"])),
        ("high444_intra", x264("64x48", 2, &["-pix_fmt", "yuv444p", "-x264-params", "keyint=1"])),
        ("high444_lossless", x264("64x48", 3, &["-pix_fmt", "yuv444p", "-qp", "0"])),
        ("gbr", encode("64x48", 3, &["-c:v", "libx264rgb"])),
        ("monochrome", x264("64x48", 3, &["-pix_fmt", "gray"])),
        ("monochrome10", x264("64x48", 3, &["-pix_fmt", "gray10le"])),
        ("interlaced_mbaff", x264("320x180", 12, &["-flags", "+ildct", "-x264-params", "interlaced=1:tff=1"])),
        ("sar_table", x264("64x48", 3, &["-vf", "setsar=12/11"])),
        ("sar_extended", x264("64x48", 3, &["-vf", "setsar=7/5"])),
        ("level1b_baseline", x264("64x48", 3, &["-profile:v", "baseline", "-level", "1b"])),
        ("level1b_high", x264("64x48", 3, &["-profile:v", "high", "-level", "1b"])),
        ("nal_hrd", x264("64x48", 6, &["-x264-params", "nal-hrd=vbr:vbv-maxrate=500:vbv-bufsize=1000"])),
        (
            "signal_type",
            x264("64x48", 3, &["-x264-params", "overscan=show:videoformat=pal:chromaloc=1:colorprim=bt470bg:transfer=smpte170m:colormatrix=bt470bg"]),
        ),
        ("scaling_matrix", x264("64x48", 6, &["-x264-params", "cqm=jvt"])),
        ("crop_all_sides", x264("64x48", 3, &["-x264-params", "crop-rect=2,4,6,8"])),
        ("cavlc_refs", x264("64x48", 8, &["-coder", "0", "-refs", "3", "-bf", "3", "-x264-params", "b-pyramid=normal"])),
        ("frame_rate_24000_1001", encode("64x48", 3, &["-r", "24000/1001", "-c:v", "libx264"])),
    ]
}

/// The avcC record ffmpeg's MP4 muxer writes for a raw stream (fragmented, so it can pipe).
pub(super) fn ffmpeg_avcc(annex_b: &[u8]) -> Vec<u8> {
    let args = [
        "-v",
        "error",
        "-f",
        "h264",
        "-i",
        "pipe:0",
        "-c",
        "copy",
        "-f",
        "mp4",
        "-movflags",
        "frag_keyframe+empty_moov",
        "pipe:1",
    ];
    let (mp4, _) = run_tool_binary("ffmpeg", &args, annex_b);
    find_box(&mp4, b"avcC").to_vec()
}

/// Finds the payload of the first box of type `fourcc` by scanning (enough for the fixtures,
/// whose `moov` precedes `mdat`).
pub(super) fn find_box<'a>(file: &'a [u8], fourcc: &[u8; 4]) -> &'a [u8] {
    let at = file.windows(4).position(|w| w == fourcc).expect("box in file");
    let size = u32::from_be_bytes(file[at - 4..at].try_into().expect("4 bytes")) as usize;
    &file[at + 4..at - 4 + size]
}

/// Writes H.264 syntax elements MSB first, for hand-made NAL units.
#[derive(Debug, Default)]
pub(super) struct BitWriter {
    bytes: Vec<u8>,
    bit_len: usize,
}

impl BitWriter {
    pub(super) fn new() -> Self {
        Self::default()
    }

    pub(super) fn bits(&mut self, n: u32, value: u64) -> &mut Self {
        for i in (0..n).rev() {
            if self.bit_len % 8 == 0 {
                self.bytes.push(0);
            }
            if (value >> i) & 1 == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.bit_len % 8);
            }
            self.bit_len += 1;
        }
        self
    }

    pub(super) fn flag(&mut self, v: bool) -> &mut Self {
        self.bits(1, u64::from(v))
    }

    /// ue(v) (9.1).
    pub(super) fn ue(&mut self, v: u32) -> &mut Self {
        let code = u64::from(v) + 1;
        let len = 64 - code.leading_zeros();
        self.bits(len - 1, 0).bits(len, code)
    }

    /// se(v) (9.1.1).
    pub(super) fn se(&mut self, v: i32) -> &mut Self {
        let k = if v > 0 { 2 * v as i64 - 1 } else { -2 * v as i64 };
        self.ue(k as u32)
    }

    /// The NAL unit: `header`, the bits, `rbsp_trailing_bits()`, emulation prevention added.
    pub(super) fn nal(&self, header: u8) -> Vec<u8> {
        let mut rbsp = Self { bytes: self.bytes.clone(), bit_len: self.bit_len };
        rbsp.bits(1, 1);
        let mut out = vec![header];
        let mut zeros = 0;
        for &b in &rbsp.bytes {
            if zeros >= 2 && b <= 3 {
                out.push(3);
                zeros = 0;
            }
            zeros = if b == 0 { zeros + 1 } else { 0 };
            out.push(b);
        }
        out
    }
}

/// A deterministic xorshift64 generator for the bit-flip tests.
pub(super) struct XorShift(pub(super) u64);

impl XorShift {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}
