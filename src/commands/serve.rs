//! `carafe serve`: load the site, set up TLS, bind, print where it is, serve until a signal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use time::OffsetDateTime;

use crate::certs::store::{DevCertStatus, ensure_dev_cert};
use crate::certs::{CertInfo, Host, dev_hosts};
use crate::cli::ServeArgs;
use crate::config::{PortSource, ServeConfig, TlsMode};
use crate::site::Site;
use crate::tls::{load_certified_key, server_config};

/// Directory under the site root that holds the development certificate.
pub const CERTS_DIR: &str = "certs";

/// Runs `carafe serve`.
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    let platform_port = std::env::var("PORT").ok();
    let config = ServeConfig::from_args(args, platform_port.as_deref())?;
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let site = Site::load_with(&config.root, &config.site)?;
    if site.is_empty() {
        tracing::warn!(
            root = %site.root().display(),
            "no templates/ or static/ here; every request will be 404 (use --root DIR)"
        );
    }
    let tls = prepare_tls(&config, site.root())?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = crate::server::bind(config.addr).await?;
        let local = listener
            .local_addr()
            .context("cannot read the bound address")?;
        announce(&config, &site, local, tls.as_ref().map(|t| &t.1));
        let app = crate::http::router(site);
        crate::server::serve(
            listener,
            tls.map(|t| t.0),
            app,
            crate::server::shutdown_signal(),
            config.shutdown_timeout,
        )
        .await
        .context("server failed")?;
        tracing::info!("stopped");
        Ok(())
    })
}

/// What is printed about the certificate at start.
struct CertSummary {
    path: PathBuf,
    status: &'static str,
    info: CertInfo,
}

fn prepare_tls(
    config: &ServeConfig,
    root: &Path,
) -> anyhow::Result<Option<(Arc<rustls::ServerConfig>, CertSummary)>> {
    let (cert_path, key_path, status) = match &config.tls {
        TlsMode::Off => return Ok(None),
        TlsMode::Gen { extra_hosts } => {
            let extra = crate::commands::cert::parse_hosts(extra_hosts)?;
            let hosts = dev_hosts(&extra);
            let dev = ensure_dev_cert(&root.join(CERTS_DIR), &hosts)?;
            let status = match &dev.status {
                DevCertStatus::Created => "created",
                DevCertStatus::Reused => "reused",
                DevCertStatus::Renewed(reason) => {
                    tracing::info!(reason = %reason, "renewed the development certificate");
                    "renewed"
                }
            };
            (dev.cert_path, dev.key_path, status)
        }
        TlsMode::Files { cert, key } => (cert.clone(), key.clone(), "supplied"),
    };
    let certified = load_certified_key(&cert_path, &key_path)?;
    let leaf = certified
        .cert
        .first()
        .context("the certificate chain is empty")?;
    let info = CertInfo::from_der(leaf)
        .with_context(|| format!("cannot parse the certificate in {}", cert_path.display()))?;
    warn_about(&info, &cert_path);
    Ok(Some((
        server_config(certified),
        CertSummary {
            path: cert_path,
            status,
            info,
        },
    )))
}

/// Warnings for a certificate that will work badly (DESIGN §3).
fn warn_about(info: &CertInfo, path: &Path) {
    let file = path.display();
    if info.not_after < OffsetDateTime::now_utc() {
        tracing::warn!(
            "{file} expired on {}; clients will reject it",
            info.not_after.date()
        );
    }
    if info.hosts.is_empty() {
        tracing::warn!(
            "{file} has no subjectAltName; browsers ignore the CN and will reject it (make one with `carafe cert new --host NAME`)"
        );
    }
    if info.is_ca {
        tracing::warn!(
            "{file} is a CA certificate (CA:TRUE, as `openssl req -x509` makes by default) used as the server certificate; curl and browsers accept it once trusted, but rustls-based and other strict clients reject it; `carafe cert new` makes a proper server certificate"
        );
    }
    if !info.server_auth {
        tracing::warn!("{file} is not valid for TLS servers (its EKU lacks serverAuth)");
    }
}

/// Prints the startup lines on stdout. `listening on URL` is stable: scripts and tests read it.
fn announce(
    config: &ServeConfig,
    site: &Site,
    local: std::net::SocketAddr,
    cert: Option<&CertSummary>,
) {
    let scheme = if cert.is_some() { "https" } else { "http" };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "carafe {}: serving {} ({} page{})",
        env!("CARGO_PKG_VERSION"),
        site.root().display(),
        site.routes().len(),
        if site.routes().len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(out, "carafe: listening on {scheme}://{local}");
    let port = local.port();
    let browse_host = if local.ip().is_unspecified() || local.ip().is_loopback() {
        "localhost".to_string()
    } else {
        Host::Ip(local.ip()).to_string()
    };
    let _ = writeln!(out, "carafe: open {scheme}://{browse_host}:{port}/");
    let source = match config.port_source {
        PortSource::Flag => "from --port or CARAFE_PORT",
        PortSource::PlatformEnv => "from $PORT",
        PortSource::Default => "default",
    };
    let _ = writeln!(
        out,
        "carafe: port {port} ({source}; precedence: --port > $PORT > default)"
    );
    if let Some(cert) = cert {
        let names: Vec<String> = cert.info.hosts.iter().map(Host::to_string).collect();
        let _ = writeln!(
            out,
            "carafe: certificate {} ({}) for {}, expires {}",
            cert.path.display(),
            cert.status,
            names.join(", "),
            cert.info.not_after.date()
        );
        let _ = writeln!(out, "carafe: certificate sha256 {}", cert.info.fingerprint);
    }
    let _ = out.flush();
}
