//! TLS (DESIGN §8) over real processes: a coordinator serving a certificate signed by a test
//! CA is reached over `https://` by sweepctl and an agent that trust that CA, and a sweep runs to
//! the end; without the CA, or over plain HTTP, the client is refused with a clear error.
//! Skipped, saying so, without the `openssl` command to make the certificates.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn openssl(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A CA and a `localhost` server certificate it signed, in `dir`.
fn certificates(dir: &Path) -> bool {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ca = [
        &["req", "-x509"][..],
        &ec,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=thermosweep test CA",
        ],
    ]
    .concat();
    let csr = [
        &["req"][..],
        &ec,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat();
    let sign = [
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ];
    openssl(dir, &ca) && openssl(dir, &csr) && openssl(dir, &sign)
}

#[test]
fn a_coordinator_over_tls_serves_clients_that_trust_its_ca() {
    let dir = tempfile::tempdir().unwrap();
    if !certificates(dir.path()) {
        eprintln!("SKIPPED: the openssl command could not make test certificates");
        return;
    }
    let (cert, key) = (dir.path().join("server.pem"), dir.path().join("server.key"));
    let tls = [
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let (_coordinator, port) = coordinator_with(
        dir.path(),
        "tls",
        &[&["--listen", "127.0.0.1:0"][..], &tls].concat(),
    );
    let url = format!("https://localhost:{port}");
    let ca = dir.path().join("ca.pem");
    let ca = ca.to_str().unwrap();

    let trusted = sweepctl(&["--tls-ca", ca, "status"], Some(&url));
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&trusted.stdout).trim(), "no sweeps");
    let no_ca = sweepctl(&["status"], Some(&url));
    assert_eq!(no_ca.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_ca.stderr).contains("--tls-ca"));
    let plain = sweepctl(&["status"], Some(&format!("http://127.0.0.1:{port}")));
    assert_eq!(
        plain.status.code(),
        Some(1),
        "plain HTTP to a TLS port fails"
    );

    let spec = small_spec(dir.path(), 2, 4, 200_000);
    sweepctl_ok(&["--tls-ca", ca, "submit", spec.to_str().unwrap()], &url);
    let _agent = agent_with(dir.path(), &url, "tls", &["--tls-ca", ca], &[]);
    sweepctl_ok(&["--tls-ca", ca, "watch", "1"], &url);
}
