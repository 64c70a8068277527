//! The one accept loop of `ifc serve`, for plain TCP and TLS alike: each connection is served
//! by hyper's auto builder (HTTP/1.1 with upgrades for WebSocket, or HTTP/2 — h2c by prior
//! knowledge, or `h2` by ALPN over TLS — for gRPC), with the combined REST + gRPC router.
//!
//! Shutdown: the loop stops accepting, every connection is told to finish gracefully (HTTP/2
//! GOAWAY, HTTP/1 close after the current response), and the wait for them is bounded, so a
//! client that never hangs up cannot hold the process.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::shutdown::Shutdown;

/// A client gets this long to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a graceful shutdown waits for open connections.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("TLS certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("TLS private key {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A TLS acceptor from PEM files: the certificate chain (leaf first) and its private key
/// (PKCS#8, PKCS#1 or SEC1). rustls with the ring provider; ALPN offers `h2` (gRPC) and
/// `http/1.1` (REST, WebSocket).
pub fn tls_acceptor(cert_file: &Path, key_file: &Path) -> Result<TlsAcceptor, TlsError> {
    let cert_error = |message: String| TlsError::Certificate { path: cert_file.to_owned(), message };
    let certs = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| cert_error(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| cert_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(cert_error("no CERTIFICATE block in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| TlsError::Key { path: key_file.to_owned(), message: e.to_string() })?;
    // ring, not aws-lc-rs: no C/cmake build; rustls marks ring's provider deprecated only
    // because it lacks post-quantum key exchange, which no client of ours needs yet.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `app` on `listener` until `shutdown` fires, then drains the connections.
pub(crate) async fn serve(listener: TcpListener, tls: Option<TlsAcceptor>, app: Router, shutdown: Shutdown) {
    let mut connections = JoinSet::new();
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.wait() => break,
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, shutdown) = (app.clone(), tls.clone(), shutdown.clone());
        connections.spawn(async move {
            let Some(acceptor) = tls else { return connection(TokioIo::new(tcp), app, shutdown).await };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => connection(TokioIo::new(stream), app, shutdown).await,
                // Plain HTTP to the TLS port, a scanner, a client that does not trust the
                // certificate: that client's problem, not the server's.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
        // Reap the finished ones so the set stays as large as the open connections.
        while connections.try_join_next().is_some() {}
    }
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown: connections still open after {DRAIN_TIMEOUT:?}; closing them"
        );
        connections.abort_all();
    }
}

async fn connection<I>(io: TokioIo<I>, app: Router, shutdown: Shutdown)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection_with_upgrades(io, TowerToHyperService::new(app));
    tokio::pin!(conn);
    let result = tokio::select! {
        result = conn.as_mut() => result,
        () = shutdown.wait() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        // Clients hanging up mid-request are routine.
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_certificate_files_are_named_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let err = tls_acceptor(&cert, &key).err().expect("no file");
        assert!(matches!(&err, TlsError::Certificate { path, .. } if path == &cert), "{err}");
        std::fs::write(&cert, "not PEM at all\n").expect("write");
        let err = tls_acceptor(&cert, &key).err().expect("no certificate");
        assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
    }
}
