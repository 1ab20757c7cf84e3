//! `carafe serve --check` output: the effective settings as TOML, each main value commented
//! with where it came from ([`super::Source`]).

use super::{ServeConfig, TlsMode};
use crate::certs::private_key::PassphraseSource;

impl ServeConfig {
    /// The effective settings as TOML, each commented with where it came from (`--check`).
    pub fn effective(&self) -> String {
        use std::fmt::Write as _;
        let src = |key: &str| {
            self.sources
                .get(key)
                .map_or(String::new(), |s| format!("  # {s}"))
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# config file: {}",
            self.config_file
                .as_deref()
                .map_or("none".to_string(), |p| p.display().to_string())
        );
        let _ = writeln!(out, "[site]");
        let _ = writeln!(
            out,
            "root = {:?}{}",
            self.root.display().to_string(),
            src("root")
        );
        let _ = writeln!(
            out,
            "templates = {:?}",
            self.site.templates_dir.display().to_string()
        );
        let _ = writeln!(
            out,
            "static = {:?}",
            self.site.static_dir.display().to_string()
        );
        let _ = writeln!(out, "static_url = {:?}", self.site.static_url);
        let _ = writeln!(out, "data = {:?}", self.site.data_dir.display().to_string());
        let _ = writeln!(
            out,
            "strict_undefined = {}{}",
            self.site.templates.strict_undefined,
            src("strict_undefined")
        );
        let _ = writeln!(out, "list = {}", self.site.statics.listing);
        let _ = writeln!(out, "dev = {}", self.dev);
        let _ = writeln!(out, "\n[server]");
        let _ = writeln!(out, "bind = \"{}\"{}", self.addr.ip(), src("bind"));
        let _ = writeln!(out, "port = {}{}", self.addr.port(), src("port"));
        let _ = writeln!(
            out,
            "shutdown_timeout = {}{}",
            self.server.drain_timeout.as_secs(),
            src("shutdown_timeout")
        );
        let _ = writeln!(out, "behind_proxy = {}", self.router_mode);
        let _ = writeln!(out, "trust_proxy = {}", self.http.trust.0);
        let _ = writeln!(out, "force_https = {}", self.http.force_https);
        if let Some(path) = &self.http.health_path {
            let _ = writeln!(out, "health_path = {path:?}");
        }
        let _ = writeln!(out, "keep_alive = {}", self.server.keep_alive.as_secs());
        let _ = writeln!(
            out,
            "header_timeout = {}",
            self.server.header_read_timeout.as_secs()
        );
        let _ = writeln!(out, "send_timeout = {}", self.server.send_timeout.as_secs());
        let _ = writeln!(
            out,
            "tls_handshake_timeout = {}",
            self.server.tls_handshake_timeout.as_secs()
        );
        let _ = writeln!(
            out,
            "request_timeout = {}",
            self.http.request_timeout.as_secs()
        );
        let _ = writeln!(out, "max_connections = {}", self.server.max_connections);
        if let Some(port) = self.redirect_http {
            let _ = writeln!(out, "redirect_http = {port}");
        }
        match self.workers {
            Some(n) => {
                let _ = writeln!(out, "workers = {n}");
            }
            None => {
                let _ = writeln!(out, "# workers: the CPU quota, else one per CPU");
            }
        }
        let _ = writeln!(
            out,
            "cache_max_file = {}",
            self.site.statics.limits.max_file_bytes
        );
        let _ = writeln!(out, "cache_size = {}", self.site.statics.limits.total_bytes);
        let _ = writeln!(out, "\n[tls]");
        match &self.http.hsts {
            Some(hsts) => {
                let _ = writeln!(out, "hsts = {}", hsts.max_age);
                let _ = writeln!(out, "hsts_include_subdomains = {}", hsts.include_subdomains);
                let _ = writeln!(out, "hsts_preload = {}", hsts.preload);
            }
            None => {
                let _ = writeln!(out, "hsts = 0  # off");
            }
        }
        match &self.tls {
            TlsMode::Gen { extra_hosts } => {
                let _ = writeln!(out, "mode = \"gen\"{}", src("tls"));
                let _ = writeln!(out, "hosts = {extra_hosts:?}");
            }
            TlsMode::Ca { extra_hosts } => {
                let _ = writeln!(out, "mode = \"ca\"{}", src("tls"));
                let _ = writeln!(out, "hosts = {extra_hosts:?}");
            }
            TlsMode::Off => {
                let _ = writeln!(out, "mode = \"off\"{}", src("tls"));
            }
            TlsMode::Files(pairs) => {
                let _ = writeln!(out, "# certificates{}", src("tls"));
                match &self.key_passphrase {
                    Some(PassphraseSource::File(path)) => {
                        let _ = writeln!(
                            out,
                            "key_passphrase_file = {:?}",
                            path.display().to_string()
                        );
                    }
                    Some(PassphraseSource::Env) => {
                        let _ = writeln!(out, "# key passphrase: $CARAFE_KEY_PASSPHRASE");
                    }
                    None => {}
                }
                for pair in pairs {
                    let _ = writeln!(
                        out,
                        "[[tls.certs]]\ncert = {:?}\nkey = {:?}",
                        pair.cert.display().to_string(),
                        pair.key.display().to_string()
                    );
                }
            }
        }
        let _ = writeln!(out, "\n[mounts]");
        for m in &self.site.mounts {
            let _ = writeln!(out, "{:?} = {:?}", m.prefix, m.dir.display().to_string());
        }
        let _ = writeln!(out, "\n[routes]");
        for (url, template) in &self.site.templates.routes {
            let _ = writeln!(out, "{url:?} = {template:?}");
        }
        let _ = writeln!(out, "\n[headers]");
        for rule in &self.site.headers {
            let names: Vec<&str> = rule.headers.iter().map(|(n, _)| n.as_str()).collect();
            let _ = writeln!(out, "{:?} = {names:?}", rule.glob);
        }
        let _ = writeln!(out, "\n[context]");
        let keys: Vec<&String> = self.site.templates.config.keys().collect();
        let _ = writeln!(out, "# config keys: {keys:?}");
        let env: Vec<&String> = self.site.templates.env.keys().collect();
        let _ = writeln!(out, "# env variables set and allowed: {env:?}");
        out
    }
}
