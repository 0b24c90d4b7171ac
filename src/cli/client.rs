//! Connecting to a coordinator as a client.

use std::time::Duration;

use sweep_proto::v1::sweeps_client::SweepsClient;
use tonic::transport::{Channel, Endpoint};

use crate::exit::CliError;

/// A `Sweeps` client for `url`, connected (so an unreachable coordinator is one clear error).
pub async fn connect(url: &str) -> Result<SweepsClient<Channel>, CliError> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| CliError::Usage(format!("coordinator URL {url:?}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true);
    let channel = endpoint
        .connect()
        .await
        .map_err(|e| CliError::Failure(format!("cannot reach the coordinator at {url}: {e}")))?;
    let limit = sweep_proto::MAX_MESSAGE_BYTES;
    Ok(SweepsClient::new(channel)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit))
}
