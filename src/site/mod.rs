//! The site: what a URL means. [`Site::load`] reads a site directory once — the page table from
//! `templates/`, every template compiled (so a syntax error stops startup with the file and
//! line), the static directory — and hands out cheap clones to request handlers.

pub mod data;
pub mod file_cache;
pub mod headers;
pub mod mime;
pub mod paths;
pub mod routes;
pub mod static_files;
pub mod template_error;
pub mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use headers::HeaderRule;
pub use routes::{Resolution, RouteTable};
pub use static_files::{StaticFiles, StaticOptions};
pub use template_error::TemplateError;
pub use templates::{RequestInfo, Snapshot, TemplateOptions, Templates};

/// Directory of templates inside the site root (Flask's default).
pub const TEMPLATES_DIR: &str = "templates";
/// Directory of static assets inside the site root (Flask's default).
pub const STATIC_DIR: &str = "static";
/// URL prefix static assets are served under (Flask's `static_url_path`).
pub const STATIC_URL_PREFIX: &str = "/static";
/// Directory of data files inside the site root (`data/*.json|toml|yaml` → `data.<stem>`).
pub const DATA_DIR: &str = "data";

/// Why a site could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// The root directory is missing or unreadable.
    #[error("cannot open site root {}: {cause}", path.display())]
    Root {
        /// The root given.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Reading the templates directory failed.
    #[error("cannot read {}: {cause}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// A mount or SPA option is wrong.
    #[error("{0}")]
    Mount(String),
    /// A template does not parse.
    #[error("{0}")]
    Template(Box<TemplateError>),
    /// A data file does not parse.
    #[error(transparent)]
    Data(#[from] data::DataError),
    /// Development mode could not watch the files.
    #[error("{0}")]
    Watch(String),
    /// An explicit route names a template that does not exist.
    #[error(
        "route {url} renders {template}, which is not in templates/; fix [routes] in carafe.toml"
    )]
    MissingRouteTemplate {
        /// The URL path.
        url: String,
        /// The template named.
        template: String,
    },
}

/// An extra static directory served at a URL prefix (`--mount /js=js`), like Flask's
/// `send_from_directory('js', path)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// URL prefix, starting with `/`, without a trailing `/` (e.g. `/js`).
    pub prefix: String,
    /// Directory, relative to the site root or absolute.
    pub dir: PathBuf,
}

impl std::str::FromStr for Mount {
    type Err = String;

    /// Parses `/prefix=dir`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (prefix, dir) = s
            .split_once('=')
            .ok_or_else(|| "expected PREFIX=DIR, e.g. /js=js".to_string())?;
        let prefix = prefix.trim().trim_end_matches('/');
        let valid = prefix.starts_with('/')
            && prefix.len() > 1
            && prefix[1..].split('/').all(|seg| {
                !seg.is_empty()
                    && !seg.starts_with('.')
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
            });
        if !valid {
            return Err(
                "the prefix must be a path like /js (letters, digits, -_.~; not /)".to_string(),
            );
        }
        if dir.trim().is_empty() {
            return Err("no directory after =".to_string());
        }
        Ok(Mount {
            prefix: prefix.to_string(),
            dir: PathBuf::from(dir.trim()),
        })
    }
}

/// How a site is served, beyond its files.
#[derive(Debug, Clone)]
pub struct SiteOptions {
    /// Templates directory, relative to the root (default `templates`).
    pub templates_dir: PathBuf,
    /// Static directory, relative to the root (default `static`).
    pub static_dir: PathBuf,
    /// URL prefix of the static directory (default `/static`).
    pub static_url: String,
    /// Data files directory, relative to the root (default `data`).
    pub data_dir: PathBuf,
    /// Extra static directories.
    pub mounts: Vec<Mount>,
    /// Static-file behaviour (listing, cache).
    pub statics: StaticOptions,
    /// SPA fallback: this file (relative to the root) answers navigations that match nothing.
    pub spa: Option<PathBuf>,
    /// The template context and reloading (the data directory is filled in from `data_dir`).
    pub templates: TemplateOptions,
    /// Extra response headers by path glob (`[headers]`).
    pub headers: Vec<HeaderRule>,
    /// Development mode (`--dev`): reload templates, no static cache, live reload.
    pub dev: bool,
}

impl Default for SiteOptions {
    fn default() -> Self {
        Self {
            templates_dir: TEMPLATES_DIR.into(),
            static_dir: STATIC_DIR.into(),
            static_url: STATIC_URL_PREFIX.into(),
            data_dir: DATA_DIR.into(),
            mounts: Vec::new(),
            statics: StaticOptions::default(),
            spa: None,
            templates: TemplateOptions::default(),
            headers: Vec::new(),
            dev: false,
        }
    }
}

/// A loaded site, cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct Site {
    inner: Arc<SiteInner>,
}

#[derive(Debug)]
struct SiteInner {
    root: PathBuf,
    templates: Templates,
    headers: Vec<HeaderRule>,
    dev: bool,
    /// Development mode's watch over templates, static files and data (live reload).
    watch: Option<Arc<crate::dev::watch::ChangeWatch>>,
    /// `static/` at `/static`, then the mounts.
    mounts: Vec<StaticFiles>,
    spa: Option<PathBuf>,
}

impl Site {
    /// Loads the site in `root` with default options: `templates/` (all compiled now) and
    /// `static/`.
    pub fn load(root: impl AsRef<Path>) -> Result<Self, SiteError> {
        Self::load_with(root, &SiteOptions::default())
    }

    /// Loads the site in `root` with `options`.
    pub fn load_with(root: impl AsRef<Path>, options: &SiteOptions) -> Result<Self, SiteError> {
        let root = root.as_ref();
        let root = root.canonicalize().map_err(|cause| SiteError::Root {
            path: root.to_path_buf(),
            cause,
        })?;
        if !root.is_dir() {
            return Err(SiteError::Root {
                path: root.clone(),
                cause: std::io::Error::other("not a directory; --root takes the site directory"),
            });
        }
        let templates_dir = root.join(&options.templates_dir);
        let statics = StaticFiles::new(
            root.join(&options.static_dir),
            options.static_url.clone(),
            options.statics,
        );
        let mut mounts = vec![statics.clone()];
        for mount in &options.mounts {
            let overlaps = |a: &str, b: &str| {
                a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
            };
            let others = std::iter::once(options.static_url.as_str()).chain(
                options
                    .mounts
                    .iter()
                    .filter(|m| !std::ptr::eq(*m, mount))
                    .map(|m| m.prefix.as_str()),
            );
            if let Some(other) = others.into_iter().find(|p| overlaps(p, &mount.prefix)) {
                return Err(SiteError::Mount(format!(
                    "--mount {}: the prefix overlaps {other} and would hide files there; pick a prefix outside it",
                    mount.prefix
                )));
            }
            let dir = root.join(&mount.dir);
            if !dir.is_dir() {
                return Err(SiteError::Mount(format!(
                    "mount {}={}: {} is not a directory",
                    mount.prefix,
                    mount.dir.display(),
                    dir.display()
                )));
            }
            mounts.push(StaticFiles::new(dir, mount.prefix.clone(), options.statics));
        }
        let spa = options.spa.as_ref().map(|f| root.join(f));
        if let Some(spa) = &spa
            && !spa.is_file()
        {
            return Err(SiteError::Mount(format!(
                "--spa {}: no such file (give a path relative to the site root)",
                spa.display()
            )));
        }
        let mut template_options = options.templates.clone();
        template_options.data_dir = Some(root.join(&options.data_dir));
        let templates = Templates::load(&templates_dir, statics, template_options)?;
        for (url, template) in &options.templates.routes {
            if !templates.compiled().exists(template) {
                return Err(SiteError::MissingRouteTemplate {
                    url: url.clone(),
                    template: template.clone(),
                });
            }
        }
        let watch = if options.dev {
            let dirs = [
                templates_dir.clone(),
                root.join(&options.static_dir),
                root.join(&options.data_dir),
            ];
            let watch = crate::dev::watch::ChangeWatch::start(&dirs).map_err(|err| {
                SiteError::Watch(format!(
                    "cannot watch the site for changes ({err}); run without --dev"
                ))
            })?;
            Some(Arc::new(watch))
        } else {
            None
        };
        Ok(Self {
            inner: Arc::new(SiteInner {
                root,
                templates,
                headers: options.headers.clone(),
                dev: options.dev,
                watch,
                mounts,
                spa,
            }),
        })
    }

    /// The canonical site root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The page table made at load (in development mode each request re-reads it, see
    /// [`Templates::snapshot`]).
    pub fn routes(&self) -> &RouteTable {
        self.inner.templates.compiled().routes()
    }

    /// Extra response headers by path glob.
    pub fn headers(&self) -> &[HeaderRule] {
        &self.inner.headers
    }

    /// Whether the site runs in development mode.
    pub fn is_dev(&self) -> bool {
        self.inner.dev
    }

    /// The change watch of development mode (drives live reload).
    pub fn change_watch(&self) -> Option<&Arc<crate::dev::watch::ChangeWatch>> {
        self.inner.watch.as_ref()
    }

    /// The templates.
    pub fn templates(&self) -> &Templates {
        &self.inner.templates
    }

    /// The static file directory (`static/` at `/static`).
    pub fn statics(&self) -> &StaticFiles {
        &self.inner.mounts[0]
    }

    /// Every static directory: `static/` first, then the mounts.
    pub fn mounts(&self) -> &[StaticFiles] {
        &self.inner.mounts
    }

    /// The SPA fallback file, if any.
    pub fn spa(&self) -> Option<&Path> {
        self.inner.spa.as_deref()
    }

    /// Whether the root has neither pages nor a static directory (probably the wrong `--root`).
    pub fn is_empty(&self) -> bool {
        self.routes().is_empty() && self.inner.mounts.iter().all(|m| !m.dir().is_dir())
    }
}
