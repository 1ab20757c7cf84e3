//! The site: what a URL means. [`Site::load`] reads a site directory once — the page table from
//! `templates/`, every template compiled (so a syntax error stops startup with the file and
//! line), the static directory — and hands out cheap clones to request handlers.

pub mod file_cache;
pub mod mime;
pub mod paths;
pub mod routes;
pub mod static_files;
pub mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use routes::{Resolution, RouteTable};
pub use static_files::{StaticFiles, StaticOptions};
pub use templates::{RequestInfo, Templates};

/// Directory of templates inside the site root (Flask's default).
pub const TEMPLATES_DIR: &str = "templates";
/// Directory of static assets inside the site root (Flask's default).
pub const STATIC_DIR: &str = "static";
/// URL prefix static assets are served under (Flask's `static_url_path`).
pub const STATIC_URL_PREFIX: &str = "/static";

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
    #[error("{}", templates::describe_error(.0, .1))]
    Template(PathBuf, minijinja::Error),
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
#[derive(Debug, Clone, Default)]
pub struct SiteOptions {
    /// Extra static directories.
    pub mounts: Vec<Mount>,
    /// Static-file behaviour (listing, cache).
    pub statics: StaticOptions,
    /// SPA fallback: this file (relative to the root) answers navigations that match nothing.
    pub spa: Option<PathBuf>,
}

/// A loaded site, cheap to clone (one `Arc`).
#[derive(Clone, Debug)]
pub struct Site {
    inner: Arc<SiteInner>,
}

#[derive(Debug)]
struct SiteInner {
    root: PathBuf,
    routes: Arc<RouteTable>,
    templates: Templates,
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
        let templates_dir = root.join(TEMPLATES_DIR);
        let names = templates::list_templates(&templates_dir)?;
        let routes = Arc::new(RouteTable::from_templates(
            names.iter().filter(|n| n.ends_with(".html")),
        ));
        let statics = StaticFiles::new(root.join(STATIC_DIR), STATIC_URL_PREFIX, options.statics);
        let mut mounts = vec![statics.clone()];
        for mount in &options.mounts {
            let overlaps = |a: &str, b: &str| {
                a == b || a.starts_with(&format!("{b}/")) || b.starts_with(&format!("{a}/"))
            };
            let others = std::iter::once(STATIC_URL_PREFIX).chain(
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
        let templates = Templates::load(&templates_dir, &names, routes.clone(), statics)?;
        Ok(Self {
            inner: Arc::new(SiteInner {
                root,
                routes,
                templates,
                mounts,
                spa,
            }),
        })
    }

    /// The canonical site root.
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// The page table.
    pub fn routes(&self) -> &RouteTable {
        &self.inner.routes
    }

    /// The compiled templates.
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
        self.inner.routes.is_empty() && self.inner.mounts.iter().all(|m| !m.dir().is_dir())
    }
}
