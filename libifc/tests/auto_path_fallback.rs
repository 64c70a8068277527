//! `BackendPreference::Auto` on this machine: the path it takes is the one the probe allows,
//! it is logged exactly once per process however many decoders open, and on a machine with
//! no CUDA driver (CI) it is the CPU path with the reason "no CUDA driver".

use std::process::Command;

use ifc::codec::Codec;
use ifc::decode::{open_decoder, DecoderOptions};
use ifc::gpu_path::{choose_path, probe, GpuPath};

#[path = "support/captured_log.rs"]
mod captured_log;
use captured_log::CapturedLog;

fn loader_knows(library: &str) -> bool {
    let out = Command::new("/sbin/ldconfig").arg("-p").output().expect("ldconfig -p runs");
    String::from_utf8_lossy(&out.stdout).contains(library)
}

#[test]
fn auto_takes_the_probed_path_and_logs_it_once() {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber in this test binary");

    let expected = choose_path(&probe());
    for stream_id in 0..3 {
        let decoder =
            open_decoder(DecoderOptions::new(Codec::H264).with_stream_id(stream_id)).expect("a decoder opens");
        let backend = if expected.path == GpuPath::NvdecCuda { "nvdec" } else { "libavcodec" };
        assert_eq!(decoder.backend_name(), backend, "Auto follows the probe: {expected:?}");
    }

    let text = log.text();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("processing path chosen")).collect();
    assert_eq!(lines.len(), 1, "logged once for three decoders:\n{text}");
    assert!(
        lines[0].contains(" INFO ") && lines[0].contains(&expected.reason),
        "path and reason in the line: {}",
        lines[0]
    );
    assert!(lines[0].contains(&expected.path.to_string()), "{}", lines[0]);

    if cfg!(feature = "cuda") && !loader_knows("libcuda.so.1") {
        assert_eq!(expected.path, GpuPath::Cpu);
        assert!(lines[0].contains("no CUDA driver: libcuda.so.1 did not load"), "{}", lines[0]);
    }
    if !cfg!(feature = "cuda") {
        assert!(lines[0].contains("built without the `cuda` feature"), "{}", lines[0]);
    }
}
