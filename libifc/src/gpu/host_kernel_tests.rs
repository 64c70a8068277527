//! The CUDA preprocessing kernel's own source, compiled as C++ through `kernel/host_shim.h`
//! (build.rs) and run on the CPU over real decoded fixture frames: every output element must
//! be within 1/255 (one level of the 0–255 pixel scale, after normalisation) of the f64
//! reference and of the CPU fast path. Also checks that `PreprocessParams` has the kernel
//! struct's layout.

#![allow(unsafe_code)]

use super::params::{KernelPlan, PlaneAddresses, PreprocessParams, TapAddresses, BLOCK_DIM};
use crate::codec::ColourDescription;
use crate::preprocess::fixture_tests::view;
use crate::preprocess::reference::{decode_output as decode, max_level_difference as worst_levels, preprocess_f64};
use crate::preprocess::{
    output_len_bytes, ChannelOrder, ColourMatrix, DType, Fit, FrameView, Layout, PixelFormat, Plane, PreprocessSpec,
    Preprocessor, Rect, Resize,
};

extern "C" {
    fn ifc_host_preprocess(params: *const PreprocessParams, grid: *const u32, block: *const u32);
    fn ifc_host_preprocess_params_layout(out: *mut usize, capacity: usize) -> usize;
}

/// The first frame of a fixture decoded by ffmpeg to raw `format` samples, with its size.
fn decode_first_frame(name: &str, format: PixelFormat) -> (u32, u32, Vec<u8>) {
    crate::preprocess::fixture_tests::decode_first_frame(name, format.ffmpeg_name())
}

/// Runs the host build of the kernel: image `batch_index` of a batch of `batch` images.
fn run_kernel(frame: &FrameView<'_>, spec: &PreprocessSpec, batch: usize, batch_index: usize) -> Vec<u8> {
    let plan = KernelPlan::new(spec, frame.format, frame.width, frame.height, &frame.colour).expect("valid spec");
    let mut out = vec![0xa5u8; output_len_bytes(spec, batch)];
    let address = |bytes: &[u8]| bytes.as_ptr() as u64;
    let planes = PlaneAddresses {
        luma: address(frame.planes[0].data),
        chroma_u: address(frame.planes[1].data),
        chroma_v: address(frame.planes[2].data),
        luma_stride_bytes: frame.planes[0].stride_bytes as u64,
        chroma_stride_bytes: frame.planes[1].stride_bytes as u64,
    };
    let taps = TapAddresses {
        x_start: plan.taps_x_start.as_ptr() as u64,
        x_weight: plan.taps_x_weight.as_ptr() as u64,
        y_start: plan.taps_y_start.as_ptr() as u64,
        y_weight: plan.taps_y_weight.as_ptr() as u64,
    };
    let image = &mut out[batch_index * plan.image_len_bytes..(batch_index + 1) * plan.image_len_bytes];
    let params = plan.params(planes, taps, image.as_mut_ptr() as u64);
    let (grid, block) = (plan.grid_dim(), BLOCK_DIM);
    // SAFETY: every address in `params` points into memory alive for the call (the frame's
    // planes, the plan's taps, `out`), and the plan was built for this frame's format and size,
    // so the kernel reads only rows/columns inside the planes (FrameView was validated by the
    // CPU runs below on the same frame) and writes only image `batch_index` of `out`.
    unsafe { ifc_host_preprocess(&params, [grid.0, grid.1, grid.2].as_ptr(), [block.0, block.1, block.2].as_ptr()) };
    out
}

/// Kernel vs reference and vs CPU path for one frame and spec; returns the two worst
/// differences in levels.
fn check(what: &str, frame: &FrameView<'_>, spec: &PreprocessSpec) -> (f64, f64) {
    let (batch, index) = (2, 1);
    let kernel_out = run_kernel(frame, spec, batch, index);
    let image_len = output_len_bytes(spec, 1);
    // Image 0 of the batch is untouched: the kernel writes only its own image.
    assert!(kernel_out[..image_len].iter().all(|&b| b == 0xa5), "{what}: wrote outside image {index}");
    let kernel = decode(spec.dtype, &kernel_out[image_len..]);

    let (reference, _) = preprocess_f64(frame, spec).expect("reference runs");
    let mut cpu_out = vec![0u8; output_len_bytes(spec, 1)];
    Preprocessor::new(spec.clone()).expect("spec").run(frame, &mut cpu_out, 0).expect("CPU path runs");
    let cpu: Vec<f64> = decode(spec.dtype, &cpu_out).into_iter().map(f64::from).collect();

    // The reference is unrounded: one rounding (the kernel's). The CPU path's values are
    // rounded to the element type too: one rounding on each side.
    let vs_reference = worst_levels(spec, &kernel, &reference, 1.0);
    let vs_cpu = worst_levels(spec, &kernel, &cpu, 2.0);
    eprintln!("{what}: max |kernel - reference| = {vs_reference:.5} levels, max |kernel - CPU| = {vs_cpu:.5} levels");
    assert!(vs_reference <= 1.0, "{what}: kernel differs from the f64 reference by {vs_reference} levels");
    assert!(vs_cpu <= 1.0, "{what}: kernel differs from the CPU path by {vs_cpu} levels");
    (vs_reference, vs_cpu)
}

fn specs() -> Vec<(&'static str, PreprocessSpec)> {
    let base = PreprocessSpec::default();
    let imagenet = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
    vec![
        ("yolo 640 letterbox, f32 NCHW", base.clone()),
        ("224 area stretch, imagenet, BGR NHWC", {
            base.clone()
                .with_output_size(224, 224)
                .with_resize(Resize::Area)
                .with_fit(Fit::Stretch)
                .with_normalisation(1.0 / 255.0, imagenet.0, imagenet.1)
                .with_order(ChannelOrder::Bgr)
                .with_layout(Layout::Nhwc)
        }),
        ("odd ROI area letterbox pad colour, f16", {
            base.clone()
                .with_output_size(97, 61)
                .with_resize(Resize::Area)
                .with_fit(Fit::Letterbox { pad: [10, 200, 33] })
                .with_roi(Some(Rect::new(37, 21, 201, 155)))
                .with_dtype(DType::F16)
        }),
        ("upscale ROI bilinear, u8 NHWC, scale 1", {
            base.clone()
                .with_output_size(300, 500)
                .with_roi(Some(Rect::new(3, 5, 100, 60)))
                .with_normalisation(1.0, [0.0; 3], [1.0; 3])
                .with_layout(Layout::Nhwc)
                .with_dtype(DType::U8)
        }),
        ("BT.2020 full range override, mean/std, f16 NCHW BGR", {
            base.clone()
                .with_output_size(128, 96)
                .with_matrix(Some(ColourMatrix::Bt2020))
                .with_full_range(Some(true))
                .with_normalisation(1.0 / 127.5, [1.0; 3], [1.0, 0.5, 2.0])
                .with_order(ChannelOrder::Bgr)
                .with_dtype(DType::F16)
        }),
        ("u8 NCHW stretch to 1x1 area", {
            base.clone()
                .with_output_size(1, 1)
                .with_resize(Resize::Area)
                .with_fit(Fit::Stretch)
                .with_normalisation(1.0, [0.0; 3], [1.0; 3])
                .with_dtype(DType::U8)
        }),
    ]
}

#[test]
fn kernel_matches_reference_and_cpu_path_on_8_and_10_bit_fixtures() {
    let fixtures = [
        ("h264_main_320x240_25.mp4", [PixelFormat::Yuv420p, PixelFormat::Nv12]),
        ("h264_fullrange_bt709_320x240_25.mp4", [PixelFormat::Yuv420p, PixelFormat::Nv12]),
        ("hevc_main10_320x240_25.mp4", [PixelFormat::Yuv420p10le, PixelFormat::P010le]),
    ];
    let mut checked = 0;
    for (name, formats) in fixtures {
        for format in formats {
            let (width, height, raw) = decode_first_frame(name, format);
            // The colour description the fixture declares (full range BT.709 for one of them).
            let colour = if name.contains("fullrange_bt709") {
                ColourDescription { matrix: 1, full_range: true, ..ColourDescription::default() }
            } else {
                ColourDescription::default()
            };
            let frame = view(format, width, height, &raw, colour);
            for (what, spec) in specs() {
                check(&format!("{name} {format:?} {what}"), &frame, &spec);
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6 * specs().len());
}

#[test]
fn padded_strides_are_honoured() {
    // The NVDEC surface case: rows longer than the picture (pitch), chroma after the luma.
    let (width, height, raw) = decode_first_frame("hevc_main10_320x240_25.mp4", PixelFormat::P010le);
    let row = width as usize * 2;
    let pitch = row + 128;
    let mut padded = vec![0xffu8; pitch * height as usize * 3 / 2];
    for (dst, src) in padded.chunks_exact_mut(pitch).zip(raw.chunks_exact(row)) {
        dst[..row].copy_from_slice(src);
    }
    let (y, uv) = padded.split_at(pitch * height as usize);
    let frame = FrameView::new(
        PixelFormat::P010le,
        width,
        height,
        [Plane::new(y, pitch), Plane::new(uv, pitch), Plane::default()],
        ColourDescription::default(),
    );
    check("P010 with a 128-byte pitch pad", &frame, &PreprocessSpec::default().with_output_size(320, 180));
}

#[test]
fn params_layout_matches_the_kernel_struct() {
    let mut theirs = [0usize; 64];
    // SAFETY: the function writes at most `capacity` values into the array it is given.
    let n = unsafe { ifc_host_preprocess_params_layout(theirs.as_mut_ptr(), theirs.len()) };
    use std::mem::{offset_of, size_of};
    type P = PreprocessParams;
    let ours = [
        size_of::<P>(),
        offset_of!(P, luma),
        offset_of!(P, chroma_u),
        offset_of!(P, chroma_v),
        offset_of!(P, luma_stride_bytes),
        offset_of!(P, chroma_stride_bytes),
        offset_of!(P, taps_x_start),
        offset_of!(P, taps_x_weight),
        offset_of!(P, taps_y_start),
        offset_of!(P, taps_y_weight),
        offset_of!(P, out),
        offset_of!(P, coeff_u),
        offset_of!(P, coeff_v),
        offset_of!(P, coeff_bias),
        offset_of!(P, y_gain),
        offset_of!(P, gain),
        offset_of!(P, offset),
        offset_of!(P, pad),
        offset_of!(P, rgb_index),
        offset_of!(P, sample_kind),
        offset_of!(P, interleaved),
        offset_of!(P, out_width),
        offset_of!(P, out_height),
        offset_of!(P, content_left),
        offset_of!(P, content_top),
        offset_of!(P, content_width),
        offset_of!(P, content_height),
        offset_of!(P, taps_x_per_output),
        offset_of!(P, taps_y_per_output),
        offset_of!(P, layout),
        offset_of!(P, dtype),
    ];
    assert_eq!(&theirs[..n], &ours[..], "size, then field offsets in declaration order");
}
