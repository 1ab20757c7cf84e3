//! `carafe.toml`: the optional configuration file (DESIGN §7). This file owns its shape and its
//! errors; [`super::ServeConfig`] merges it with flags and `CARAFE_*` variables (flag > env >
//! file > default).
//!
//! Every key is checked before the typed parse, so a typo is an error that names the key and
//! suggests the closest valid one (`[server] prot` → "did you mean `port`?"). Wrong types are
//! errors naming the file, line and key.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file name looked up in the site root (or the working directory) when `--config` is not
/// given.
pub const CONFIG_FILE: &str = "carafe.toml";

/// Sections and the keys each accepts. `None` means free-form keys (URL prefixes, paths,
/// template variables).
const SCHEMA: &[(&str, Option<&[&str]>)] = &[
    (
        "site",
        Some(&[
            "root",
            "templates",
            "static",
            "static_url",
            "data",
            "strict_undefined",
            "list",
            "spa",
        ]),
    ),
    (
        "server",
        Some(&[
            "bind",
            "port",
            "shutdown_timeout",
            "cache_max_file",
            "cache_size",
            "behind_proxy",
            "trust_proxy",
            "force_https",
            "health_path",
            "log_health",
            "keep_alive",
            "header_timeout",
            "send_timeout",
            "tls_handshake_timeout",
            "request_timeout",
            "max_connections",
            "workers",
            "redirect_http",
        ]),
    ),
    (
        "tls",
        Some(&[
            "mode",
            "cert",
            "key",
            "certs",
            "key_passphrase_file",
            "hosts",
            "hsts",
            "hsts_include_subdomains",
            "hsts_preload",
        ]),
    ),
    ("mounts", None),
    ("routes", None),
    ("headers", None),
    ("context", None),
];

/// Why `carafe.toml` was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A key (or section) that carafe does not know.
    #[error("{}: unknown key `{key}`{}", path.display(), suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_else(|| format!("; valid keys here: {}", valid.join(", "))))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The dotted key, e.g. `server.prot`.
        key: String,
        /// The closest valid key, dotted, when one is close enough.
        suggestion: Option<String>,
        /// Every valid key at that level.
        valid: Vec<String>,
    },
    /// The file is not valid TOML, or a value has the wrong type.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem, when known.
        line: Option<usize>,
        /// What is wrong, naming the key when known.
        message: String,
    },
}

/// The whole file, typed. Every section is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[site]`.
    #[serde(default)]
    pub site: SiteSection,
    /// `[server]`.
    #[serde(default)]
    pub server: ServerSection,
    /// `[tls]`.
    #[serde(default)]
    pub tls: TlsSection,
    /// `[mounts]`: URL prefix → directory (`"/js" = "js"`).
    #[serde(default)]
    pub mounts: BTreeMap<String, PathBuf>,
    /// `[routes]`: URL path → template (`"/join" = "signup.html"`).
    #[serde(default)]
    pub routes: BTreeMap<String, String>,
    /// `[headers]`: path glob → extra response headers (`"/static/**" = { X-Frame-Options = "DENY" }`).
    #[serde(default)]
    pub headers: BTreeMap<String, BTreeMap<String, String>>,
    /// `[context]`: template variables exposed as `config.*`; its `env` key lists the
    /// environment variables exposed as `env.*`.
    #[serde(default)]
    pub context: toml::Table,
}

/// `[site]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    /// The site directory, relative to the file's directory.
    pub root: Option<PathBuf>,
    /// Templates directory, relative to the root (default `templates`).
    pub templates: Option<PathBuf>,
    /// Static directory, relative to the root (default `static`).
    #[serde(rename = "static")]
    pub static_dir: Option<PathBuf>,
    /// URL prefix of the static directory (default `/static`).
    pub static_url: Option<String>,
    /// Data files directory, relative to the root (default `data`).
    pub data: Option<PathBuf>,
    /// Fail on any use of an undefined template variable.
    pub strict_undefined: Option<bool>,
    /// List directories without `index.html`.
    pub list: Option<bool>,
    /// SPA fallback file, relative to the root.
    pub spa: Option<PathBuf>,
}

/// `[server]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    /// Address to listen on.
    pub bind: Option<IpAddr>,
    /// Port to listen on.
    pub port: Option<u16>,
    /// Seconds in-flight requests may take to finish at shutdown.
    pub shutdown_timeout: Option<u64>,
    /// Largest static file kept in memory, in bytes.
    pub cache_max_file: Option<u64>,
    /// Memory budget of the static cache, in bytes.
    pub cache_size: Option<u64>,
    /// Behind a TLS-terminating router (`--behind-proxy`).
    pub behind_proxy: Option<bool>,
    /// Proxy hops trusted for `X-Forwarded-*`.
    pub trust_proxy: Option<u8>,
    /// Redirect requests a trusted proxy marks as http to https.
    pub force_https: Option<bool>,
    /// Health-check path (`/healthz`).
    pub health_path: Option<String>,
    /// Write health checks to the access log too.
    pub log_health: Option<bool>,
    /// Seconds an idle keep-alive connection is kept.
    pub keep_alive: Option<u64>,
    /// Seconds a request head may take to arrive.
    pub header_timeout: Option<u64>,
    /// Seconds a response write may wait for the client to read.
    pub send_timeout: Option<u64>,
    /// Seconds a TLS handshake may take.
    pub tls_handshake_timeout: Option<u64>,
    /// Seconds a handler may take to start its response.
    pub request_timeout: Option<u64>,
    /// Connections served at once.
    pub max_connections: Option<usize>,
    /// Worker threads.
    pub workers: Option<usize>,
    /// Plain-HTTP port that redirects to HTTPS.
    pub redirect_http: Option<u16>,
}

/// `[tls]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// `gen`, `ca` or `off` (with `cert` and `key`, the files are served).
    pub mode: Option<TlsFileMode>,
    /// Certificate chain (PEM), relative to the file's directory.
    pub cert: Option<PathBuf>,
    /// Private key (PEM), relative to the file's directory.
    pub key: Option<PathBuf>,
    /// More certificates, chosen by SNI (`[[tls.certs]]` with `cert` and `key`); with
    /// `cert`/`key` above, that one is the default.
    #[serde(default)]
    pub certs: Vec<CertEntry>,
    /// File holding the passphrase of an encrypted `key`, relative to the file's directory.
    pub key_passphrase_file: Option<PathBuf>,
    /// Extra names for the `gen` or `ca` certificate.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// HSTS max-age in seconds (`0` turns HSTS off, also for `cert`/`key`).
    pub hsts: Option<u64>,
    /// Add `includeSubDomains` to HSTS.
    pub hsts_include_subdomains: Option<bool>,
    /// Add `preload` (and `includeSubDomains`) to HSTS.
    pub hsts_preload: Option<bool>,
}

/// One `[[tls.certs]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CertEntry {
    /// Certificate chain (PEM), relative to the file's directory.
    pub cert: PathBuf,
    /// Private key (PEM), relative to the file's directory.
    pub key: PathBuf,
}

/// `[tls] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsFileMode {
    /// A self-signed development certificate.
    Gen,
    /// A development certificate from the local CA.
    Ca,
    /// Plain HTTP.
    Off,
}

impl FileConfig {
    /// Reads and checks `path`. Relative paths inside stay relative; [`super::ServeConfig`]
    /// resolves them against the file's directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses `text` (read from `path`, which only names it in errors).
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |err: toml::de::Error| {
            let line = err
                .span()
                .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
            let key = line.and_then(|l| key_on_line(text, l));
            let message = err.message().trim().replace('\n', " ");
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                message: match key {
                    Some(key) => format!("`{key}`: {message}"),
                    None => message,
                },
            }
        };
        let table: toml::Table = toml::from_str(text).map_err(invalid)?;
        check_keys(&table, path)?;
        toml::from_str(text).map_err(invalid)
    }

    /// The `[context]` table without its `env` key: what templates see as `config`.
    pub fn template_config(&self) -> toml::Table {
        let mut table = self.context.clone();
        table.remove("env");
        table
    }

    /// `[context] env`: names of environment variables templates may read.
    pub fn env_allow_list(&self) -> Result<Vec<String>, String> {
        match self.context.get("env") {
            None => Ok(Vec::new()),
            Some(toml::Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        "`context.env` must be a list of variable names, e.g. [\"APP_NAME\"]"
                            .to_string()
                    })
                })
                .collect(),
            Some(_) => Err(
                "`context.env` must be a list of variable names, e.g. [\"APP_NAME\"]".to_string(),
            ),
        }
    }
}

/// Rejects unknown sections and keys, suggesting the closest valid one.
fn check_keys(table: &toml::Table, path: &Path) -> Result<(), ConfigError> {
    let sections: Vec<&str> = SCHEMA.iter().map(|(s, _)| *s).collect();
    for (name, value) in table {
        let Some((_, keys)) = SCHEMA.iter().find(|(s, _)| s == name) else {
            // `port = 8443` at the top: point at the section that has it.
            let nested = SCHEMA.iter().find_map(|(section, keys)| {
                keys.and_then(|keys| closest(name, keys))
                    .filter(|k| *k == name)
                    .map(|k| format!("{section}.{k}"))
            });
            return Err(match nested {
                Some(suggestion) => ConfigError::UnknownKey {
                    path: path.to_path_buf(),
                    key: name.clone(),
                    suggestion: Some(suggestion),
                    valid: sections.iter().map(|s| s.to_string()).collect(),
                },
                None => unknown(path, name, "", &sections),
            });
        };
        if !value.is_table() {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: None,
                message: format!("`{name}` must be a section ([{name}])"),
            });
        }
        if let (Some(keys), Some(inner)) = (keys, value.as_table()) {
            for key in inner.keys() {
                if !keys.contains(&key.as_str()) {
                    return Err(unknown(path, key, name, keys));
                }
            }
        }
    }
    Ok(())
}

fn unknown(path: &Path, key: &str, section: &str, valid: &[&str]) -> ConfigError {
    let dotted = |k: &str| {
        if section.is_empty() {
            k.to_string()
        } else {
            format!("{section}.{k}")
        }
    };
    ConfigError::UnknownKey {
        path: path.to_path_buf(),
        key: dotted(key),
        suggestion: closest(key, valid).map(dotted),
        valid: valid.iter().map(|k| dotted(k)).collect(),
    }
}

/// The valid key closest to `key` by edit distance, if it is close enough to be a typo.
pub fn closest<'a>(key: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::damerau_levenshtein(key, v), *v))
        .filter(|(d, v)| *d <= 2.max(v.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v)
}

/// The dotted key assigned on 1-based `line` (`[server]` then `port = "x"` → `server.port`).
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let mut section = String::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.starts_with('[') && !l.starts_with("[[") {
            section = l.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
        if i + 1 == line {
            let (key, _) = l.split_once('=')?;
            let key = key.trim().trim_matches('"');
            return Some(if section.is_empty() {
                key.to_string()
            } else {
                format!("{section}.{key}")
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FileConfig, String> {
        FileConfig::parse(text, Path::new("carafe.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn unknown_keys_name_the_key_and_suggest_the_closest() {
        let cases = [
            (
                "[server]\nprot = 1\n",
                "carafe.toml: unknown key `server.prot`; did you mean `server.port`?",
            ),
            (
                "[sever]\nport = 1\n",
                "carafe.toml: unknown key `sever`; did you mean `server`?",
            ),
            (
                "[site]\nstrict = true\n",
                "carafe.toml: unknown key `site.strict`; valid keys here: site.root, site.templates, site.static, site.static_url, site.data, site.strict_undefined, site.list, site.spa",
            ),
            (
                "[tls]\nkee = \"a\"\n",
                "carafe.toml: unknown key `tls.kee`; did you mean `tls.key`?",
            ),
            (
                "port = 8443\n",
                "carafe.toml: unknown key `port`; did you mean `server.port`?",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn wrong_types_name_the_line_and_key() {
        let err = parse("# c\n[server]\nport = \"web\"\n").unwrap_err();
        assert!(
            err.starts_with("carafe.toml line 3: `server.port`: invalid type: string \"web\""),
            "{err}"
        );
        let err = parse("[tls]\nmode = \"maybe\"\n").unwrap_err();
        assert!(
            err.starts_with("carafe.toml line 2: `tls.mode`: unknown variant `maybe`"),
            "{err}"
        );
    }

    #[test]
    fn parses_every_section() {
        let c = parse(
            r#"
[site]
strict_undefined = true
static_url = "/assets"
[server]
bind = "0.0.0.0"
port = 9000
[tls]
mode = "off"
[mounts]
"/js" = "js"
[routes]
"/join" = "signup.html"
[headers]
"/static/**" = { "X-Frame-Options" = "DENY" }
[context]
site_name = "carafe"
env = ["APP_NAME"]
"#,
        )
        .unwrap();
        assert_eq!(c.server.port, Some(9000));
        assert_eq!(c.tls.mode, Some(TlsFileMode::Off));
        assert_eq!(c.routes["/join"], "signup.html");
        assert_eq!(c.headers["/static/**"]["X-Frame-Options"], "DENY");
        assert_eq!(c.env_allow_list().unwrap(), ["APP_NAME"]);
        assert!(c.template_config().get("env").is_none());
        assert_eq!(c.template_config()["site_name"].as_str(), Some("carafe"));
    }
}
