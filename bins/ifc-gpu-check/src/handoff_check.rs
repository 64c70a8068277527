//! The hand-off: preprocessing writes the batch into a `cuMemAlloc` buffer with no host↔device
//! copy in between (counted by ifc's copy counters), and a second process — this binary
//! again, as Triton would — opens the buffer's IPC handle and reads back exactly the bytes the
//! first process sees.

use std::process::{Command, ExitCode};

use ifc::gpu::{copy_counts, Device, DeviceBuffer, GpuError, GpuPreprocessor, IpcMapping, IpcMemHandle, UploadedFrame};
use ifc::preprocess::{output_len_bytes, PreprocessSpec};

use crate::frames::RawFrame;
use crate::report::Report;

pub const CHILD_FLAG: &str = "--handoff-child";

const BATCH: usize = 4;
const FRAMES: usize = 32;

pub fn run(device: &Device, frames: &[RawFrame], report: &mut Report) {
    let Some(frame) = frames.first() else { return };
    if let Err(e) = rows(device, frame, report) {
        report.add("handoff", false, e.to_string());
    }
}

fn rows(device: &Device, frame: &RawFrame, report: &mut Report) -> Result<(), GpuError> {
    let spec = PreprocessSpec::default();
    let len = output_len_bytes(&spec, BATCH);
    // The frame reaches the device once (the CPU-decode path's upload); with NVDEC it is
    // already there. Plan and taps are set up by a first run.
    let uploaded = UploadedFrame::upload(device, &frame.view())?;
    let device_frame = uploaded.view();
    let mut gpu = GpuPreprocessor::new(device, spec)?;
    let out = DeviceBuffer::alloc(device, len)?;
    gpu.run(&device_frame, &out, 0)?;
    device.synchronize()?;

    let before = copy_counts();
    for i in 0..FRAMES {
        gpu.run(&device_frame, &out, i % BATCH)?;
        if i % BATCH == BATCH - 1 {
            // What the Triton backend does before sending a request for the batch.
            gpu.done()?.wait()?;
        }
    }
    let after = copy_counts();
    let h2d = after.host_to_device - before.host_to_device;
    let d2h = after.device_to_host - before.device_to_host;
    report.add(
        "copies between device frame and Triton-ready batch",
        h2d == 0 && d2h == 0,
        format!("{FRAMES} frames in batches of {BATCH}: {h2d} host->device, {d2h} device->host (must be 0)"),
    );

    let mut expected = vec![0u8; len];
    out.copy_to_host(0, &mut expected)?;
    let (pass, detail) = read_by_child(device, &out, &expected);
    // The buffer outlived the child's reads: it is dropped only here.
    drop(out);
    report.add("IPC handle opened by a second process", pass, detail);
    Ok(())
}

/// Exports `buffer`'s IPC handle, has a second process (this binary, as Triton would) open it
/// and read `expected.len()` bytes, and compares them with `expected`. `(pass, detail)`.
pub fn read_by_child(device: &Device, buffer: &DeviceBuffer, expected: &[u8]) -> (bool, String) {
    let handle = match buffer.ipc_handle() {
        Ok(handle) => handle,
        Err(e) => return (false, format!("cuIpcGetMemHandle: {e}")),
    };
    let path = std::env::temp_dir().join(format!("ifc-gpu-check-handoff-{}.bin", std::process::id()));
    if let Err(e) = std::fs::write(&path, expected) {
        return (false, format!("{}: {e}", path.display()));
    }
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return (false, format!("current_exe: {e}")),
    };
    let child = Command::new(exe)
        .arg(CHILD_FLAG)
        .arg(hex(&handle.0))
        .arg(device.ordinal().to_string())
        .arg(expected.len().to_string())
        .arg(&path)
        .output();
    let _ = std::fs::remove_file(&path);
    match child {
        Ok(out) => (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_owned() + &String::from_utf8_lossy(&out.stderr),
        ),
        Err(e) => (false, format!("could not start the child: {e}")),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 64]> {
    let mut out = [0u8; 64];
    if text.len() != 128 {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// The second process: `--handoff-child <handle hex> <device> <bytes> <expected file>`.
pub fn child_main(args: Vec<String>) -> ExitCode {
    match child(&args) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            println!("{message}");
            ExitCode::from(1)
        }
    }
}

fn child(args: &[String]) -> Result<String, String> {
    let [handle, ordinal, len, expected_path] = args else {
        return Err(format!("{CHILD_FLAG} needs <handle hex> <device> <bytes> <expected file>"));
    };
    let handle = unhex(handle).ok_or("handle is not 128 hex digits")?;
    let ordinal: usize = ordinal.parse().map_err(|_| "device is not a number")?;
    let len: usize = len.parse().map_err(|_| "bytes is not a number")?;
    let expected = std::fs::read(expected_path).map_err(|e| format!("{expected_path}: {e}"))?;
    let device = Device::open(ordinal).map_err(|e| e.to_string())?;
    let mapping = IpcMapping::open(&device, &IpcMemHandle(handle)).map_err(|e| e.to_string())?;
    let mut got = vec![0u8; len];
    mapping.copy_to_host(0, &mut got).map_err(|e| e.to_string())?;
    if got == expected {
        Ok(format!("pid {}: read {len} B through the IPC handle, identical to the exporter's", std::process::id()))
    } else {
        let first = got.iter().zip(&expected).position(|(a, b)| a != b).unwrap_or(got.len().min(expected.len()));
        Err(format!("pid {}: {len} B read differ from the exporter's, first at byte {first}", std::process::id()))
    }
}
