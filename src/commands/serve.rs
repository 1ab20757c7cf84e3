//! `carafe serve`: load the site, set up TLS, bind, print where it is, serve until a signal.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use time::OffsetDateTime;

use crate::certs::ca::{self, ca_hosts};
use crate::certs::ca_leaf::{CA_LEAF_CERT_FILE, CA_LEAF_KEY_FILE, ensure_ca_leaf};
use crate::certs::store::{DEV_CERT_FILE, DEV_KEY_FILE, DevCert, DevCertStatus, ensure_dev_cert};
use crate::certs::{CertInfo, Host, dev_hosts};
use crate::cli::ServeArgs;
use crate::config::{PortSource, ServeConfig, TlsMode};
use crate::site::Site;
use crate::tls::resolver::{Certificates, load_leaf};
use crate::tls::{load_certified_key, load_certified_key_with, server_config_with};

/// Directory under the site root that holds the development certificate.
pub const CERTS_DIR: &str = "certs";

/// Runs `carafe serve` (or, with `--check`, checks everything and prints the settings).
pub fn run(args: &ServeArgs) -> anyhow::Result<()> {
    if args.check {
        return check(args);
    }
    // Before any thread exists: this clears LISTEN_FDS/LISTEN_PID from the environment.
    let activated = crate::server::systemd::activated_listener()
        .context("cannot use the socket passed by systemd")?;
    let config = ServeConfig::from_args(args, std::env::var("PORT").ok().as_deref())?;
    let from_systemd = activated.is_some();
    // Listening before the site loads: early clients wait in the backlog (see `bind_std`).
    let listener = match activated {
        Some(std) => std,
        None => crate::server::bind::bind_std(config.addr)?,
    };
    let prepared = prepare_config(config)?;
    let workers = crate::server::workers::decide(prepared.config.workers);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.count)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let shutdown = crate::server::shutdown_signal();
        let listener = tokio::net::TcpListener::from_std(listener)
            .context("cannot use the listening socket")?;
        let app = crate::http::site_router(prepared.site.clone());
        let app = crate::http::with_layers(app, &prepared.site);
        let start = Start {
            workers: Some(workers),
            from_systemd,
        };
        serve_listener(prepared, listener, app, shutdown, start).await
    })
}

/// A site loaded and its TLS set up from the configuration, ready to serve.
#[derive(Debug)]
pub struct Prepared {
    /// The effective configuration.
    pub config: ServeConfig,
    /// The loaded site.
    pub site: Site,
    tls: Option<PreparedTls>,
}

/// The TLS side of [`Prepared`].
#[derive(Debug)]
struct PreparedTls {
    config: Arc<rustls::ServerConfig>,
    /// The served certificates, reloaded on SIGHUP and on change.
    certs: Arc<Certificates>,
    /// `created`, `reused`, `renewed` (gen) or `supplied`.
    status: &'static str,
}

/// Builds the configuration (flags, `CARAFE_*`, `$PORT`, carafe.toml), loads the site and
/// prepares TLS (making the development certificate when needed). Prints warnings.
pub fn prepare(args: &ServeArgs) -> anyhow::Result<Prepared> {
    let platform_port = std::env::var("PORT").ok();
    prepare_config(ServeConfig::from_args(args, platform_port.as_deref())?)
}

/// Like [`prepare`], from a configuration already built.
pub fn prepare_config(config: ServeConfig) -> anyhow::Result<Prepared> {
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
    Ok(Prepared { config, site, tls })
}

/// Binds, prints where it listens, and serves `app` until SIGTERM/SIGINT, then drains.
pub async fn serve_app(prepared: Prepared, app: axum::Router) -> anyhow::Result<()> {
    let shutdown = crate::server::shutdown_signal();
    let listener = crate::server::bind(prepared.config.addr).await?;
    serve_listener(prepared, listener, app, shutdown, Start::default()).await
}

/// Like [`serve_app`], on a listener already bound (its address wins over the configured one).
pub async fn serve_app_on(
    prepared: Prepared,
    listener: tokio::net::TcpListener,
    app: axum::Router,
) -> anyhow::Result<()> {
    let shutdown = crate::server::shutdown_signal();
    serve_listener(prepared, listener, app, shutdown, Start::default()).await
}

/// What the binary knows at start that a library caller's runtime does not.
#[derive(Debug, Default)]
struct Start {
    /// The runtime's worker threads, when carafe built the runtime.
    workers: Option<crate::server::workers::Workers>,
    /// The listener came from systemd (`LISTEN_FDS`).
    from_systemd: bool,
}

/// Wraps `app` in the front door ([`crate::http::layers`]), announces, tells systemd it is
/// ready, and serves until `shutdown`, then drains.
async fn serve_listener(
    prepared: Prepared,
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()>,
    start: Start,
) -> anyhow::Result<()> {
    let Prepared { config, site, tls } = prepared;
    let local = listener
        .local_addr()
        .context("cannot read the bound address")?;
    // The redirect listener is bound before anything is announced, so a port in use fails
    // the start like the main port does.
    let redirect = match (config.redirect_http, &tls) {
        (Some(port), Some(_)) => {
            let addr = std::net::SocketAddr::new(local.ip(), port);
            Some(crate::server::bind(addr).await?)
        }
        _ => None,
    };
    let redirect_addr = redirect.as_ref().and_then(|l| l.local_addr().ok());
    announce(&config, &site, local, tls.as_ref(), redirect_addr, &start);
    let _reload = tls
        .as_ref()
        .map(|t| crate::tls::reload::spawn(t.certs.clone()));
    crate::server::systemd::notify_ready();

    // One shutdown signal stops both listeners: the main one passes it on to the redirect one.
    let stop = tokio_util::sync::CancellationToken::new();
    let trigger = stop.clone();
    let shutdown = async move {
        shutdown.await;
        trigger.cancel();
    };
    let redirects = redirect.map(|listener| {
        let app = crate::http::layers(
            crate::http::redirect::router(local.port()),
            crate::http::HttpOptions::default(),
        );
        let (stop, options) = (stop.clone(), config.server);
        tokio::spawn(async move {
            crate::server::serve(listener, None, app, stop.cancelled_owned(), options).await
        })
    });
    let app = crate::http::layers(app, config.http.clone());
    crate::server::serve(
        listener,
        tls.map(|t| t.config),
        app,
        shutdown,
        config.server,
    )
    .await
    .context("server failed")?;
    if let Some(task) = redirects {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// `carafe serve --check`: everything `serve` would load, loaded, without binding or writing
/// anything; the effective settings on stdout.
fn check(args: &ServeArgs) -> anyhow::Result<()> {
    let platform_port = std::env::var("PORT").ok();
    let config = ServeConfig::from_args(args, platform_port.as_deref())?;
    let site = Site::load_with(&config.root, &config.site)?;
    let mut out = std::io::stdout().lock();
    let _ = write!(out, "{}", config.effective());
    for warning in &config.warnings {
        let _ = writeln!(out, "# warning: {warning}");
    }
    let _ = writeln!(
        out,
        "# templates: {} pages compiled in {}",
        site.routes().len(),
        site.templates().dir().display()
    );
    let certs = match &config.tls {
        TlsMode::Off => "none (plain HTTP)".to_string(),
        TlsMode::Files(pairs) => {
            let mut loaded = Vec::new();
            for pair in pairs {
                load_certified_key_with(&pair.cert, &pair.key, config.key_passphrase.as_ref())?;
                loaded.push(format!(
                    "{} and {} load and match",
                    pair.cert.display(),
                    pair.key.display()
                ));
            }
            loaded.join("; ")
        }
        TlsMode::Gen { .. } => {
            let dir = site.root().join(CERTS_DIR);
            let (cert, key) = (dir.join(DEV_CERT_FILE), dir.join(DEV_KEY_FILE));
            if cert.is_file() && key.is_file() {
                load_certified_key(&cert, &key)?;
                format!("{} loads (reused or renewed at start)", cert.display())
            } else {
                format!("{} will be created at start", cert.display())
            }
        }
        TlsMode::Ca { extra_hosts } => {
            let extra = crate::commands::cert::parse_hosts(extra_hosts)?;
            ca_hosts(&extra)?;
            let ca = ca::open(&ca::default_dir()?)?;
            let dir = site.root().join(CERTS_DIR);
            let (cert, key) = (dir.join(CA_LEAF_CERT_FILE), dir.join(CA_LEAF_KEY_FILE));
            let from = format!("the local CA in {}", ca.paths.dir.display());
            if cert.is_file() && key.is_file() {
                load_certified_key(&cert, &key)?;
                format!(
                    "{} loads (reused or reissued by {from} at start)",
                    cert.display()
                )
            } else {
                format!("{} will be issued by {from} at start", cert.display())
            }
        }
    };
    let _ = writeln!(out, "# certificates: {certs}");
    let _ = writeln!(out, "carafe: check ok");
    Ok(())
}

fn prepare_tls(config: &ServeConfig, root: &Path) -> anyhow::Result<Option<PreparedTls>> {
    let (pairs, status) = match &config.tls {
        TlsMode::Off => return Ok(None),
        TlsMode::Gen { extra_hosts } => {
            let extra = crate::commands::cert::parse_hosts(extra_hosts)?;
            let hosts = dev_hosts(&extra);
            let dev = ensure_dev_cert(&root.join(CERTS_DIR), &hosts)?;
            let status = dev_status(&dev);
            (vec![(dev.cert_path, dev.key_path)], status)
        }
        TlsMode::Ca { extra_hosts } => {
            let extra = crate::commands::cert::parse_hosts(extra_hosts)?;
            let hosts = ca_hosts(&extra)?;
            let ca = ca::open(&ca::default_dir()?)?;
            if ca.intermediate.not_after - OffsetDateTime::now_utc() < ca::RENEW_INTERMEDIATE_BEFORE
            {
                tracing::warn!(
                    "the local CA's intermediate expires on {}; run `carafe cert ca` to issue a new one",
                    ca.intermediate.not_after.date()
                );
            }
            let dev = ensure_ca_leaf(&root.join(CERTS_DIR), &hosts, &ca)?;
            tracing::info!(ca = %ca.paths.dir.display(), root = %ca.root_name(), "certificate from the local CA");
            let status = dev_status(&dev);
            (vec![(dev.cert_path, dev.key_path)], status)
        }
        TlsMode::Files(pairs) => (
            pairs
                .iter()
                .map(|p| (p.cert.clone(), p.key.clone()))
                .collect(),
            "supplied",
        ),
    };
    // The passphrase source is read again on each reload (a rotated key may have a new one).
    let passphrase = config.key_passphrase.clone();
    let loader = move |cert: &Path, key: &Path| load_leaf(cert, key, passphrase.as_ref());
    let certs = Certificates::load(pairs, Box::new(loader))?;
    for cert in certs.loaded() {
        warn_about(&cert.info, &cert.cert_path);
    }
    Ok(Some(PreparedTls {
        config: server_config_with(certs.clone()),
        certs,
        status,
    }))
}

/// How the development certificate came to be, for the startup line.
fn dev_status(dev: &DevCert) -> &'static str {
    match &dev.status {
        DevCertStatus::Created => "created",
        DevCertStatus::Reused => "reused",
        DevCertStatus::Renewed(reason) => {
            tracing::info!(reason = %reason, "renewed the development certificate");
            "renewed"
        }
    }
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

/// Prints the startup lines on stdout. `listening on URL` is stable and comes last: scripts and
/// tests wait for it.
fn announce(
    config: &ServeConfig,
    site: &Site,
    local: std::net::SocketAddr,
    tls: Option<&PreparedTls>,
    redirect: Option<std::net::SocketAddr>,
    start: &Start,
) {
    let cert = tls.is_some().then_some(());
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
    let port = local.port();
    let browse_host = if local.ip().is_unspecified() || local.ip().is_loopback() {
        "localhost".to_string()
    } else {
        Host::Ip(local.ip()).to_string()
    };
    let _ = writeln!(out, "carafe: open {scheme}://{browse_host}:{port}/");
    let source = match config.port_source {
        _ if start.from_systemd => {
            "socket from systemd (LISTEN_FDS); --bind and --port are not used"
        }
        PortSource::Flag => "from --port or CARAFE_PORT",
        PortSource::PlatformEnv => "from $PORT",
        PortSource::File => "from carafe.toml",
        PortSource::Default => "default",
    };
    let _ = writeln!(
        out,
        "carafe: port {port} ({source}; precedence: --port > $PORT > carafe.toml > default)"
    );
    if let Some(file) = &config.config_file {
        let _ = writeln!(out, "carafe: config {}", file.display());
    }
    if config.dev {
        let _ = writeln!(
            out,
            "carafe: development mode: templates and data re-read per request, live reload on"
        );
    }
    if let Some(workers) = &start.workers {
        let _ = writeln!(out, "carafe: {workers}");
    }
    if config.router_mode {
        let _ = writeln!(
            out,
            "carafe: behind a router: {}, trusting X-Forwarded-* from {} proxy hop(s), keep-alive {}s",
            if cert.is_some() {
                "HTTPS"
            } else {
                "plain HTTP"
            },
            config.http.trust.0,
            config.server.keep_alive.as_secs()
        );
    } else if config.http.trust.any() {
        let _ = writeln!(
            out,
            "carafe: trusting X-Forwarded-* from {} proxy hop(s)",
            config.http.trust.0
        );
    }
    if let Some(tls) = tls {
        let loaded = tls.certs.loaded();
        for (i, cert) in loaded.iter().enumerate() {
            let names: Vec<String> = cert.info.hosts.iter().map(Host::to_string).collect();
            let role = match (i, loaded.len()) {
                (_, 1) => String::new(),
                (0, _) => ", the default".to_string(),
                _ => ", by SNI".to_string(),
            };
            let _ = writeln!(
                out,
                "carafe: certificate {} ({}{role}) for {}, expires {}",
                cert.cert_path.display(),
                tls.status,
                names.join(", "),
                cert.info.not_after.date()
            );
            let _ = writeln!(out, "carafe: certificate sha256 {}", cert.info.fingerprint);
        }
        let _ = writeln!(
            out,
            "carafe: certificates reload on SIGHUP and when their files change"
        );
    }
    if let Some(addr) = redirect {
        let _ = writeln!(out, "carafe: redirecting http://{addr} to https (308)");
    }
    // Last, so whoever waits for it has every line above.
    let _ = writeln!(out, "carafe: listening on {scheme}://{local}");
    let _ = out.flush();
}
