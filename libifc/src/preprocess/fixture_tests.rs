//! Real decoded frames (the fixtures, decoded by ffmpeg) through the CPU path, checked against
//! OpenCV's `cvtColor(COLOR_YUV2RGB_I420)` + `resize` and against the same frame in other
//! pixel formats. The OpenCV tests print why and pass when `python3` cannot import `cv2`
//! (`pip install opencv-python-headless numpy`); ffmpeg must be installed.

use std::io::Write;
use std::process::{Command, Stdio};

use super::*;
use crate::codec::ColourDescription;

fn fixture(name: &str) -> String {
    format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The first frame of a fixture as raw `pix_fmt` bytes, with its size (also used by the CUDA
/// kernel's host test).
pub(crate) fn decode_first_frame(name: &str, pix_fmt: &str) -> (u32, u32, Vec<u8>) {
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
        .arg(fixture(name))
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&probe.stdout);
    let mut size = text.trim().split(',').map(|n| n.parse::<u32>().expect("ffprobe prints a number"));
    let (width, height) = (size.next().expect("width"), size.next().expect("height"));
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(fixture(name))
        .args(["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", pix_fmt, "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(decoded.status.success(), "ffmpeg: {}", String::from_utf8_lossy(&decoded.stderr));
    (width, height, decoded.stdout)
}

/// Splits tightly packed raw 4:2:0 data into planes.
pub(crate) fn view(
    format: PixelFormat,
    width: u32,
    height: u32,
    raw: &[u8],
    colour: ColourDescription,
) -> FrameView<'_> {
    let sample = if format.bit_depth() > 8 { 2 } else { 1 };
    let (w, h) = (width as usize * sample, height as usize);
    assert_eq!(raw.len(), w * h * 3 / 2, "raw frame size");
    let (y, chroma) = raw.split_at(w * h);
    let planes = if format.interleaved_chroma() {
        [Plane::new(y, w), Plane::new(chroma, w), Plane::default()]
    } else {
        let (u, v) = chroma.split_at(w / 2 * h / 2);
        [Plane::new(y, w), Plane::new(u, w / 2), Plane::new(v, w / 2)]
    };
    FrameView::new(format, width, height, planes, colour)
}

fn run_f32(frame: &FrameView<'_>, spec: &PreprocessSpec) -> (Vec<f32>, Geometry) {
    let mut out = vec![0u8; output_len_bytes(spec, 1)];
    let geometry = preprocess_into(frame, spec, &mut out, 0).expect("valid frame");
    (out.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect(), geometry)
}

const OPENCV_SCRIPT: &str = r#"
import sys
import numpy as np, cv2
w, h, rx, ry, rw, rh, cw, ch, left, top, ow, oh, interp = map(int, sys.argv[1:])
yuv = np.frombuffer(sys.stdin.buffer.read(), np.uint8).reshape(h * 3 // 2, w)
rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
if cw == 0:
    out = rgb
else:
    out = np.full((oh, ow, 3), 114, np.uint8)
    out[top:top + ch, left:left + cw] = cv2.resize(rgb[ry:ry + rh, rx:rx + rw], (cw, ch), interpolation=interp)
sys.stdout.buffer.write(np.ascontiguousarray(out).tobytes())
"#;

/// Whether OpenCV can be used; says why not when it cannot.
fn opencv_available() -> bool {
    let probe = Command::new("python3").args(["-c", "import cv2, numpy"]).output();
    match probe {
        Ok(out) if out.status.success() => true,
        // A reference that cannot run is a failure, not a skip: scripts/setup.sh installs it.
        Ok(out) => panic!(
            "python3 cannot import cv2/numpy ({}): run scripts/setup.sh (pip install opencv-python-headless numpy)",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("python3 does not run ({e}); the OpenCV comparison needs python3 with cv2"),
    }
}

/// OpenCV's packed RGB for `yuv420p` input; `args` as in [`OPENCV_SCRIPT`] after `w, h`.
fn opencv_rgb(width: u32, height: u32, yuv: &[u8], args: [u32; 11]) -> Vec<u8> {
    let mut child = Command::new("python3")
        .args(["-c", OPENCV_SCRIPT, &width.to_string(), &height.to_string()])
        .args(args.map(|a| a.to_string()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().expect("stdin").write_all(yuv).expect("python reads the frame");
    let out = child.wait_with_output().expect("python finishes");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// OpenCV's I420 conversion clamps luma footroom (`max(0, Y - 16)`) before the matrix;
/// libswscale and ifc apply the matrix to the sample as it is. Lifting footroom samples to 16
/// (x264 left one in the first frame of `h264_main`) removes that known difference.
fn decode_for_opencv(name: &str) -> (u32, u32, Vec<u8>) {
    let (width, height, mut yuv) = decode_first_frame(name, "yuv420p");
    let luma = (width * height) as usize;
    yuv[..luma].iter_mut().for_each(|y| *y = (*y).max(16));
    (width, height, yuv)
}

#[test]
fn resize_matches_opencv_within_two_levels() {
    if !opencv_available() {
        return;
    }
    let (width, height, yuv) = decode_for_opencv("h264_main_320x240_25.mp4");
    // Unspecified matrix at 240 rows: BT.601 limited range, which is what OpenCV's I420 uses.
    let frame = view(PixelFormat::Yuv420p, width, height, &yuv, ColourDescription::default());
    let (linear, area) = (1, 3);
    let cases = [
        ("2x upscale, letterboxed", 640, 640, Resize::Bilinear, Fit::Letterbox { pad: [114; 3] }, None, linear),
        ("downscale by 1.43", 224, 224, Resize::Bilinear, Fit::Letterbox { pad: [114; 3] }, None, linear),
        ("area, by 2", 160, 160, Resize::Area, Fit::Letterbox { pad: [114; 3] }, None, area),
        ("area, by 1.6", 200, 150, Resize::Area, Fit::Stretch, None, area),
        ("odd ROI, stretched", 96, 64, Resize::Bilinear, Fit::Stretch, Some(Rect::new(37, 21, 201, 155)), linear),
        (
            "odd ROI, area",
            50,
            40,
            Resize::Area,
            Fit::Letterbox { pad: [114; 3] },
            Some(Rect::new(41, 9, 151, 201)),
            area,
        ),
    ];
    for (what, out_w, out_h, resize, fit, roi, interp) in cases {
        let spec = PreprocessSpec::default()
            .with_output_size(out_w, out_h)
            .with_resize(resize)
            .with_fit(fit)
            .with_roi(roi)
            .with_layout(Layout::Nhwc)
            .with_normalisation(1.0, [0.0; 3], [1.0; 3]);
        let (ours, g) = run_f32(&frame, &spec);
        let r = roi.unwrap_or(Rect::new(0, 0, width, height));
        let (left, top) = (g.pad_left as u32, g.pad_top as u32);
        let args = [r.x, r.y, r.width, r.height, g.content_width, g.content_height, left, top, out_w, out_h, interp];
        let theirs = opencv_rgb(width, height, &yuv, args);
        assert_eq!(theirs.len(), ours.len(), "{what}");
        let worst = crate::test_tolerance::worst(ours.iter().zip(&theirs).map(|(&a, &b)| (a - f32::from(b)).abs()));
        eprintln!("{what}: max |ifc - OpenCV| = {worst:.3} of 255");
        assert!(worst <= 2.0, "{what}: max difference {worst} levels");
    }
}

#[test]
fn rgb24_matches_opencv_cvtcolor() {
    if !opencv_available() {
        return;
    }
    let (width, height, yuv) = decode_for_opencv("h264_main_320x240_25.mp4");
    let frame = view(PixelFormat::Yuv420p, width, height, &yuv, ColourDescription::default());
    let mut ours = vec![0u8; (width * height * 3) as usize];
    convert_to_rgb24(&frame, None, &mut ours).expect("valid frame");
    let theirs = opencv_rgb(width, height, &yuv, [0; 11]);
    let worst = ours.iter().zip(&theirs).map(|(&a, &b)| a.abs_diff(b)).max();
    assert_eq!(theirs.len(), ours.len());
    // Both round the same exact value; they differ only where OpenCV's 20-bit fixed point
    // lands on the other side of a half.
    assert!(worst <= Some(1), "max difference {worst:?}");
}

/// The same pictures in planar and interleaved layouts must give identical tensors.
#[test]
fn interleaved_chroma_formats_give_the_same_output() {
    for (name, planar, interleaved) in [
        ("h264_main_320x240_25.mp4", PixelFormat::Yuv420p, PixelFormat::Nv12),
        ("hevc_main10_320x240_25.mp4", PixelFormat::Yuv420p10le, PixelFormat::P010le),
    ] {
        let (w, h, planar_raw) = decode_first_frame(name, planar.ffmpeg_name());
        let (_, _, interleaved_raw) = decode_first_frame(name, interleaved.ffmpeg_name());
        let colour = ColourDescription::default();
        let spec = PreprocessSpec::default().with_output_size(200, 120).with_roi(Some(Rect::new(3, 5, 300, 200)));
        let (a, _) = run_f32(&view(planar, w, h, &planar_raw, colour), &spec);
        let (b, _) = run_f32(&view(interleaved, w, h, &interleaved_raw, colour), &spec);
        assert!(a == b, "{name}: {planar:?} and {interleaved:?} differ");
    }
}

/// A 10-bit frame and the same frame reduced to 8 bits by ffmpeg must look alike: wrong
/// offsets or scaling for 10-bit samples would be off by many levels.
#[test]
fn ten_bit_frames_agree_with_their_8_bit_reduction() {
    let (w, h, ten) = decode_first_frame("hevc_main10_320x240_25.mp4", "yuv420p10le");
    let (_, _, eight) = decode_first_frame("hevc_main10_320x240_25.mp4", "yuv420p");
    let colour = ColourDescription::default();
    let spec = PreprocessSpec::default().with_output_size(160, 120).with_normalisation(1.0, [0.0; 3], [1.0; 3]);
    let (a, _) = run_f32(&view(PixelFormat::Yuv420p10le, w, h, &ten, colour), &spec);
    let (b, _) = run_f32(&view(PixelFormat::Yuv420p, w, h, &eight, colour), &spec);
    let diffs: Vec<f32> = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).collect();
    let mean = diffs.iter().sum::<f32>() / diffs.len() as f32;
    let worst = crate::test_tolerance::worst(diffs.iter().copied());
    eprintln!("10-bit vs 8-bit: mean {mean:.3}, max {worst:.3} levels");
    assert!(mean < 1.0 && worst < 4.0, "mean {mean}, max {worst}");
}
