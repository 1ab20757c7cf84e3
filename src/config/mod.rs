//! Typed, validated settings for `serve`, built from the parsed command line and the
//! environment (`$PORT`). Nothing below this module sees a raw string.
//!
//! Precedence: flag (or its `CARAFE_*` variable) > `$PORT` > default. `$PORT` is the platform
//! convention of Heroku-style routers: when it is set and no TLS option is given, carafe serves
//! plain HTTP on `0.0.0.0:$PORT` because the router terminates TLS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{ServeArgs, TlsArg};
use crate::site::file_cache::CacheLimits;
use crate::site::{Mount, SiteOptions, StaticOptions};

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
    /// A certificate chain and key supplied by the user.
    Files {
        /// PEM certificate chain, leaf first.
        cert: PathBuf,
        /// PEM private key.
        key: PathBuf,
    },
    /// Plain HTTP.
    Off,
}

/// Where the port number came from, printed at start so precedence is never a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortSource {
    /// `--port` or `CARAFE_PORT`.
    Flag,
    /// The platform's `$PORT`.
    PlatformEnv,
    /// The built-in default.
    Default,
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
    /// Upper bound on draining in-flight requests at shutdown.
    pub shutdown_timeout: Duration,
    /// Mounts, listing, SPA fallback, cache limits.
    pub site: SiteOptions,
    /// Warnings to print at start (e.g. `--tls gen` with a platform `$PORT`).
    pub warnings: Vec<String>,
}

impl ServeConfig {
    /// Builds the config from parsed flags and the value of `$PORT` (passed in, so this stays
    /// pure and testable).
    pub fn from_args(args: &ServeArgs, platform_port: Option<&str>) -> anyhow::Result<Self> {
        let platform_port = platform_port
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                p.parse::<u16>()
                    .with_context(|| format!("$PORT is {p:?}; it must be a port number (0-65535)"))
            })
            .transpose()?;

        let tls = match (&args.tls, &args.cert, &args.key) {
            (_, Some(cert), Some(key)) => TlsMode::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            (Some(TlsArg::Off), _, _) => TlsMode::Off,
            (Some(TlsArg::Gen), _, _) => TlsMode::Gen {
                extra_hosts: args.hosts.clone(),
            },
            (None, None, None) if platform_port.is_some() => TlsMode::Off,
            (None, None, None) => TlsMode::Gen {
                extra_hosts: args.hosts.clone(),
            },
            _ => bail!("--cert and --key must be given together"),
        };

        let mut warnings = Vec::new();
        if platform_port.is_some() && tls != TlsMode::Off {
            warnings.push(
                "$PORT is set (a platform router usually terminates TLS there) but TLS is on; \
                 the router will not be able to talk to this port unless it speaks HTTPS to it"
                    .to_string(),
            );
        }
        if !args.hosts.is_empty() && !matches!(tls, TlsMode::Gen { .. }) {
            warnings.push("--host only applies to --tls gen; ignoring it".to_string());
        }

        let (port, port_source) = match (args.port, platform_port) {
            (Some(p), _) => (p, PortSource::Flag),
            (None, Some(p)) => (p, PortSource::PlatformEnv),
            (None, None) if tls == TlsMode::Off => (DEFAULT_PLAIN_PORT, PortSource::Default),
            (None, None) => (DEFAULT_TLS_PORT, PortSource::Default),
        };
        let ip = args.bind.unwrap_or(if platform_port.is_some() {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        });

        let mounts = args
            .mounts
            .iter()
            .map(|m| {
                m.parse::<Mount>()
                    .map_err(|e| anyhow::anyhow!("--mount {m}: {e}"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let site = SiteOptions {
            mounts,
            statics: StaticOptions {
                listing: args.list,
                cache: true,
                limits: CacheLimits {
                    max_file_bytes: args.cache_max_file,
                    total_bytes: args.cache_size,
                },
            },
            spa: args.spa.clone(),
        };

        Ok(Self {
            root: args.root.clone(),
            site,
            addr: SocketAddr::new(ip, port),
            port_source,
            tls,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
            warnings,
        })
    }
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
        ServeConfig::from_args(&args, port)
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
            TlsMode::Files {
                cert: "a.crt".into(),
                key: "a.key".into()
            }
        );
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
    fn tls_off_defaults_to_8080() {
        let c = config(&["--tls", "off"], None).unwrap();
        assert_eq!(c.addr, "127.0.0.1:8080".parse().unwrap());
    }
}
