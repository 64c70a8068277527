//! Generates the Triton gRPC client from `proto/` when the `triton` feature is on, and builds
//! the host (C++) version of the CUDA kernels when the `cuda` feature is on.
//!
//! Paths are relative to the crate, where cargo runs build scripts: a build script binary from
//! a shared build cache may have been compiled in another checkout, so nothing is compiled in.

fn main() {
    #[cfg(feature = "triton")]
    generate_triton_client();
    #[cfg(feature = "cuda")]
    build_host_kernels();
}

/// The CUDA kernels compiled as C++ through `host_shim.h`, for the tests that check their
/// arithmetic on the CPU. A static archive: only the test binaries reference its symbols, so
/// nothing of it reaches the library's users.
#[cfg(feature = "cuda")]
fn build_host_kernels() {
    let dir = "src/gpu/kernel";
    for file in ["host_kernels.cpp", "host_shim.h", "preprocess.cu"] {
        println!("cargo:rerun-if-changed={dir}/{file}");
    }
    cc::Build::new()
        .cpp(true)
        // Templates and trivial thread-locals only: no libstdc++ needed at link time.
        .cpp_link_stdlib(None)
        .std("c++17")
        .opt_level(2)
        .warnings(true)
        .file(format!("{dir}/host_kernels.cpp"))
        .compile("ifc_host_kernels");
}

#[cfg(feature = "triton")]
fn generate_triton_client() {
    let proto_dir = "../proto";
    println!("cargo:rerun-if-changed={proto_dir}");
    let protos = [format!("{proto_dir}/grpc_service.proto"), format!("{proto_dir}/model_config.proto")];
    // A build script reports failure by panicking; the message names the missing tool.
    #[allow(clippy::expect_used)]
    tonic_build::configure()
        .build_server(false)
        // Tensor bytes as `Bytes`: a retried request shares them instead of copying.
        .bytes(["."])
        .compile_protos(&protos, &[proto_dir])
        .expect("generating the Triton gRPC client (is `protoc` installed? Debian: protobuf-compiler)");
}
