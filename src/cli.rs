//! The command-line definition: clap types only. Nothing here validates or interprets values
//! beyond their syntax; [`crate::config`] turns [`ServeArgs`] into a checked
//! [`crate::config::ServeConfig`].

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// carafe — serve a Flask-style site (Jinja templates + static files) over HTTPS, and make the
/// certificates for it.
#[derive(Debug, Parser)]
#[command(name = "carafe", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Log format: `text` lines, or one JSON object per line (access log and diagnostics).
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        default_value = "text",
        global = true,
        env = "CARAFE_LOG_FORMAT"
    )]
    pub log_format: LogFormatArg,
}

impl Cli {
    /// The default log filter when `RUST_LOG` is not set.
    pub fn log_level(&self) -> &'static str {
        "info"
    }

    /// The log format asked for.
    pub fn log_format(&self) -> crate::logging::LogFormat {
        match self.log_format {
            LogFormatArg::Text => crate::logging::LogFormat::Text,
            LogFormatArg::Json => crate::logging::LogFormat::Json,
        }
    }
}

/// `--log-format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The options of `carafe serve` as a program's whole command line: what a library user's
/// program built on [`crate::App`] accepts (`--port`, `--tls`, `--dev`, `--root`, ...).
#[derive(Debug, Parser)]
#[command(about = "A site served by carafe", long_about = None)]
pub struct ServeCli {
    /// The serve options.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The top-level commands.
// Parsed once per process; boxing `ServeArgs` would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site in --root: pages from templates/, assets from static/.
    Serve(ServeArgs),
    /// Make certificates (replaces the openssl commands).
    #[command(subcommand)]
    Cert(CertCommand),
    /// Create a new site in DIR (layout, pages, CSS, JS, carafe.toml) ready to serve.
    New(NewArgs),
}

/// Options of `carafe new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Directory to create the site in (created if missing; must be empty).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

/// `--tls` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TlsArg {
    /// Make (or reuse) a self-signed development certificate in ROOT/certs/.
    Gen,
    /// Issue (or reuse) a development certificate from the local CA (`carafe cert ca`) in
    /// ROOT/certs/, trusted wherever `carafe cert trust` installed the CA.
    Ca,
    /// Plain HTTP.
    Off,
}

/// Options of `carafe serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The site directory, holding templates/ and static/ [default: `[site] root` of
    /// carafe.toml, else .].
    #[arg(long, value_name = "DIR", env = "CARAFE_ROOT")]
    pub root: Option<PathBuf>,

    /// Configuration file [default: carafe.toml in --root (or the working directory), if any].
    #[arg(long, value_name = "FILE", env = "CARAFE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Development mode: templates and data re-read on every request, live reload in the
    /// browser, template errors shown with their source, no static cache.
    #[arg(long, env = "CARAFE_DEV")]
    pub dev: bool,

    /// Fail on any use of an undefined template variable (`[site] strict_undefined`).
    #[arg(long, env = "CARAFE_STRICT")]
    pub strict: bool,

    /// Check the configuration, templates, routes and certificates, print the effective
    /// settings, and exit (0 when everything is fine).
    #[arg(long)]
    pub check: bool,

    /// Address to listen on [default: 127.0.0.1, or 0.0.0.0 when $PORT is set].
    #[arg(long, value_name = "ADDR", env = "CARAFE_BIND")]
    pub bind: Option<IpAddr>,

    /// Port to listen on; 0 picks a free one [default: $PORT, else 8443 for HTTPS, 8080 for HTTP].
    #[arg(long, value_name = "N", env = "CARAFE_PORT")]
    pub port: Option<u16>,

    /// TLS mode: `gen` makes a self-signed development certificate, `ca` one signed by the
    /// local CA (`carafe cert ca`), `off` serves plain HTTP [default: gen, or off when $PORT is
    /// set].
    #[arg(long, value_enum, value_name = "MODE", env = "CARAFE_TLS", conflicts_with_all = ["cert", "key"])]
    pub tls: Option<TlsArg>,

    /// Certificate chain (PEM) to serve; requires --key. Repeatable: each --cert pairs with the
    /// --key in the same position, the client's SNI name picks one, the first is the default.
    #[arg(long, value_name = "FILE", requires = "key", env = "CARAFE_CERT")]
    pub cert: Vec<PathBuf>,

    /// Private key (PEM: PKCS#8, PKCS#1 or SEC1, possibly encrypted) for --cert (repeatable, in
    /// --cert's order).
    #[arg(long, value_name = "FILE", requires = "cert", env = "CARAFE_KEY")]
    pub key: Vec<PathBuf>,

    /// Also listen for plain HTTP on this port (same address) and redirect (308) every
    /// request to the HTTPS URL.
    #[arg(long, value_name = "PORT", env = "CARAFE_REDIRECT_HTTP")]
    pub redirect_http: Option<u16>,

    /// File holding the passphrase of an encrypted --key (first line; a trailing newline is
    /// dropped) [default: $CARAFE_KEY_PASSPHRASE, else `[tls] key_passphrase_file`]. There is
    /// deliberately no option taking the passphrase itself: command lines are visible to every
    /// user in `ps`.
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Extra host name or IP address for the `--tls gen` or `--tls ca` certificate (repeatable).
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,

    /// Serve another directory at a URL prefix, e.g. `--mount /js=js` (repeatable).
    #[arg(long = "mount", value_name = "PREFIX=DIR")]
    pub mounts: Vec<String>,

    /// List the contents of directories that have no index.html.
    #[arg(long, env = "CARAFE_LIST")]
    pub list: bool,

    /// Single-page-app fallback: answer browser navigations that match no page with FILE
    /// (relative to --root) [default FILE: static/index.html].
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "static/index.html", env = "CARAFE_SPA")]
    pub spa: Option<PathBuf>,

    /// Largest static file kept in memory, in bytes [default: 262144].
    #[arg(long, value_name = "BYTES", env = "CARAFE_CACHE_MAX_FILE")]
    pub cache_max_file: Option<u64>,

    /// Memory budget for cached static files (originals and compressed copies), in bytes
    /// [default: 67108864].
    #[arg(long, value_name = "BYTES", env = "CARAFE_CACHE_SIZE")]
    pub cache_size: Option<u64>,

    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT [default: 25].
    #[arg(long, value_name = "SECS", env = "CARAFE_SHUTDOWN_TIMEOUT")]
    pub shutdown_timeout: Option<u64>,

    /// Run behind a TLS-terminating router: plain HTTP, trust one proxy hop, keep idle
    /// connections 100 s [default: on when $PORT is set and no TLS option is given].
    #[arg(long, env = "CARAFE_BEHIND_PROXY")]
    pub behind_proxy: bool,

    /// Trust X-Forwarded-For/-Proto/-Host/-Port from N proxy hops; the client is the Nth
    /// X-Forwarded-For entry from the right [default: 1 behind a router, else 0].
    #[arg(long, value_name = "N", env = "CARAFE_TRUST_PROXY")]
    pub trust_proxy: Option<u8>,

    /// Redirect (308) requests a trusted proxy marks as `X-Forwarded-Proto: http` to https.
    #[arg(long, env = "CARAFE_FORCE_HTTPS")]
    pub force_https: bool,

    /// Send Strict-Transport-Security with this max-age on https responses to non-local hosts
    /// [default: on with --cert (1 year), off otherwise; SECS defaults to 31536000].
    #[arg(long, value_name = "SECS", num_args = 0..=1, default_missing_value = "31536000", env = "CARAFE_HSTS")]
    pub hsts: Option<u64>,

    /// Add `includeSubDomains` to HSTS.
    #[arg(long, env = "CARAFE_HSTS_INCLUDE_SUBDOMAINS")]
    pub hsts_include_subdomains: bool,

    /// Add `preload` (and `includeSubDomains`) to HSTS; only for sites that applied to the
    /// preload list.
    #[arg(long, env = "CARAFE_HSTS_PRELOAD")]
    pub hsts_preload: bool,

    /// Never send HSTS, not even with --cert.
    #[arg(long, conflicts_with = "hsts", env = "CARAFE_NO_HSTS")]
    pub no_hsts: bool,

    /// Answer this path with 200 `ok` (for load balancer and orchestrator probes), before any
    /// redirect, not logged.
    #[arg(long, value_name = "PATH", env = "CARAFE_HEALTH_PATH")]
    pub health_path: Option<String>,

    /// Write health checks to the access log too.
    #[arg(long, env = "CARAFE_LOG_HEALTH")]
    pub log_health: bool,

    /// Seconds an idle keep-alive connection is kept open [default: 100 behind a router, else 75].
    #[arg(long, value_name = "SECS", env = "CARAFE_KEEP_ALIVE")]
    pub keep_alive: Option<u64>,

    /// Seconds a client may take to send a request's headers (slowloris bound) [default: 10].
    #[arg(long, value_name = "SECS", env = "CARAFE_HEADER_TIMEOUT")]
    pub header_timeout: Option<u64>,

    /// Seconds a response write may wait for a client that stopped reading before the
    /// connection is closed [default: 60].
    #[arg(long, value_name = "SECS", env = "CARAFE_SEND_TIMEOUT")]
    pub send_timeout: Option<u64>,

    /// Seconds a client may take to complete the TLS handshake [default: 10].
    #[arg(long, value_name = "SECS", env = "CARAFE_TLS_HANDSHAKE_TIMEOUT")]
    pub tls_handshake_timeout: Option<u64>,

    /// Seconds a handler may take to start its response; it then gets 503 [default: 30].
    #[arg(long, value_name = "SECS", env = "CARAFE_REQUEST_TIMEOUT")]
    pub request_timeout: Option<u64>,

    /// Connections served at once; more wait in the listen backlog [default: 10000].
    #[arg(long, value_name = "N", env = "CARAFE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,

    /// Worker threads [default: the container's CPU quota (cgroup v1/v2), else one per CPU].
    #[arg(long, value_name = "N", env = "CARAFE_WORKERS")]
    pub workers: Option<usize>,
}

/// `carafe cert ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Make a key and a self-signed certificate (replaces openssl genrsa/req/x509).
    New(CertNewArgs),
    /// Create (once) and show the local certificate authority that `serve --tls ca` and
    /// `cert new --ca` use.
    Ca,
    /// Install the local CA's root in the system store and NSS (Chromium, Firefox), and print
    /// the steps for stores carafe cannot change.
    Trust,
    /// Remove the local CA's root from the stores `cert trust` changed.
    Untrust,
    /// Make a certificate signing request for a real CA (replaces openssl req -new).
    Csr(CertCsrArgs),
    /// Show a certificate and lint it for what browsers and strict clients reject
    /// (replaces openssl x509 -text); exits 1 when it finds problems.
    Show(CertShowArgs),
}

/// `--key-type` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum KeyTypeArg {
    /// ECDSA on P-256 (what browsers and CAs prefer).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384.
    EcdsaP384,
    /// RSA, 2048 bits.
    #[value(name = "rsa-2048")]
    Rsa2048,
    /// RSA, 3072 bits.
    #[value(name = "rsa-3072")]
    Rsa3072,
    /// RSA, 4096 bits.
    #[value(name = "rsa-4096")]
    Rsa4096,
    /// Accepted by the parser only to be refused with the reason: browsers reject Ed25519
    /// server certificates.
    #[value(hide = true)]
    Ed25519,
}

/// Options of `carafe cert new`.
#[derive(Debug, Args)]
pub struct CertNewArgs {
    /// Directory to write server.crt and server.key into (created if missing).
    #[arg(long, value_name = "DIR", default_value = "certs")]
    pub out: PathBuf,

    /// Host name or IP address the certificate is for (repeatable)
    /// [default: localhost, 127.0.0.1, ::1].
    #[arg(long = "host", value_name = "NAME")]
    pub hosts: Vec<String>,

    /// Validity in days (at most 825, the limit browsers accept).
    #[arg(long, value_name = "N", default_value_t = 365)]
    pub days: u32,

    /// Kind of key to make.
    #[arg(long, value_enum, value_name = "TYPE", default_value = "ecdsa-p256")]
    pub key_type: KeyTypeArg,

    /// Encrypt the key (PKCS#8, PBKDF2-HMAC-SHA256 + AES-256-CBC) with the passphrase in this
    /// file (first line).
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Replace existing files in --out.
    #[arg(long)]
    pub force: bool,

    /// Sign with the local CA (`carafe cert ca`) instead of self-signing; server.crt then holds
    /// the chain (leaf, intermediate). Only local names are allowed.
    #[arg(long)]
    pub ca: bool,
}

/// Options of `carafe cert csr`.
#[derive(Debug, Args)]
pub struct CertCsrArgs {
    /// Private key to sign the request with; made (with --key-type) when the file does not
    /// exist yet.
    #[arg(long, value_name = "KEY")]
    pub key: PathBuf,

    /// Host name or IP address to request (repeatable; the first is also the CN).
    #[arg(long = "host", value_name = "NAME", required = true)]
    pub hosts: Vec<String>,

    /// Where to write the CSR [default: KEY with the extension .csr].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Kind of key to make when KEY does not exist [default: ecdsa-p256].
    #[arg(long, value_enum, value_name = "TYPE")]
    pub key_type: Option<KeyTypeArg>,

    /// Passphrase file of an encrypted KEY, or to encrypt a new one with
    /// [default: $CARAFE_KEY_PASSPHRASE].
    #[arg(long, visible_alias = "passphrase-file", value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,
}

/// Options of `carafe cert show`.
#[derive(Debug, Args)]
pub struct CertShowArgs {
    /// Certificate (PEM or DER; the first of a chain is the one linted).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Private key to check against the certificate.
    #[arg(long, value_name = "KEY")]
    pub key: Option<PathBuf>,

    /// Passphrase file of an encrypted --key [default: $CARAFE_KEY_PASSPHRASE].
    #[arg(long, visible_alias = "passphrase-file", value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_env_var_is_carafe_prefixed() {
        let cmd = Cli::command();
        let mut seen = 0;
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                let env = env.to_string_lossy();
                assert!(env.starts_with("CARAFE_"), "{env} is not CARAFE_*");
            }
        }
        for sub in cmd.get_subcommands() {
            for arg in sub.get_arguments() {
                if let Some(env) = arg.get_env() {
                    seen += 1;
                    let env = env.to_string_lossy();
                    assert!(env.starts_with("CARAFE_"), "{env} is not CARAFE_*");
                }
            }
        }
        assert!(seen >= 5, "expected the serve options to have env vars");
    }
}
