//! TLS through rustls (DESIGN §8), when configured: the coordinator serves with a certificate and
//! key (PEM files); clients and agents reach an `https://` URL trusting the CA certificate they
//! are given. Plain `http://` stays available for loopback and trusted networks.

use std::path::Path;
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{what} {}: {e}", path.display()))
}

/// The server side: identity from PEM certificate (chain) and key files.
pub fn server_tls(cert: &Path, key: &Path) -> Result<ServerTlsConfig, String> {
    let identity = Identity::from_pem(read(cert, "TLS certificate")?, read(key, "TLS key")?);
    Ok(ServerTlsConfig::new().identity(identity))
}

/// An endpoint for `url`: with TLS for `https://` (trusting the PEM CA certificate `ca`, which is
/// then required), plain otherwise. Connection timeout 2 s, TCP_NODELAY.
pub fn client_endpoint(url: &str, ca: Option<&Path>) -> Result<Endpoint, String> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| format!("coordinator URL {url:?}: {e}"))?
        .connect_timeout(Duration::from_secs(2))
        .tcp_nodelay(true);
    if !url.starts_with("https://") {
        return Ok(endpoint);
    }
    let ca = ca.ok_or_else(|| {
        format!("{url} is https: give the CA certificate that signed the coordinator's (--tls-ca)")
    })?;
    let host = endpoint.uri().host().unwrap_or("localhost").to_owned();
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(read(ca, "TLS CA certificate")?))
        .domain_name(host);
    endpoint
        .tls_config(tls)
        .map_err(|e| format!("TLS for {url}: {e}"))
}
