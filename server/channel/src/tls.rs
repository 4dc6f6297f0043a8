//! Client TLS for IMAP (rustls with the Mozilla root store, ring provider).

use std::{fmt::Debug, sync::Arc, time::Duration};

use rustls::pki_types::ServerName;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};

use crate::ChannelError;

/// A byte stream, plain or encrypted.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Stream for T {}

pub type BoxStream = Box<dyn Stream>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

fn config() -> Result<Arc<rustls::ClientConfig>, ChannelError> {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ChannelError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}

pub async fn tcp(host: &str, port: u16) -> Result<TcpStream, ChannelError> {
    let address = format!("{host}:{port}");
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => {
            s.set_nodelay(true).ok();
            Ok(s)
        }
        Ok(Err(error)) => Err(ChannelError::Connect { address, error }),
        Err(_) => Err(ChannelError::Timeout("connecting")),
    }
}

/// Wraps `stream` in TLS, checking the certificate against `host`.
pub async fn wrap<S: AsyncRead + AsyncWrite + Unpin + Send + Debug + 'static>(host: &str, stream: S) -> Result<BoxStream, ChannelError> {
    let name = ServerName::try_from(host.to_owned()).map_err(|e| ChannelError::Tls(format!("`{host}`: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(config()?);
    let tls = tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name, stream))
        .await
        .map_err(|_| ChannelError::Timeout("TLS handshake"))?
        .map_err(|e| ChannelError::Tls(e.to_string()))?;
    Ok(Box::new(tls))
}
