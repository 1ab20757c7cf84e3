//! Typed, validated settings for `serve`, built from the parsed command line, the environment
//! (`$PORT`, `CARAFE_*`) and `carafe.toml` ([`mod@file`]). Nothing below this module sees a raw
//! string.
//!
//! Precedence: flag > its `CARAFE_*` variable (clap) > carafe.toml > default. `$PORT` is the
//! platform convention of Heroku-style routers and sits between the variables and the file:
//! when it is set, carafe listens on it, and, unless a TLS option is given (flag, variable or
//! file), serves plain HTTP on `0.0.0.0` because the router terminates TLS, in router mode (as
//! `--behind-proxy` asks): one trusted proxy hop and a keep-alive longer than the router's.

mod effective;
pub mod file;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::certs::private_key::PassphraseSource;
use crate::cli::{ServeArgs, TlsArg};
use crate::http::HttpOptions;
use crate::http::front::DEFAULT_REQUEST_TIMEOUT;
use crate::http::https::{DEFAULT_HSTS_MAX_AGE, Hsts};
use crate::http::proxy::TrustedProxies;
use crate::server::{
    DEFAULT_DRAIN_TIMEOUT, DEFAULT_KEEP_ALIVE, DEFAULT_MAX_CONNECTIONS, DEFAULT_SEND_TIMEOUT,
    HEADER_READ_TIMEOUT, ROUTER_KEEP_ALIVE, ServerOptions,
};
use crate::site::file_cache::{CacheLimits, DEFAULT_MAX_FILE_BYTES, DEFAULT_TOTAL_BYTES};
use crate::site::{HeaderRule, Mount, SiteOptions, StaticOptions, TemplateOptions};
use crate::tls::accept::TLS_HANDSHAKE_TIMEOUT;
use file::{CONFIG_FILE, FileConfig, TlsFileMode};

pub use file::ConfigError;

/// Default HTTPS port when neither `--port` nor `$PORT` is given.
pub const DEFAULT_TLS_PORT: u16 = 8443;
/// Default plain-HTTP port when neither `--port` nor `$PORT` is given.
pub const DEFAULT_PLAIN_PORT: u16 = 8080;

/// How the listener speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// A self-signed development certificate, made or reused in `<root>/certs/`, covering the
    /// default local names plus these extra hosts.
    Gen {
        /// Names given with `--host`.
        extra_hosts: Vec<String>,
    },
    /// A development certificate signed by the local CA (`carafe cert ca`), made or reused in
    /// `<root>/certs/`, covering the local names plus these extra hosts.
    Ca {
        /// Names given with `--host`.
        extra_hosts: Vec<String>,
    },
    /// Certificate chains and keys supplied by the user: the client's SNI name picks one, the
    /// first is the default (clients without SNI, names no certificate covers).
    Files(Vec<CertPair>),
    /// Plain HTTP.
    Off,
}

/// A certificate chain (PEM, leaf first) and its private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertPair {
    /// The certificate chain file.
    pub cert: PathBuf,
    /// The private key file.
    pub key: PathBuf,
}

/// Where a setting came from, printed at start and by `--check` so precedence is never a
/// guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A flag or its `CARAFE_*` variable.
    Flag,
    /// The platform's `$PORT`.
    PlatformEnv,
    /// carafe.toml.
    File,
    /// The built-in default.
    Default,
}

/// The port's source (kept under its old name for callers).
pub type PortSource = Source;

impl Source {
    /// The source of a setting a flag (or its variable) or the file may give.
    fn of(flag: bool, from_file: bool) -> Self {
        match (flag, from_file) {
            (true, _) => Source::Flag,
            (false, true) => Source::File,
            (false, false) => Source::Default,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Source::Flag => "flag or CARAFE_* variable",
            Source::PlatformEnv => "$PORT",
            Source::File => "carafe.toml",
            Source::Default => "default",
        })
    }
}

/// Everything `serve` needs, checked.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The site directory (templates/, static/, certs/).
    pub root: PathBuf,
    /// Address to bind.
    pub addr: SocketAddr,
    /// Where `addr.port()` came from.
    pub port_source: PortSource,
    /// TLS mode.
    pub tls: TlsMode,
    /// Where the passphrase of an encrypted `--key` comes from: `--key-passphrase-file`, else
    /// `$CARAFE_KEY_PASSPHRASE`, else `[tls] key_passphrase_file`.
    pub key_passphrase: Option<PassphraseSource>,
    /// Mounts, listing, SPA fallback, cache limits.
    pub site: SiteOptions,
    /// Behind a TLS-terminating router (`--behind-proxy`, or `$PORT` with no TLS option).
    pub router_mode: bool,
    /// Proxy trust, HTTPS enforcement, health check, request timeout.
    pub http: HttpOptions,
    /// Connection limits and timers.
    pub server: ServerOptions,
    /// `--workers N`; `None` follows the CPU quota.
    pub workers: Option<usize>,
    /// `--redirect-http PORT`: a plain listener that redirects to HTTPS (TLS modes only).
    pub redirect_http: Option<u16>,
    /// Warnings to print at start (e.g. `--tls gen` with a platform `$PORT`).
    pub warnings: Vec<String>,
    /// Development mode.
    pub dev: bool,
    /// The configuration file read, if any.
    pub config_file: Option<PathBuf>,
    /// Where each top-level setting came from (`root`, `bind`, `port`, `tls`, ...).
    pub sources: BTreeMap<&'static str, Source>,
}

impl ServeConfig {
    /// Builds the config from parsed flags, `$PORT` and the process environment, reading
    /// carafe.toml (`--config`, or `carafe.toml` in the root or working directory).
    pub fn from_args(args: &ServeArgs, platform_port: Option<&str>) -> anyhow::Result<Self> {
        let file = locate_file(args)?
            .map(|path| FileConfig::load(&path).map(|f| (path, f)))
            .transpose()?;
        Self::from_parts(args, platform_port, file, &|name| std::env::var(name).ok())
    }

    /// Builds the config from the process's own command line (the options of `carafe serve`,
    /// see [`crate::cli::ServeCli`]), `$PORT`, `CARAFE_*` and carafe.toml: what a program built
    /// on [`crate::App`] uses. Exits with a usage message on a bad command line, as clap does.
    pub fn from_command_line() -> anyhow::Result<Self> {
        use clap::Parser as _;
        let cli = crate::cli::ServeCli::parse();
        let platform_port = std::env::var("PORT").ok();
        Self::from_args(&cli.serve, platform_port.as_deref())
    }

    /// Builds the config from its parts; pure, for tests. `env` looks up the variables that
    /// `[context] env` allows.
    pub fn from_parts(
        args: &ServeArgs,
        platform_port: Option<&str>,
        file: Option<(PathBuf, FileConfig)>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> anyhow::Result<Self> {
        let platform_port = platform_port
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<u16>()
                    .with_context(|| format!("$PORT is {p:?}; it must be a port number (0-65535)"))
            })
            .transpose()?;
        let (config_file, f) = match file {
            Some((path, f)) => (Some(path), f),
            None => (None, FileConfig::default()),
        };
        // Paths in the file are relative to the file's directory.
        let file_dir = config_file
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let mut sources = BTreeMap::new();

        let root = match (&args.root, &f.site.root) {
            (Some(root), _) => root.clone(),
            (None, Some(root)) => file_dir.join(root),
            (None, None) if config_file.is_some() => {
                if file_dir.as_os_str().is_empty() {
                    PathBuf::from(".")
                } else {
                    file_dir.clone()
                }
            }
            (None, None) => PathBuf::from("."),
        };
        sources.insert(
            "root",
            Source::of(args.root.is_some(), f.site.root.is_some()),
        );

        let mut file_pairs = Vec::new();
        match (&f.tls.cert, &f.tls.key) {
            (Some(cert), Some(key)) => file_pairs.push(CertPair {
                cert: file_dir.join(cert),
                key: file_dir.join(key),
            }),
            (None, None) => {}
            _ => bail!("carafe.toml: [tls] cert and key must be given together"),
        }
        file_pairs.extend(f.tls.certs.iter().map(|entry| CertPair {
            cert: file_dir.join(&entry.cert),
            key: file_dir.join(&entry.key),
        }));
        let file_tls = match (file_pairs.is_empty(), f.tls.mode) {
            (false, _) => Some(TlsMode::Files(file_pairs)),
            (true, Some(TlsFileMode::Off)) => Some(TlsMode::Off),
            (true, Some(TlsFileMode::Gen)) => Some(TlsMode::Gen {
                extra_hosts: f.tls.hosts.clone(),
            }),
            (true, Some(TlsFileMode::Ca)) => Some(TlsMode::Ca {
                extra_hosts: f.tls.hosts.clone(),
            }),
            (true, None) => None,
        };
        let mut hosts = args.hosts.clone();
        hosts.extend(f.tls.hosts.iter().cloned());
        let tls_flag = args.tls.is_some() || !args.cert.is_empty();
        if args.cert.len() != args.key.len() {
            bail!(
                "{} --cert but {} --key: give one --key for each --cert, in the same order",
                args.cert.len(),
                args.key.len()
            );
        }
        let behind_proxy = args.behind_proxy || f.server.behind_proxy.unwrap_or(false);
        let tls = match (&args.tls, args.cert.is_empty()) {
            (_, false) => TlsMode::Files(
                args.cert
                    .iter()
                    .zip(&args.key)
                    .map(|(cert, key)| CertPair {
                        cert: cert.clone(),
                        key: key.clone(),
                    })
                    .collect(),
            ),
            (Some(TlsArg::Off), _) => TlsMode::Off,
            (Some(TlsArg::Gen), _) => TlsMode::Gen { extra_hosts: hosts },
            (Some(TlsArg::Ca), _) => TlsMode::Ca { extra_hosts: hosts },
            (None, true) => match file_tls {
                Some(TlsMode::Gen { .. }) => TlsMode::Gen { extra_hosts: hosts },
                Some(TlsMode::Ca { .. }) => TlsMode::Ca { extra_hosts: hosts },
                Some(mode) => mode,
                None if platform_port.is_some() || behind_proxy => TlsMode::Off,
                None => TlsMode::Gen { extra_hosts: hosts },
            },
        };
        let key_passphrase =
            PassphraseSource::from_flag_or_env(args.key_passphrase_file.as_deref()).or_else(|| {
                f.tls
                    .key_passphrase_file
                    .as_ref()
                    .map(|p| PassphraseSource::File(file_dir.join(p)))
            });
        let tls_from_file =
            !tls_flag && (f.tls.mode.is_some() || f.tls.cert.is_some() || !f.tls.certs.is_empty());
        sources.insert("tls", Source::of(tls_flag, tls_from_file));

        let mut warnings = Vec::new();
        if platform_port.is_some() && tls != TlsMode::Off {
            warnings.push(
                "$PORT is set (a platform router usually terminates TLS there) but TLS is on; \
                 the router will not be able to talk to this port unless it speaks HTTPS to it"
                    .to_string(),
            );
        }
        if !args.hosts.is_empty() && !matches!(tls, TlsMode::Gen { .. } | TlsMode::Ca { .. }) {
            warnings.push("--host only applies to --tls gen and --tls ca; ignoring it".to_string());
        }

        let (port, port_source) = match (args.port, platform_port, f.server.port) {
            (Some(p), _, _) => (p, Source::Flag),
            (None, Some(p), _) => (p, Source::PlatformEnv),
            (None, None, Some(p)) => (p, Source::File),
            (None, None, None) if tls == TlsMode::Off => (DEFAULT_PLAIN_PORT, Source::Default),
            (None, None, None) => (DEFAULT_TLS_PORT, Source::Default),
        };
        sources.insert("port", port_source);

        // Router mode: the platform default ($PORT, no TLS option) or asked for.
        let router_mode = behind_proxy || (platform_port.is_some() && tls == TlsMode::Off);
        let trust = TrustedProxies(
            args.trust_proxy
                .or(f.server.trust_proxy)
                .unwrap_or(u8::from(router_mode)),
        );
        let force_https = args.force_https || f.server.force_https.unwrap_or(false);
        if force_https && !trust.any() && tls == TlsMode::Off {
            warnings.push(
                "--force-https only redirects requests a trusted proxy marks as http; \
                 add --behind-proxy or --trust-proxy N"
                    .to_string(),
            );
        }
        let hsts = hsts_policy(args, &f, &tls, &mut warnings);
        let redirect_http = match args.redirect_http.or(f.server.redirect_http) {
            Some(_) if tls == TlsMode::Off => {
                warnings.push(
                    "--redirect-http only applies when carafe serves HTTPS; ignoring it"
                        .to_string(),
                );
                None
            }
            port => port,
        };
        let health_path = args
            .health_path
            .as_deref()
            .or(f.server.health_path.as_deref())
            .map(|p| {
                if p.starts_with('/') && !p.contains(['?', '#']) {
                    Ok(p.to_string())
                } else {
                    Err(anyhow::anyhow!(
                        "--health-path {p:?} must be a path starting with /, such as /healthz"
                    ))
                }
            })
            .transpose()?;
        let log_health = args.log_health || f.server.log_health.unwrap_or(false);
        if log_health && health_path.is_none() {
            bail!("--log-health needs a health path: add --health-path /healthz");
        }
        // A duration in whole seconds, above zero; the error names where the bad value is.
        let secs =
            |flag: Option<u64>, file: Option<u64>, key: &str, default: Duration| match (flag, file)
            {
                (Some(secs), _) => positive_secs(secs, &format!("--{}", key.replace('_', "-"))),
                (None, Some(secs)) => positive_secs(secs, &format!("carafe.toml [server] {key}")),
                (None, None) => Ok(default),
            };
        let http = HttpOptions {
            trust,
            force_https,
            hsts,
            health_path,
            log_health,
            request_timeout: secs(
                args.request_timeout,
                f.server.request_timeout,
                "request_timeout",
                DEFAULT_REQUEST_TIMEOUT,
            )?,
        };
        let server = ServerOptions {
            drain_timeout: args
                .shutdown_timeout
                .or(f.server.shutdown_timeout)
                .map_or(DEFAULT_DRAIN_TIMEOUT, Duration::from_secs),
            tls_handshake_timeout: secs(
                args.tls_handshake_timeout,
                f.server.tls_handshake_timeout,
                "tls_handshake_timeout",
                TLS_HANDSHAKE_TIMEOUT,
            )?,
            header_read_timeout: secs(
                args.header_timeout,
                f.server.header_timeout,
                "header_timeout",
                HEADER_READ_TIMEOUT,
            )?,
            send_timeout: secs(
                args.send_timeout,
                f.server.send_timeout,
                "send_timeout",
                DEFAULT_SEND_TIMEOUT,
            )?,
            keep_alive: secs(
                args.keep_alive,
                f.server.keep_alive,
                "keep_alive",
                if router_mode {
                    ROUTER_KEEP_ALIVE
                } else {
                    DEFAULT_KEEP_ALIVE
                },
            )?,
            max_connections: match args.max_connections.or(f.server.max_connections) {
                Some(0) => {
                    bail!("--max-connections (or [server] max_connections) must be at least 1")
                }
                Some(n) => n,
                None => DEFAULT_MAX_CONNECTIONS,
            },
        };
        sources.insert(
            "shutdown_timeout",
            Source::of(
                args.shutdown_timeout.is_some(),
                f.server.shutdown_timeout.is_some(),
            ),
        );

        let ip =
            args.bind
                .or(f.server.bind)
                .unwrap_or(if platform_port.is_some() || behind_proxy {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    IpAddr::V4(Ipv4Addr::LOCALHOST)
                });
        sources.insert(
            "bind",
            Source::of(args.bind.is_some(), f.server.bind.is_some()),
        );
        if args.dev && !ip.is_loopback() {
            warnings.push(format!(
                "development mode is listening on {ip}, not a loopback address: anyone who can \
                 reach it sees template errors with their source; use --bind 127.0.0.1"
            ));
        }

        // Mounts: the file's, then flags (a flag replaces a file mount with the same prefix).
        let mut mounts: Vec<Mount> = f
            .mounts
            .iter()
            .map(|(prefix, dir)| {
                format!("{prefix}={}", dir.display())
                    .parse::<Mount>()
                    .map_err(|e| anyhow::anyhow!("carafe.toml [mounts]: {e}"))
            })
            .collect::<anyhow::Result<_>>()?;
        for m in &args.mounts {
            let mount = m
                .parse::<Mount>()
                .map_err(|e| anyhow::anyhow!("--mount {m}: {e}"))?;
            mounts.retain(|existing| existing.prefix != mount.prefix);
            mounts.push(mount);
        }

        let headers = f
            .headers
            .iter()
            .map(|(glob, hs)| {
                HeaderRule::new(glob, hs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                    .map_err(|e| anyhow::anyhow!("carafe.toml {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        for url in f.routes.keys() {
            if !url.starts_with('/') {
                bail!("carafe.toml [routes] {url:?}: a route must start with / (e.g. \"/join\")");
            }
        }

        let env_names = f
            .env_allow_list()
            .map_err(|e| anyhow::anyhow!("carafe.toml: {e}"))?;
        let env_values = env_names
            .iter()
            .filter_map(|name| env(name).map(|v| (name.clone(), v)))
            .collect();
        let config_values = serde_json::to_value(f.template_config())
            .ok()
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();

        let strict = args.strict || f.site.strict_undefined.unwrap_or(false);
        sources.insert(
            "strict_undefined",
            Source::of(args.strict, f.site.strict_undefined.is_some()),
        );
        let defaults = SiteOptions::default();
        let site = SiteOptions {
            templates_dir: f.site.templates.clone().unwrap_or(defaults.templates_dir),
            static_dir: f.site.static_dir.clone().unwrap_or(defaults.static_dir),
            static_url: match &f.site.static_url {
                Some(url) => url
                    .parse::<Mount>()
                    .or_else(|_| format!("{url}=static").parse::<Mount>())
                    .map(|m| m.prefix)
                    .map_err(|e| anyhow::anyhow!("carafe.toml [site] static_url: {e}"))?,
                None => defaults.static_url,
            },
            data_dir: f.site.data.clone().unwrap_or(defaults.data_dir),
            mounts,
            statics: StaticOptions {
                listing: args.list || f.site.list.unwrap_or(false),
                // Development mode: every response read from disk, so edits show at once.
                cache: !args.dev,
                limits: CacheLimits {
                    max_file_bytes: args
                        .cache_max_file
                        .or(f.server.cache_max_file)
                        .unwrap_or(DEFAULT_MAX_FILE_BYTES),
                    total_bytes: args
                        .cache_size
                        .or(f.server.cache_size)
                        .unwrap_or(DEFAULT_TOTAL_BYTES),
                },
            },
            spa: args.spa.clone().or(f.site.spa.clone()),
            templates: TemplateOptions {
                strict_undefined: strict,
                reload: args.dev,
                config: config_values,
                env: env_values,
                routes: f.routes.into_iter().collect(),
                data_dir: None,
            },
            headers,
            dev: args.dev,
        };

        Ok(Self {
            root,
            site,
            addr: SocketAddr::new(ip, port),
            port_source,
            tls,
            key_passphrase,
            router_mode,
            http,
            server,
            redirect_http,
            workers: match args.workers.or(f.server.workers) {
                Some(0) => bail!("--workers (or [server] workers) must be at least 1"),
                n => n,
            },
            warnings,
            dev: args.dev,
            config_file,
            sources,
        })
    }
}

/// The configuration file to read: `--config` (must exist), else `carafe.toml` in `--root`,
/// else in the working directory.
fn locate_file(args: &ServeArgs) -> anyhow::Result<Option<PathBuf>> {
    if let Some(path) = &args.config {
        if !path.is_file() {
            bail!(
                "--config {}: no such file (omit --config to use carafe.toml in the site root)",
                path.display()
            );
        }
        return Ok(Some(path.clone()));
    }
    let dir = args.root.clone().unwrap_or_else(|| PathBuf::from("."));
    let candidate = dir.join(CONFIG_FILE);
    Ok(candidate.is_file().then_some(candidate))
}

/// The HSTS policy: asked for with `--hsts` (or `[tls] hsts`), or automatic for real
/// certificates (`--cert`); never for the self-signed `gen` certificate (HSTS would pin
/// browsers to it) and never in development mode.
fn hsts_policy(
    args: &ServeArgs,
    f: &FileConfig,
    tls: &TlsMode,
    warnings: &mut Vec<String>,
) -> Option<Hsts> {
    if args.no_hsts || (args.hsts.is_none() && f.tls.hsts == Some(0)) {
        return None;
    }
    let asked = args.hsts.or(f.tls.hsts);
    if args.dev {
        if asked.is_some() {
            warnings.push("HSTS is never sent in development mode; ignoring --hsts".to_string());
        }
        return None;
    }
    let max_age = match (asked, tls) {
        (Some(_), TlsMode::Gen { .. }) => {
            warnings.push(
                "--hsts is ignored with --tls gen: browsers would pin the self-signed certificate"
                    .to_string(),
            );
            return None;
        }
        (Some(_), TlsMode::Ca { .. }) => {
            warnings.push(
                "--hsts is ignored with --tls ca: it only serves local names, where HSTS would outlive the development CA"
                    .to_string(),
            );
            return None;
        }
        (Some(max_age), _) => max_age,
        (None, TlsMode::Files(_)) => DEFAULT_HSTS_MAX_AGE,
        (None, _) => return None,
    };
    let preload = args.hsts_preload || f.tls.hsts_preload.unwrap_or(false);
    Some(Hsts {
        max_age,
        include_subdomains: preload
            || args.hsts_include_subdomains
            || f.tls.hsts_include_subdomains.unwrap_or(false),
        preload,
    })
}

/// A whole number of seconds above zero.
fn positive_secs(secs: u64, flag: &str) -> anyhow::Result<Duration> {
    if secs == 0 {
        bail!("{flag} must be at least 1 second");
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn config(argv: &[&str], port: Option<&str>) -> anyhow::Result<ServeConfig> {
        let mut full = vec!["carafe", "serve"];
        full.extend_from_slice(argv);
        let Command::Serve(args) = Cli::try_parse_from(full)?.command else {
            unreachable!("serve was parsed")
        };
        ServeConfig::from_parts(&args, port, None, &|_| None)
    }

    #[test]
    fn default_is_https_gen_on_loopback_8443() {
        let c = config(&[], None).unwrap();
        assert_eq!(c.addr, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(
            c.tls,
            TlsMode::Gen {
                extra_hosts: vec![]
            }
        );
        assert_eq!(c.port_source, PortSource::Default);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn platform_port_means_plain_http_on_all_interfaces() {
        let c = config(&[], Some("5123")).unwrap();
        assert_eq!(c.addr, "0.0.0.0:5123".parse().unwrap());
        assert_eq!(c.tls, TlsMode::Off);
        assert_eq!(c.port_source, PortSource::PlatformEnv);
    }

    #[test]
    fn port_flag_beats_platform_port() {
        let c = config(&["--port", "9000"], Some("5123")).unwrap();
        assert_eq!(c.addr.port(), 9000);
        assert_eq!(c.port_source, PortSource::Flag);
    }

    #[test]
    fn tls_gen_with_platform_port_warns() {
        let c = config(&["--tls", "gen"], Some("5123")).unwrap();
        assert!(matches!(c.tls, TlsMode::Gen { .. }));
        assert_eq!(c.warnings.len(), 1);
    }

    #[test]
    fn bad_platform_port_is_an_error_naming_port() {
        let err = config(&[], Some("web")).unwrap_err();
        assert!(format!("{err:#}").contains("$PORT is \"web\""));
    }

    #[test]
    fn cert_and_key_select_files_mode() {
        let c = config(&["--cert", "a.crt", "--key", "a.key"], None).unwrap();
        assert_eq!(
            c.tls,
            TlsMode::Files(vec![CertPair {
                cert: "a.crt".into(),
                key: "a.key".into()
            }])
        );
    }

    #[test]
    fn several_certificates_pair_up_in_order_from_flags_and_the_file() {
        let c = config(
            &[
                "--cert", "a.crt", "--key", "a.key", "--cert", "b.crt", "--key", "b.key",
            ],
            None,
        )
        .unwrap();
        let pair = |c: &str, k: &str| CertPair {
            cert: c.into(),
            key: k.into(),
        };
        assert_eq!(
            c.tls,
            TlsMode::Files(vec![pair("a.crt", "a.key"), pair("b.crt", "b.key")])
        );
        let err = config(
            &["--cert", "a.crt", "--key", "a.key", "--cert", "b.crt"],
            None,
        )
        .unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "2 --cert but 1 --key: give one --key for each --cert, in the same order"
        );
        let file = "[tls]\ncert = \"a.crt\"\nkey = \"a.key\"\n[[tls.certs]]\ncert = \"b.crt\"\nkey = \"b.key\"\n";
        let c = with_file(&[], None, file).unwrap();
        assert_eq!(
            c.tls,
            TlsMode::Files(vec![
                pair("site/a.crt", "site/a.key"),
                pair("site/b.crt", "site/b.key")
            ])
        );
        assert!(
            c.effective()
                .contains("[[tls.certs]]\ncert = \"site/b.crt\"")
        );
    }

    #[test]
    fn redirect_http_needs_tls() {
        let c = config(&["--redirect-http", "8080"], None).unwrap();
        assert_eq!(c.redirect_http, Some(8080));
        let c = config(&["--tls", "off", "--redirect-http", "8080"], None).unwrap();
        assert_eq!(c.redirect_http, None);
        assert!(c.warnings[0].contains("--redirect-http only applies"));
    }

    #[test]
    fn mounts_spa_and_listing() {
        let c = config(
            &[
                "--mount",
                "/js=js",
                "--mount",
                "/media/=assets/media",
                "--list",
                "--spa",
            ],
            None,
        )
        .unwrap();
        let prefixes: Vec<&str> = c.site.mounts.iter().map(|m| m.prefix.as_str()).collect();
        assert_eq!(prefixes, ["/js", "/media"]);
        assert!(c.site.statics.listing);
        assert_eq!(
            c.site.spa.as_deref(),
            Some(std::path::Path::new("static/index.html"))
        );
        let c = config(&["--spa", "app/shell.html"], None).unwrap();
        assert_eq!(
            c.site.spa.as_deref(),
            Some(std::path::Path::new("app/shell.html"))
        );
        for bad in ["js", "/=js", "/js", "/../x=y", "/.git=x"] {
            let err = config(&["--mount", bad], None).unwrap_err();
            assert!(format!("{err:#}").starts_with("--mount "), "{bad}: {err:#}");
        }
    }

    #[test]
    fn router_mode_trusts_one_hop_and_keeps_connections_100s() {
        let c = config(&[], Some("5123")).unwrap();
        assert!(c.router_mode);
        assert_eq!(c.http.trust, TrustedProxies(1));
        assert_eq!(c.server.keep_alive, ROUTER_KEEP_ALIVE);
        let c = config(&["--behind-proxy", "--trust-proxy", "2"], None).unwrap();
        assert!(c.router_mode);
        assert_eq!(c.tls, TlsMode::Off);
        assert_eq!(c.addr, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(c.http.trust, TrustedProxies(2));
    }

    #[test]
    fn direct_mode_trusts_no_proxy() {
        let c = config(&[], None).unwrap();
        assert!(!c.router_mode);
        assert_eq!(c.http.trust, TrustedProxies(0));
        assert_eq!(c.server.keep_alive, DEFAULT_KEEP_ALIVE);
        let c = config(&["--tls", "gen"], Some("5123")).unwrap();
        assert!(!c.router_mode);
        assert_eq!(c.http.trust, TrustedProxies(0));
    }

    #[test]
    fn hsts_only_when_asked_or_with_real_certificates() {
        assert_eq!(config(&[], None).unwrap().http.hsts, None);
        assert_eq!(config(&[], Some("5123")).unwrap().http.hsts, None);
        let c = config(&["--hsts", "--tls", "gen"], None).unwrap();
        assert_eq!(c.http.hsts, None);
        assert_eq!(c.warnings.len(), 1);
        let c = config(&["--cert", "a.crt", "--key", "a.key"], None).unwrap();
        assert_eq!(
            c.http.hsts,
            Some(Hsts {
                max_age: DEFAULT_HSTS_MAX_AGE,
                include_subdomains: false,
                preload: false
            })
        );
        let c = config(&["--cert", "a.crt", "--key", "a.key", "--no-hsts"], None).unwrap();
        assert_eq!(c.http.hsts, None);
        let c = config(&["--hsts", "600", "--hsts-preload"], Some("5123")).unwrap();
        assert_eq!(
            c.http.hsts,
            Some(Hsts {
                max_age: 600,
                include_subdomains: true,
                preload: true
            })
        );
        let c = config(&["--hsts"], Some("5123")).unwrap();
        assert_eq!(c.http.hsts.unwrap().max_age, DEFAULT_HSTS_MAX_AGE);
    }

    #[test]
    fn force_https_without_proxy_trust_warns() {
        let c = config(&["--tls", "off", "--force-https"], None).unwrap();
        assert!(c.warnings[0].contains("--behind-proxy"), "{:?}", c.warnings);
        assert!(
            config(&["--force-https"], Some("5123"))
                .unwrap()
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn bad_limits_and_health_paths_are_errors() {
        let err = config(&["--health-path", "healthz"], None).unwrap_err();
        assert!(format!("{err:#}").contains("must be a path starting with /"));
        let err = config(&["--keep-alive", "0"], None).unwrap_err();
        assert_eq!(format!("{err:#}"), "--keep-alive must be at least 1 second");
        let err = config(&["--max-connections", "0"], None).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "--max-connections (or [server] max_connections) must be at least 1"
        );
        let err = config(&["--log-health"], None).unwrap_err();
        assert!(format!("{err:#}").contains("add --health-path"), "{err:#}");
    }

    #[test]
    fn limits_and_proxy_settings_come_from_the_file_below_flags() {
        let file = "[server]\nheader_timeout = 3\nkeep_alive = 40\nbehind_proxy = true\n\
                    health_path = \"/up\"\nlog_health = true\nworkers = 1\n[tls]\nhsts = 600\n";
        let f = |argv: &[&str]| with_file(argv, None, file);
        let c = f(&[]).unwrap();
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(3));
        assert_eq!(c.server.keep_alive, Duration::from_secs(40));
        assert!(c.router_mode);
        assert_eq!(c.tls, TlsMode::Off);
        assert_eq!(c.http.trust, TrustedProxies(1));
        assert_eq!(c.http.health_path.as_deref(), Some("/up"));
        assert!(c.http.log_health);
        assert_eq!(c.workers, Some(1));
        // Behind a router, HSTS goes on responses the router marks as https.
        assert_eq!(c.http.hsts.as_ref().map(|h| h.max_age), Some(600));
        let c = f(&["--tls", "gen"]).unwrap();
        assert_eq!(
            c.http.hsts, None,
            "never HSTS with the self-signed gen certificate"
        );
        let c = f(&["--keep-alive", "9", "--header-timeout", "2"]).unwrap();
        assert_eq!(c.server.keep_alive, Duration::from_secs(9));
        assert_eq!(c.server.header_read_timeout, Duration::from_secs(2));
        let err = with_file(&[], None, "[server]\nheader_timeout = 0\n").unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "carafe.toml [server] header_timeout must be at least 1 second"
        );
        let c = with_file(&["--dev", "--cert", "a.crt", "--key", "a.key"], None, file).unwrap();
        assert_eq!(c.http.hsts, None, "never HSTS in development mode");
    }

    #[test]
    fn tls_off_defaults_to_8080() {
        let c = config(&["--tls", "off"], None).unwrap();
        assert_eq!(c.addr, "127.0.0.1:8080".parse().unwrap());
    }

    fn with_file(argv: &[&str], port: Option<&str>, toml: &str) -> anyhow::Result<ServeConfig> {
        let mut full = vec!["carafe", "serve"];
        full.extend_from_slice(argv);
        let Command::Serve(args) = Cli::try_parse_from(full)?.command else {
            unreachable!("serve was parsed")
        };
        let path = PathBuf::from("site/carafe.toml");
        let file = FileConfig::parse(toml, &path)?;
        ServeConfig::from_parts(&args, port, Some((path, file)), &|name| {
            (name == "APP_NAME").then(|| "Carafe".to_string())
        })
    }

    #[test]
    fn tls_ca_from_flag_or_file_keeps_hosts_and_never_sends_hsts() {
        let c = config(&["--tls", "ca", "--host", "app.test", "--hsts"], None).unwrap();
        assert_eq!(
            c.tls,
            TlsMode::Ca {
                extra_hosts: vec!["app.test".to_string()]
            }
        );
        assert_eq!(c.http.hsts, None);
        assert!(
            c.warnings
                .iter()
                .any(|w| w.contains("--hsts is ignored with --tls ca")),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.addr.port(), DEFAULT_TLS_PORT);

        let c = with_file(
            &[],
            None,
            "[tls]\nmode = \"ca\"\nhosts = [\"db.internal\"]\n",
        )
        .unwrap();
        assert_eq!(
            c.tls,
            TlsMode::Ca {
                extra_hosts: vec!["db.internal".to_string()]
            }
        );
        assert_eq!(c.sources["tls"], Source::File);
        assert!(c.effective().contains("mode = \"ca\""));
    }

    #[test]
    fn precedence_is_flag_then_platform_port_then_file_then_default() {
        let file = "[server]\nport = 7000\nbind = \"0.0.0.0\"\nshutdown_timeout = 5\n[tls]\nmode = \"off\"\n";
        // (flags, $PORT, expected port, its source)
        let cases: [(&[&str], Option<&str>, u16, Source); 4] = [
            (&["--port", "9000"], Some("5123"), 9000, Source::Flag),
            (&[], Some("5123"), 5123, Source::PlatformEnv),
            (&[], None, 7000, Source::File),
            (&["--port", "1"], None, 1, Source::Flag),
        ];
        for (argv, port, want, source) in cases {
            let c = with_file(argv, port, file).unwrap();
            assert_eq!(
                (c.addr.port(), c.port_source),
                (want, source),
                "{argv:?} {port:?}"
            );
        }
        let c = with_file(&[], None, "").unwrap();
        assert_eq!(
            (c.addr.port(), c.port_source),
            (DEFAULT_TLS_PORT, Source::Default)
        );
        assert_eq!(c.server.drain_timeout, DEFAULT_DRAIN_TIMEOUT);

        let c = with_file(&[], None, file).unwrap();
        assert_eq!(c.tls, TlsMode::Off);
        assert_eq!(c.addr.ip(), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert_eq!(c.server.drain_timeout, Duration::from_secs(5));
        assert_eq!(c.sources["tls"], Source::File);
        let c = with_file(
            &[
                "--tls",
                "gen",
                "--bind",
                "127.0.0.1",
                "--shutdown-timeout",
                "9",
            ],
            None,
            file,
        )
        .unwrap();
        assert!(matches!(c.tls, TlsMode::Gen { .. }));
        assert_eq!(c.addr.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(c.server.drain_timeout, Duration::from_secs(9));
        assert_eq!(c.sources["tls"], Source::Flag);
        assert_eq!(c.sources["bind"], Source::Flag);
    }

    #[test]
    fn file_paths_are_relative_to_the_file_and_flags_extend_it() {
        let c = with_file(
            &["--mount", "/js=scripts"],
            None,
            "[site]\nroot = \"www\"\nstrict_undefined = true\n[tls]\ncert = \"a.crt\"\nkey = \"a.key\"\n[mounts]\n\"/js\" = \"js\"\n\"/img\" = \"img\"\n[routes]\n\"/join\" = \"signup.html\"\n[context]\nname = \"x\"\nenv = [\"APP_NAME\", \"SECRET\"]\n",
        )
        .unwrap();
        assert_eq!(c.root, PathBuf::from("site/www"));
        assert_eq!(
            c.tls,
            TlsMode::Files(vec![CertPair {
                cert: "site/a.crt".into(),
                key: "site/a.key".into()
            }])
        );
        let mounts: Vec<(&str, &Path)> = c
            .site
            .mounts
            .iter()
            .map(|m| (m.prefix.as_str(), m.dir.as_path()))
            .collect();
        assert_eq!(
            mounts,
            [("/img", Path::new("img")), ("/js", Path::new("scripts"))]
        );
        assert!(c.site.templates.strict_undefined);
        assert_eq!(
            c.site.templates.routes,
            [("/join".into(), "signup.html".into())]
        );
        assert_eq!(c.site.templates.config["name"], "x");
        // Only allowed variables that are set reach templates.
        assert_eq!(
            c.site.templates.env.iter().collect::<Vec<_>>(),
            [(&"APP_NAME".to_string(), &"Carafe".to_string())]
        );
    }

    #[test]
    fn dev_mode_turns_off_the_static_cache_and_warns_off_loopback() {
        let c = config(&["--dev"], None).unwrap();
        assert!(c.dev && c.site.templates.reload && !c.site.statics.cache);
        assert!(c.warnings.is_empty());
        let c = config(&["--dev", "--bind", "0.0.0.0"], None).unwrap();
        assert!(c.warnings[0].starts_with("development mode is listening on 0.0.0.0"));
    }
}
