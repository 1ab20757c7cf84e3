//! TLS for the listener: loading PEM files with errors a user can act on ([`load`]), the rustls
//! server configuration ([`config`]), the served certificates chosen by SNI ([`resolver`]) and
//! reloaded on change ([`reload`]), and the handshake task ([`accept`]). Certificates are
//! made in [`crate::certs`]; this module only serves them.

pub mod accept;
pub mod config;
pub mod load;
pub mod reload;
pub mod resolver;

pub use accept::TLS_HANDSHAKE_TIMEOUT;
pub use config::{crypto_provider, server_config, server_config_with};
pub use load::{LoadError, load_certified_key, load_certified_key_with};
