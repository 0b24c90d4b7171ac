//! Generates the sweep.v1 messages and services with a protoc that ships as a crate
//! (protoc-bin-vendored), so a fresh machine needs nothing installed. `PROTOC` still overrides.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => std::path::PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    println!("cargo:rerun-if-changed=sweep/v1/sweep.proto");
    println!("cargo:rerun-if-env-changed=PROTOC");
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc);
    tonic_prost_build::configure().compile_with_config(
        config,
        &["sweep/v1/sweep.proto"],
        &["."],
    )?;
    Ok(())
}
