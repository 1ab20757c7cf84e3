//! The TLS handshake, run in the connection's own task under a timeout ([`TLS_HANDSHAKE_TIMEOUT`]
//! by default) — never
//! in the accept loop, so a client that connects and stalls cannot hold up anyone else.
//!
//! A client that speaks plain HTTP to the TLS port (a typo'd `http://`) gets a short
//! plain-text 400 saying the port speaks HTTPS, then the connection closes.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Default longest time a client has to complete the TLS handshake (DESIGN §8); a client
/// that connects and stays silent is closed after it.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long to wait for the rest of a plain-HTTP request before answering it.
const PLAIN_HTTP_READ_TIMEOUT: Duration = Duration::from_millis(500);

/// The first byte of every TLS record carrying a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Runs the handshake within `limit`; `None` when the client stalls, fails, or is not speaking TLS.
pub async fn handshake(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    peer: SocketAddr,
    limit: Duration,
) -> Option<TlsStream<TcpStream>> {
    let result = timeout(limit, async {
        let mut first = [0u8; 1];
        let n = tcp.peek(&mut first).await?;
        if n == 1 && first[0] != TLS_HANDSHAKE_RECORD && first[0].is_ascii_uppercase() {
            answer_plain_http(tcp).await;
            return Ok(None);
        }
        acceptor.accept(tcp).await.map(Some)
    })
    .await;
    match result {
        Ok(Ok(Some(stream))) => Some(stream),
        Ok(Ok(None)) => {
            tracing::debug!(%peer, "plain HTTP request on the TLS port; answered 400");
            None
        }
        Ok(Err(err)) => {
            tracing::debug!(%peer, cause = %err, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, timeout = ?limit, "TLS handshake timed out");
            None
        }
    }
}

/// Reads what the client sent (so closing does not reset the connection before it reads our
/// answer), replies 400 and closes.
async fn answer_plain_http(mut tcp: TcpStream) {
    let mut buf = [0u8; 8192];
    let _ = timeout(PLAIN_HTTP_READ_TIMEOUT, tcp.read(&mut buf)).await;
    let body = "This port speaks HTTPS. Use https:// in the URL.\n";
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tcp.write_all(response.as_bytes()).await;
    let _ = tcp.shutdown().await;
}
