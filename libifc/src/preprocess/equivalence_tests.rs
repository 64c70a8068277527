//! The fast path against [`reference::preprocess_f64`] over random frames and specs, with and
//! without SIMD; plus the invariants that need a whole run (padding, batches, reuse, bad
//! input never panics).

use super::reference::preprocess_f64;
use super::*;
use crate::codec::ColourDescription;

/// SplitMix64: small, deterministic, good enough to spread test cases.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }

    pub(super) fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.next_u64() as usize % items.len()]
    }
}

/// A frame's planes, owned; random samples (10-bit ones with garbage in the ignored bits) and
/// random padding at the end of each row.
pub(super) struct OwnedFrame {
    format: PixelFormat,
    width: u32,
    height: u32,
    planes: Vec<(Vec<u8>, usize)>,
    colour: ColourDescription,
}

impl OwnedFrame {
    pub(super) fn random(rng: &mut Rng, format: PixelFormat, width: u32, height: u32) -> Self {
        let sample = if format.bit_depth() > 8 { 2 } else { 1 };
        let (w, h) = (width as usize, height as usize);
        let shapes = match format {
            PixelFormat::Yuv420p | PixelFormat::Yuv420p10le => vec![(w, h), (w / 2, h / 2), (w / 2, h / 2)],
            PixelFormat::Nv12 | PixelFormat::P010le => vec![(w, h), (w, h / 2)],
        };
        let planes = shapes
            .into_iter()
            .map(|(samples, rows)| {
                let stride = samples * sample + rng.range(0, 9) as usize;
                ((0..stride * rows).map(|_| rng.next_u64() as u8).collect(), stride)
            })
            .collect();
        let colour = ColourDescription {
            matrix: rng.pick(&[0, 1, 2, 5, 6, 9, 10]),
            full_range: rng.next_u64() % 2 == 0,
            ..ColourDescription::default()
        };
        Self { format, width, height, planes, colour }
    }

    pub(super) fn view(&self) -> FrameView<'_> {
        let mut planes = [Plane::default(); 3];
        for (p, (data, stride)) in planes.iter_mut().zip(&self.planes) {
            *p = Plane::new(data, *stride);
        }
        FrameView::new(self.format, self.width, self.height, planes, self.colour)
    }
}

fn random_spec(rng: &mut Rng, width: u32, height: u32) -> PreprocessSpec {
    let roi = match rng.range(0, 2) {
        0 => None,
        _ => {
            let (x, y) = (rng.range(0, width - 1), rng.range(0, height - 1));
            Some(Rect::new(x, y, rng.range(1, width - x), rng.range(1, height - y)))
        }
    };
    // Mostly modest sizes; sometimes a single pixel or a large upscale.
    let mut size = || match rng.range(0, 5) {
        0 => rng.range(1, 3),
        1 => rng.range(60, 150),
        _ => rng.range(4, 48),
    };
    let (out_w, out_h) = (size(), size());
    let fit = if rng.next_u64() % 3 == 0 {
        Fit::Stretch
    } else {
        Fit::Letterbox { pad: [rng.range(0, 255) as u8, rng.range(0, 255) as u8, rng.range(0, 255) as u8] }
    };
    let dtype = rng.pick(&[DType::F32, DType::F16, DType::U8]);
    let (scale, mean, std) = match dtype {
        DType::U8 => {
            (rng.pick(&[1.0, 0.9]), [rng.unit() * 20.0, 0.0, -rng.unit() * 20.0], [1.0, rng.unit() + 0.5, 2.0])
        }
        _ => (
            rng.pick(&[1.0 / 255.0, 1.0, 0.003]),
            [rng.unit(), rng.unit() - 0.5, rng.unit() * 100.0],
            [rng.unit() + 0.05, 0.225, -(rng.unit() * 50.0 + 1.0)],
        ),
    };
    PreprocessSpec::default()
        .with_output_size(out_w, out_h)
        .with_resize(rng.pick(&[Resize::Bilinear, Resize::Area]))
        .with_fit(fit)
        .with_roi(roi)
        .with_matrix(rng.pick(&[
            None,
            Some(ColourMatrix::Bt601),
            Some(ColourMatrix::Bt709),
            Some(ColourMatrix::Bt2020),
        ]))
        .with_full_range(rng.pick(&[None, Some(false), Some(true)]))
        .with_normalisation(scale, mean, std)
        .with_order(rng.pick(&[ChannelOrder::Rgb, ChannelOrder::Bgr]))
        .with_layout(rng.pick(&[Layout::Nchw, Layout::Nhwc]))
        .with_dtype(dtype)
}

/// Output element `index` of `out` as f64.
fn element(out: &[u8], dtype: DType, index: usize) -> f64 {
    let bytes = &out[index * dtype.size_bytes()..(index + 1) * dtype.size_bytes()];
    match dtype {
        DType::F32 => f64::from(f32::from_ne_bytes(bytes.try_into().expect("4 bytes"))),
        DType::F16 => f64::from(f16::f16_bits_to_f32(u16::from_ne_bytes(bytes.try_into().expect("2 bytes")))),
        DType::U8 => f64::from(bytes[0]),
    }
}

/// Output channel of element `index`.
fn channel(spec: &PreprocessSpec, index: usize) -> usize {
    match spec.layout {
        Layout::Nchw => index / (spec.out_width as usize * spec.out_height as usize),
        Layout::Nhwc => index % 3,
    }
}

/// Checks `out` against the reference; returns the largest error in units of the 0–255 pixel
/// scale (1.0 is 1/255 of the 0–1 range).
fn check_against_reference(frame: &FrameView<'_>, spec: &PreprocessSpec, out: &[u8], what: &str) -> f64 {
    let (expected, _) = preprocess_f64(frame, spec).expect("reference accepts what the fast path accepted");
    let mut worst: f64 = 0.0;
    for (index, &want) in expected.iter().enumerate() {
        let got = element(out, spec.dtype, index);
        let k = channel(spec, index);
        // One pixel-scale unit in output units.
        let unit = f64::from(spec.scale / spec.std[k]).abs();
        let (want, slack) = match spec.dtype {
            DType::F32 => (want, 0.0),
            DType::F16 => (want, want.abs() * (-11f64).exp2() + (-24f64).exp2()),
            DType::U8 => (want.clamp(0.0, 255.0), 0.5),
        };
        let error = crate::test_tolerance::excess(got, want, slack) / unit;
        assert!(error <= 1.0, "{what}: element {index} (channel {k}) is {got}, reference {want}; spec {spec:?}");
        worst = worst.max(error);
    }
    worst
}

fn random_case(rng: &mut Rng) -> (OwnedFrame, PreprocessSpec) {
    let format = rng.pick(&[PixelFormat::Yuv420p, PixelFormat::Nv12, PixelFormat::Yuv420p10le, PixelFormat::P010le]);
    let mut dim = || 2 * if rng.next_u64() % 8 == 0 { rng.range(1, 2) } else { rng.range(1, 40) };
    let (width, height) = (dim(), dim());
    let frame = OwnedFrame::random(rng, format, width, height);
    let spec = random_spec(rng, width, height);
    (frame, spec)
}

#[test]
fn fast_path_matches_reference_with_and_without_simd() {
    let mut rng = Rng::new(0x1f_c0de);
    let (mut worst_f32, mut simd_ran) = (0.0f64, false);
    for case in 0..300 {
        let (frame, spec) = random_case(&mut rng);
        let view = frame.view();
        for portable in [false, true] {
            let mut pre = Preprocessor::new(spec.clone()).expect("valid spec");
            if portable {
                pre.force_portable();
            }
            simd_ran |= pre.uses_simd();
            let mut out = vec![0u8; output_len_bytes(&spec, 1)];
            let geometry = pre.run(&view, &mut out, 0).expect("valid frame and spec");
            let what = format!("case {case} ({}, simd {})", frame.format.ffmpeg_name(), pre.uses_simd());
            let worst = check_against_reference(&view, &spec, &out, &what);
            if spec.dtype == DType::F32 {
                worst_f32 = worst_f32.max(worst);
            }
            let (rx, ry) = geometry.to_source(geometry.pad_left, geometry.pad_top);
            let roi = spec.roi.unwrap_or(Rect::new(0, 0, frame.width, frame.height));
            assert_eq!((rx, ry), (f64::from(roi.x), f64::from(roi.y)));
            for (mx, my) in [(0.0, 0.0), (f64::from(spec.out_width) - 0.5, 1.25), (3.5, f64::from(spec.out_height))] {
                let (bx, by) = geometry.to_model(geometry.to_source(mx, my).0, geometry.to_source(mx, my).1);
                assert!((bx - mx).abs() < 1e-9 && (by - my).abs() < 1e-9, "{what}: {mx},{my} -> {bx},{by}");
            }
        }
    }
    // f32 arithmetic against f64 should be far inside the 1/255 tolerance.
    assert!(worst_f32 < 0.01, "worst f32 error {worst_f32} pixel units");
    if !simd_ran {
        eprintln!("note: this CPU has no AVX2+FMA; only the portable kernels were compared");
    }
}

#[test]
fn extreme_scale_factors_match_reference() {
    let mut rng = Rng::new(0xe4);
    let tiny = OwnedFrame::random(&mut rng, PixelFormat::Nv12, 2, 2);
    let wide = OwnedFrame::random(&mut rng, PixelFormat::Yuv420p10le, 1024, 512);
    let cases = [
        (&tiny, 700, 300, Resize::Bilinear, Fit::Stretch, None),
        (&tiny, 97, 64, Resize::Area, Fit::Letterbox { pad: [0, 255, 0] }, None),
        (&wide, 1, 1, Resize::Area, Fit::Stretch, None),
        (&wide, 1, 1, Resize::Bilinear, Fit::Letterbox { pad: [9; 3] }, None),
        (&wide, 3, 200, Resize::Area, Fit::Letterbox { pad: [9; 3] }, Some(Rect::new(1023, 0, 1, 512))),
        (&wide, 50, 50, Resize::Bilinear, Fit::Stretch, Some(Rect::new(511, 255, 1, 1))),
    ];
    for (frame, out_w, out_h, resize, fit, roi) in cases {
        let spec =
            PreprocessSpec::default().with_output_size(out_w, out_h).with_resize(resize).with_fit(fit).with_roi(roi);
        for portable in [false, true] {
            let mut pre = Preprocessor::new(spec.clone()).expect("valid spec");
            if portable {
                pre.force_portable();
            }
            let mut out = vec![0u8; output_len_bytes(&spec, 1)];
            pre.run(&frame.view(), &mut out, 0).expect("valid");
            let what = format!("{}x{} -> {out_w}x{out_h} {resize:?} {roi:?}", frame.width, frame.height);
            let worst = check_against_reference(&frame.view(), &spec, &out, &what);
            assert!(worst < 0.01, "{what}: {worst}");
        }
    }
}

#[test]
fn padding_is_exactly_the_pad_colour() {
    let mut rng = Rng::new(7);
    let frame = OwnedFrame::random(&mut rng, PixelFormat::Nv12, 64, 18);
    let pad = [3, 114, 250];
    for (layout, order) in [(Layout::Nchw, ChannelOrder::Rgb), (Layout::Nhwc, ChannelOrder::Bgr)] {
        let spec = PreprocessSpec::default()
            .with_output_size(32, 32)
            .with_fit(Fit::Letterbox { pad })
            .with_normalisation(1.0, [0.0; 3], [1.0; 3])
            .with_layout(layout)
            .with_order(order)
            .with_dtype(DType::U8);
        let mut out = vec![0u8; output_len_bytes(&spec, 1)];
        let g = preprocess_into(&frame.view(), &spec, &mut out, 0).expect("valid");
        // 64x18 into 32x32: content 32 wide and 18 * 32 / 64 = 9 high, at top (32 - 9) / 2 = 11.
        assert_eq!((g.content_width, g.content_height, g.pad_left, g.pad_top), (32, 9, 0.0, 11.0));
        let rgb = order.rgb_index();
        let mut pad_pixels = 0;
        for y in (0..32).filter(|y| !(11..20).contains(y)) {
            for x in 0..32 {
                for k in 0..3 {
                    let index = match layout {
                        Layout::Nchw => (k * 32 + y) * 32 + x,
                        Layout::Nhwc => (y * 32 + x) * 3 + k,
                    };
                    assert_eq!(out[index], pad[rgb[k]], "{layout:?} ({x}, {y}) channel {k}");
                }
                pad_pixels += 1;
            }
        }
        assert_eq!(pad_pixels, 32 * 23);
    }
}

#[test]
fn batch_images_land_at_their_offsets_and_leave_the_rest_alone() {
    let mut rng = Rng::new(11);
    let frame = OwnedFrame::random(&mut rng, PixelFormat::Yuv420p, 20, 10);
    let spec = PreprocessSpec::default().with_output_size(8, 8).with_dtype(DType::F16);
    let image = output_len_bytes(&spec, 1);
    let mut single = vec![0u8; image];
    preprocess_into(&frame.view(), &spec, &mut single, 0).expect("valid");
    let mut batch = vec![0xAAu8; output_len_bytes(&spec, 3)];
    preprocess_into(&frame.view(), &spec, &mut batch, 1).expect("valid");
    assert!(batch[..image].iter().chain(&batch[2 * image..]).all(|&b| b == 0xAA));
    assert_eq!(&batch[image..2 * image], &single[..]);
    assert_eq!(
        preprocess_into(&frame.view(), &spec, &mut batch, 3),
        Err(PreprocessError::OutputTooSmall { len_bytes: 3 * image, needed_bytes: 4 * image, batch_index: 3 })
    );
}

#[test]
fn a_reused_preprocessor_follows_size_changes() {
    let mut rng = Rng::new(12);
    let (a, b) = (
        OwnedFrame::random(&mut rng, PixelFormat::P010le, 40, 30),
        OwnedFrame::random(&mut rng, PixelFormat::P010le, 16, 32),
    );
    let spec = PreprocessSpec::default().with_output_size(24, 24).with_resize(Resize::Area);
    let fresh = |frame: &OwnedFrame| {
        let mut out = vec![0u8; output_len_bytes(&spec, 1)];
        preprocess_into(&frame.view(), &spec, &mut out, 0).expect("valid");
        out
    };
    let mut pre = Preprocessor::new(spec.clone()).expect("valid");
    let mut out = vec![0u8; output_len_bytes(&spec, 1)];
    for frame in [&a, &b, &a, &a] {
        pre.run(&frame.view(), &mut out, 0).expect("valid");
        assert_eq!(out, fresh(frame));
    }
}

#[test]
fn invalid_inputs_are_typed_errors() {
    let mut rng = Rng::new(13);
    let frame = OwnedFrame::random(&mut rng, PixelFormat::Yuv420p, 8, 8);
    let view = frame.view();
    let mut out = vec![0u8; output_len_bytes(&PreprocessSpec::default(), 1)];
    let run = |spec: PreprocessSpec, view: &FrameView<'_>, out: &mut [u8]| preprocess_into(view, &spec, out, 0);

    let roi = Rect::new(4, 0, 5, 8);
    let err = run(PreprocessSpec::default().with_roi(Some(roi)), &view, &mut out);
    assert_eq!(err, Err(PreprocessError::RoiOutsideFrame { roi, width: 8, height: 8 }));
    let err = run(PreprocessSpec::default().with_output_size(640, 0), &view, &mut out);
    assert_eq!(err, Err(PreprocessError::ZeroOutputSize { width: 640, height: 0 }));
    let err = run(PreprocessSpec::default().with_normalisation(1.0, [0.0; 3], [1.0, 1.0, 0.0]), &view, &mut out);
    assert_eq!(err, Err(PreprocessError::InvalidNormalisation { field: "std[2]", value: 0.0 }));
    let err = run(PreprocessSpec::default(), &view, &mut out[1..]);
    assert!(matches!(err, Err(PreprocessError::OutputTooSmall { .. })));

    let mut short = view;
    // Rows 0-2 at the stride, then one byte short of the last 4-sample row.
    short.planes[1].data = &short.planes[1].data[..3 * short.planes[1].stride_bytes + 3];
    assert!(matches!(
        run(PreprocessSpec::default(), &short, &mut out),
        Err(PreprocessError::PlaneTooSmall { plane: 1, .. })
    ));
    let mut odd = view;
    odd.height = 7;
    assert!(matches!(run(PreprocessSpec::default(), &odd, &mut out), Err(PreprocessError::OddSize { .. })));
    let mut narrow = view;
    narrow.planes[0].stride_bytes = 7;
    assert!(matches!(
        run(PreprocessSpec::default(), &narrow, &mut out),
        Err(PreprocessError::StrideTooSmall { plane: 0, .. })
    ));
    let mut ten_bit = view;
    ten_bit.format = PixelFormat::Yuv420p10le;
    assert!(matches!(run(PreprocessSpec::default(), &ten_bit, &mut out), Err(PreprocessError::StrideTooSmall { .. })));
}

/// Truncated planes, wrong strides, sizes, formats and ROIs: every run returns, and whatever
/// the fast path accepts the reference accepts too.
#[test]
fn mangled_frames_never_panic() {
    let mut rng = Rng::new(14);
    let mut out = vec![0u8; 20 * 20 * 3 * 4];
    for _ in 0..2000 {
        let (frame, spec) = random_case(&mut rng);
        let spec = spec.with_output_size(rng.range(1, 20), rng.range(1, 20));
        let mut view = frame.view();
        match rng.range(0, 5) {
            0 => {
                let p = rng.range(0, 2) as usize;
                let len = view.planes[p].data.len();
                view.planes[p].data = &view.planes[p].data[..rng.range(0, len as u32) as usize];
            }
            1 => view.planes[rng.range(0, 2) as usize].stride_bytes = rng.range(0, 200) as usize,
            2 => (view.width, view.height) = (rng.range(0, 100), rng.range(0, 100)),
            3 => {
                view.format =
                    rng.pick(&[PixelFormat::Yuv420p, PixelFormat::Nv12, PixelFormat::Yuv420p10le, PixelFormat::P010le])
            }
            _ => view.planes[rng.range(0, 2) as usize].stride_bytes = usize::MAX - rng.range(0, 3) as usize,
        }
        let fast = preprocess_into(&view, &spec, &mut out, 0);
        let reference = preprocess_f64(&view, &spec);
        assert_eq!(fast.is_ok(), reference.is_ok(), "{fast:?} vs {:?}", reference.map(|r| r.1));
        let mut rgb = vec![0u8; 100 * 100 * 3];
        let _ = convert_to_rgb24(&view, None, &mut rgb);
    }
}
