//! Generates the Triton gRPC client from `proto/` when the `triton` feature is on.

fn main() {
    #[cfg(feature = "triton")]
    generate_triton_client();
}

#[cfg(feature = "triton")]
fn generate_triton_client() {
    let proto_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../proto");
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
