//! The rustls server configuration, built in one place from a loaded certificate.
//!
//! One crypto provider for everything: aws-lc-rs (also rcgen's backend), chosen explicitly so
//! there is never a "no default provider" panic at runtime. Its default cipher suites and key
//! exchange groups are all in Mozilla's "intermediate" profile. TLS 1.2 and 1.3 only; ALPN
//! offers `h2` then `http/1.1`, both of which the listener serves. The server's order of
//! cipher suites wins over the client's (as Mozilla's profile asks), and that order puts
//! AES-128-GCM first: the same 128-bit security level as everything else in the handshake
//! (P-256, X25519), and 10 AES rounds instead of 14, so every byte costs about a third less to
//! encrypt than with the provider's AES-256-first default (Go and Caddy choose the same).
//!
//! Returning clients skip the full handshake: TLS 1.2 and 1.3 session tickets (stateless, keys
//! rotated every 6 hours by rustls' ticketer) plus a session cache of
//! [`SESSION_CACHE_ENTRIES`] for clients that resume by session id.

use std::sync::{Arc, OnceLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ResolvesServerCert, ServerSessionMemoryCache};
use rustls::sign::{CertifiedKey, SingleCertAndKey};

/// ALPN protocols, in the server's order of preference.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The process-wide crypto provider (aws-lc-rs).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| {
            let mut provider = rustls::crypto::aws_lc_rs::default_provider();
            // A stable sort: TLS 1.3 before 1.2 and ECDSA before RSA stay as the provider has
            // them; within each, AES-128-GCM moves ahead of AES-256-GCM (ChaCha20 stays last).
            provider.cipher_suites.sort_by_key(|suite| {
                (
                    suite.version().version != rustls::ProtocolVersion::TLSv1_3,
                    rank(suite.suite()),
                )
            });
            Arc::new(provider)
        })
        .clone()
}

/// Where a suite's cipher goes in the server's order (lower first), whatever the TLS version
/// and key type around it.
fn rank(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256
        | S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
        | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 0,
        S::TLS13_AES_256_GCM_SHA384
        | S::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        | S::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 => 1,
        _ => 2,
    }
}

/// Sessions kept for resumption by session id (a few hundred bytes each).
pub const SESSION_CACHE_ENTRIES: usize = 4096;

/// A server configuration serving one certificate, `key`.
pub fn server_config(key: Arc<CertifiedKey>) -> Arc<ServerConfig> {
    server_config_with(Arc::new(SingleCertAndKey::from(key)))
}

/// A server configuration whose certificate `resolver` picks per handshake (SNI, reload: see
/// [`super::resolver::Certificates`]).
pub fn server_config_with(resolver: Arc<dyn ResolvesServerCert>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        // The provider's defaults are consistent with these versions; failure is a bug.
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    config.ignore_client_order = true;
    config.session_storage = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
    match rustls::crypto::aws_lc_rs::Ticketer::new() {
        Ok(ticketer) => config.ticketer = ticketer,
        // Only if the system's random generator fails; resumption by session id still works.
        Err(err) => tracing::warn!(cause = %err, "TLS session tickets are off"),
    }
    Arc::new(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::CipherSuite as S;

    #[test]
    fn aes_128_gcm_leads_each_version_and_nothing_is_dropped() {
        let ours: Vec<S> = crypto_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        let mut default: Vec<S> = rustls::crypto::aws_lc_rs::default_provider()
            .cipher_suites
            .iter()
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            &ours[..3],
            [
                S::TLS13_AES_128_GCM_SHA256,
                S::TLS13_AES_256_GCM_SHA384,
                S::TLS13_CHACHA20_POLY1305_SHA256
            ]
        );
        assert_eq!(ours[3], S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
        let mut sorted = ours.clone();
        sorted.sort_by_key(|s| u16::from(*s));
        default.sort_by_key(|s| u16::from(*s));
        assert_eq!(sorted, default);
    }
}
