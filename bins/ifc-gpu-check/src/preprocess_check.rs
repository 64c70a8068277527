//! CUDA preprocessing on the GPU against the CPU: every output element within 1/255 (one
//! level) of the f64 reference and of the CPU path, on uploaded frames; then the kernel's
//! time against its floor, (bytes read + bytes written) / measured device-to-device copy
//! bandwidth. The kernel is timed as back-to-back launches on one stream captured into a CUDA
//! graph (no host gaps between launches), and as plain stream launches for comparison; the
//! floor row is a measurement, not a gate, until a device run has shown what is reachable.

use ifc::gpu::{Device, DeviceBuffer, GpuError, GpuPreprocessor, KernelPlan, UploadedFrame};
use ifc::preprocess::reference::{decode_output, max_level_difference, preprocess_f64};
use ifc::preprocess::{output_len_bytes, ChannelOrder, DType, Fit, Layout, PreprocessSpec, Preprocessor, Resize};

use crate::frames::RawFrame;
use crate::report::Report;

/// The goal for the kernel against its bandwidth floor (reported, not enforced).
const FLOOR_GOAL: f64 = 0.70;

fn specs() -> Vec<(&'static str, PreprocessSpec)> {
    let base = PreprocessSpec::default();
    vec![
        ("yolo640-f32-nchw", base.clone()),
        ("yolo640-f16-nchw", base.clone().with_dtype(DType::F16)),
        (
            "224-area-imagenet-bgr-nhwc",
            base.clone()
                .with_output_size(224, 224)
                .with_resize(Resize::Area)
                .with_fit(Fit::Stretch)
                .with_normalisation(1.0 / 255.0, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
                .with_order(ChannelOrder::Bgr)
                .with_layout(Layout::Nhwc),
        ),
        ("320x256-u8-nhwc", base.with_output_size(320, 256).with_dtype(DType::U8).with_layout(Layout::Nhwc)),
    ]
}

pub fn run(device: &Device, frames: &[RawFrame], report: &mut Report) {
    for frame in frames {
        for (name, spec) in specs() {
            let check = format!("preprocess {} {}", frame.name, name);
            match compare(device, frame, &spec) {
                Ok((vs_reference, vs_cpu)) => report.add(
                    check,
                    vs_reference <= 1.0 && vs_cpu <= 1.0,
                    format!(
                        "max {vs_reference:.4} levels from the f64 reference, {vs_cpu:.4} from the CPU path (limit 1)"
                    ),
                ),
                Err(e) => report.add(check, false, e.to_string()),
            }
        }
    }
    if let Some(frame) = frames.first() {
        match time_against_floor(device, frame) {
            Ok(line) => report.row("kernel vs bandwidth floor", "-", None, &line.1),
            Err(e) => report.add("kernel vs bandwidth floor", false, e.to_string()),
        }
    }
}

/// Image 1 of a batch of 2 from the GPU, against the reference and the CPU path, in levels.
fn compare(device: &Device, frame: &RawFrame, spec: &PreprocessSpec) -> Result<(f64, f64), GpuError> {
    let view = frame.view();
    let uploaded = UploadedFrame::upload(device, &view)?;
    let mut gpu = GpuPreprocessor::new(device, spec.clone())?;
    let image_len = output_len_bytes(spec, 1);
    let out = DeviceBuffer::alloc(device, 2 * image_len)?;
    gpu.run(&uploaded.view(), &out, 1)?;
    gpu.done()?.wait()?;
    let mut bytes = vec![0u8; image_len];
    out.copy_to_host(image_len, &mut bytes)?;
    let ours = decode_output(spec.dtype, &bytes);

    let (reference, _) = preprocess_f64(&view, spec)?;
    let mut cpu_bytes = vec![0u8; image_len];
    Preprocessor::new(spec.clone())?.run(&view, &mut cpu_bytes, 0)?;
    let cpu: Vec<f64> = decode_output(spec.dtype, &cpu_bytes).into_iter().map(f64::from).collect();
    Ok((max_level_difference(spec, &ours, &reference, 1.0), max_level_difference(spec, &ours, &cpu, 2.0)))
}

/// `(fraction of the floor reached, detail)` for the YOLO f16 spec on the first frame.
fn time_against_floor(device: &Device, frame: &RawFrame) -> Result<(f64, String), GpuError> {
    const LAUNCHES: usize = 200;
    const COPIES: usize = 20;
    let spec = PreprocessSpec::default().with_dtype(DType::F16);
    let view = frame.view();
    let uploaded = UploadedFrame::upload(device, &view)?;
    let mut gpu = GpuPreprocessor::new(device, spec.clone())?;
    let out = DeviceBuffer::alloc(device, output_len_bytes(&spec, 1))?;
    let device_frame = uploaded.view();
    for _ in 0..10 {
        gpu.run(&device_frame, &out, 0)?;
    }
    device.synchronize()?;
    let stream_ms = device.time_ms(|| {
        for _ in 0..LAUNCHES {
            gpu.run(&device_frame, &out, 0)?;
        }
        Ok(())
    })? / LAUNCHES as f32;
    // The same launches captured into a graph and replayed: no host gaps between kernels.
    let graph = device.time_graph_ms(LAUNCHES, || gpu.run(&device_frame, &out, 0).map(|_| ()));
    let graph_ms = graph.as_ref().ok().map(|ms| ms / LAUNCHES as f32);
    let kernel_ms = graph_ms.unwrap_or(stream_ms);

    // Device-to-device copy bandwidth: each byte is read once and written once.
    let copy_len = 512 << 20;
    let src = DeviceBuffer::alloc(device, copy_len)?;
    let mut dst = DeviceBuffer::alloc(device, copy_len)?;
    dst.copy_from_device_async(device, &src, copy_len)?;
    device.synchronize()?;
    let copy_ms = device.time_ms(|| {
        for _ in 0..COPIES {
            dst.copy_from_device_async(device, &src, copy_len)?;
        }
        Ok(())
    })? / COPIES as f32;
    let bandwidth_bytes_per_ms = 2.0 * copy_len as f64 / f64::from(copy_ms);

    let plan = KernelPlan::new(&spec, frame.format, frame.width, frame.height, &view.colour)?;
    let (read, written) = plan.traffic_bytes(frame.format);
    let floor_ms = (read + written) as f64 / bandwidth_bytes_per_ms;
    let fraction = floor_ms / f64::from(kernel_ms);
    let detail = format!(
        "{} {}x{} -> 640x640 f16: kernel {:.4} ms ({}; stream launches {:.4} ms), floor {:.4} ms ({} B read + {} B written at {:.0} GB/s copy bandwidth): {:.0}% of floor (goal {:.0}%, not enforced)",
        frame.format.ffmpeg_name(),
        frame.width,
        frame.height,
        kernel_ms,
        match &graph {
            Ok(_) => "CUDA graph of back-to-back launches".to_owned(),
            Err(e) => format!("graph capture failed: {e}; stream launches"),
        },
        stream_ms,
        floor_ms,
        read,
        written,
        bandwidth_bytes_per_ms / 1e6,
        fraction * 100.0,
        FLOOR_GOAL * 100.0
    );
    Ok((fraction, detail))
}
