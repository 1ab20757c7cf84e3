//! TLS for the listener: loading PEM files with errors a user can act on ([`load`]), the rustls
//! server configuration ([`config`]), and the handshake task ([`accept`]). Certificates are
//! made in [`crate::certs`]; this module only serves them.

pub mod accept;
pub mod config;
pub mod load;

pub use accept::TLS_HANDSHAKE_TIMEOUT;
pub use config::{crypto_provider, server_config};
pub use load::{LoadError, load_certified_key, load_certified_key_with};
