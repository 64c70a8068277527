//! Generates a gRPC client of `proto/ifc/v1/ifc.proto` for the `ifc serve` tests (the service
//! generates only its server side).

fn main() {
    let proto_dir = "../proto";
    let proto = format!("{proto_dir}/ifc/v1/ifc.proto");
    println!("cargo:rerun-if-changed={proto}");
    #[allow(clippy::expect_used)]
    tonic_build::configure()
        .build_server(false)
        .compile_protos(&[proto], &[proto_dir.to_owned()])
        .expect("generating the ifc.v1 gRPC client (is `protoc` installed? Debian: protobuf-compiler)");
}
