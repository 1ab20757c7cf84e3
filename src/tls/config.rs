//! The rustls server configuration, built in one place from a loaded certificate.
//!
//! One crypto provider for everything: aws-lc-rs (also rcgen's backend), chosen explicitly so
//! there is never a "no default provider" panic at runtime. Its default cipher suites and key
//! exchange groups are all in Mozilla's "intermediate" profile. TLS 1.2 and 1.3 only; ALPN
//! offers `h2` then `http/1.1`, both of which the listener serves.

use std::sync::{Arc, OnceLock};

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SingleCertAndKey};

/// ALPN protocols, in the server's order of preference.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The process-wide crypto provider (aws-lc-rs).
pub fn crypto_provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER
        .get_or_init(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .clone()
}

/// A server configuration serving `key`.
pub fn server_config(key: Arc<CertifiedKey>) -> Arc<ServerConfig> {
    let mut config = ServerConfig::builder_with_provider(crypto_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        // The provider's defaults are consistent with these versions; failure is a bug.
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(key)));
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    config.ignore_client_order = true;
    Arc::new(config)
}
