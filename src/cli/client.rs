//! Connecting to a coordinator as a client.

use sweep_proto::auth::{BearerToken, SweepsConn, sweeps_client};

use crate::exit::CliError;

/// A `Sweeps` client for `url`, connected (so an unreachable coordinator is one clear error),
/// sending the token from `--token-file` or `$SWEEP_TOKEN` if there is one.
pub async fn connect(url: &str) -> Result<SweepsConn, CliError> {
    let token =
        sweep_proto::auth::read_token(super::token_file().as_deref()).map_err(CliError::Usage)?;
    let token = BearerToken::new(token.as_deref()).map_err(|e| CliError::Usage(e.to_string()))?;
    let endpoint = sweep_proto::tls::client_endpoint(url, super::tls_ca().as_deref())
        .map_err(CliError::Usage)?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CliError::Failure(format!("cannot reach the coordinator at {url}: {e}")))?;
    Ok(sweeps_client(channel, token))
}
