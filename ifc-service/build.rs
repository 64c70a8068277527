//! Generates the gRPC server of `proto/ifc/v1/ifc.proto` (the service's API) and its file
//! descriptor set (served by gRPC reflection).

fn main() {
    let proto_dir = "../proto";
    let proto = format!("{proto_dir}/ifc/v1/ifc.proto");
    println!("cargo:rerun-if-changed={proto}");
    // sqlx::migrate! embeds the migrations; a new file must rebuild the crate.
    println!("cargo:rerun-if-changed=../migrations");
    let out_dir = std::env::var_os("OUT_DIR").map(std::path::PathBuf::from).unwrap_or_default();
    // A build script reports failure by panicking; the message names the missing tool.
    #[allow(clippy::expect_used)]
    tonic_build::configure()
        .build_client(false)
        // Exports go out as slices of the segment files' buffers, not copies.
        .bytes([".ifc.v1.ExportChunk.data"])
        .file_descriptor_set_path(out_dir.join("ifc_v1_descriptor.bin"))
        .compile_protos(&[proto], &[proto_dir.to_owned()])
        .expect("generating the ifc.v1 gRPC server (is `protoc` installed? Debian: protobuf-compiler)");
}
