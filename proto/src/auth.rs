//! Bearer-token authentication (DESIGN §8): clients and agents send `authorization: Bearer
//! TOKEN` on every call; the coordinator refuses calls without the right token. The token comes
//! from a file (`--token-file`) or `$SWEEP_TOKEN`. A coordinator listening beyond loopback must
//! have one; on loopback it is optional.

use std::path::Path;
use std::sync::Arc;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;
use tonic::{Request, Status};

use crate::v1::agents_client::AgentsClient;
use crate::v1::sweeps_client::SweepsClient;

/// A `Sweeps` client that sends the token.
pub type SweepsConn = SweepsClient<InterceptedService<Channel, BearerToken>>;
/// An `Agents` client that sends the token.
pub type AgentsConn = AgentsClient<InterceptedService<Channel, BearerToken>>;

/// A token that cannot be sent (empty, or not printable ASCII).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: a token must be printable ASCII without spaces, 1 to 4096 bytes")]
pub struct InvalidToken {
    /// Where it came from.
    pub source_name: String,
}

/// Reads the token: the first line of `file` if given, else `$SWEEP_TOKEN` if set, else none.
pub fn read_token(file: Option<&Path>) -> Result<Option<String>, String> {
    let (token, from) = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("token file {}: {e}", path.display()))?;
            (
                text.lines().next().unwrap_or("").trim().to_owned(),
                path.display().to_string(),
            )
        }
        None => match std::env::var("SWEEP_TOKEN") {
            Ok(t) => (t.trim().to_owned(), "$SWEEP_TOKEN".to_owned()),
            Err(_) => return Ok(None),
        },
    };
    valid(&token).map_err(|()| InvalidToken { source_name: from }.to_string())?;
    Ok(Some(token))
}

fn valid(token: &str) -> Result<(), ()> {
    let ok =
        !token.is_empty() && token.len() <= 4096 && token.bytes().all(|b| b.is_ascii_graphic());
    if ok { Ok(()) } else { Err(()) }
}

/// Client side: adds the token to every request (nothing without one).
#[derive(Debug, Clone, Default)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl BearerToken {
    /// From an optional token.
    pub fn new(token: Option<&str>) -> Result<Self, InvalidToken> {
        let invalid = || InvalidToken {
            source_name: "token".into(),
        };
        match token {
            None => Ok(Self(None)),
            Some(t) => {
                valid(t).map_err(|()| invalid())?;
                let value = format!("Bearer {t}").parse().map_err(|_| invalid())?;
                Ok(Self(Some(value)))
            }
        }
    }
}

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Server side: requires the token (accepts everything without one).
#[derive(Debug, Clone, Default)]
pub struct RequireToken(Option<Arc<str>>);

impl RequireToken {
    /// Requires `token`, if any.
    pub fn new(token: Option<&str>) -> Self {
        Self(token.map(|t| Arc::from(format!("Bearer {t}"))))
    }
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Interceptor for RequireToken {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.0 else {
            return Ok(request);
        };
        match request.metadata().get("authorization") {
            Some(v) if same(v.as_bytes(), expected.as_bytes()) => Ok(request),
            Some(_) => Err(Status::unauthenticated("wrong bearer token")),
            None => Err(Status::unauthenticated(
                "this coordinator requires a bearer token (--token-file or $SWEEP_TOKEN)",
            )),
        }
    }
}

/// A `Sweeps` client over `channel` sending `token`.
pub fn sweeps_client(channel: Channel, token: BearerToken) -> SweepsConn {
    let limit = crate::MAX_MESSAGE_BYTES;
    SweepsClient::with_interceptor(channel, token)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}

/// An `Agents` client over `channel` sending `token`.
pub fn agents_client(channel: Channel, token: BearerToken) -> AgentsConn {
    let limit = crate::MAX_MESSAGE_BYTES;
    AgentsClient::with_interceptor(channel, token)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_checked_exactly() {
        let mut server = RequireToken::new(Some("s3cret"));
        let mut good = BearerToken::new(Some("s3cret")).unwrap();
        let mut bad = BearerToken::new(Some("s3cre7")).unwrap();
        let mut none = BearerToken::default();
        assert!(server.call(good.call(Request::new(())).unwrap()).is_ok());
        let e = server
            .call(bad.call(Request::new(())).unwrap())
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::Unauthenticated);
        let e = server
            .call(none.call(Request::new(())).unwrap())
            .unwrap_err();
        assert!(e.message().contains("requires a bearer token"));
        let mut open = RequireToken::new(None);
        assert!(open.call(Request::new(())).is_ok());
        assert!(BearerToken::new(Some("has space")).is_err());
        assert!(BearerToken::new(Some("")).is_err());
    }

    #[test]
    fn token_files_are_read_and_checked() {
        let dir = std::env::temp_dir().join(format!("thermosweep-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "abc123\nignored\n").unwrap();
        assert_eq!(read_token(Some(&file)).unwrap().as_deref(), Some("abc123"));
        std::fs::write(&file, "\n").unwrap();
        assert!(
            read_token(Some(&file))
                .unwrap_err()
                .contains("printable ASCII")
        );
        assert!(
            read_token(Some(&dir.join("absent")))
                .unwrap_err()
                .contains("token file")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
