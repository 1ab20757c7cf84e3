//! The site: what a URL means. [`Site::load`] reads a site directory once — the page table from
//! `templates/`, every template compiled (so a syntax error stops startup with the file and
//! line), the static directory — and hands out cheap clones to request handlers.

pub mod paths;
pub mod routes;
pub mod static_files;
pub mod templates;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use routes::{Resolution, RouteTable};
pub use static_files::StaticFiles;
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
    #[error("cannot open site root {}: {source}", path.display())]
    Root {
        /// The root given.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading the templates directory failed.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The directory or file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A template does not parse.
    #[error("{}", templates::describe_error(.0, .1))]
    Template(PathBuf, minijinja::Error),
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
    statics: StaticFiles,
}

impl Site {
    /// Loads the site in `root`: `templates/` (all compiled now) and `static/`.
    pub fn load(root: impl AsRef<Path>) -> Result<Self, SiteError> {
        let root = root.as_ref();
        let root = root.canonicalize().map_err(|source| SiteError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        let templates_dir = root.join(TEMPLATES_DIR);
        let names = templates::list_templates(&templates_dir)?;
        let routes = Arc::new(RouteTable::from_templates(
            names.iter().filter(|n| n.ends_with(".html")),
        ));
        let statics = StaticFiles::new(root.join(STATIC_DIR), STATIC_URL_PREFIX);
        let templates = Templates::load(&templates_dir, &names, routes.clone(), statics.clone())?;
        Ok(Self {
            inner: Arc::new(SiteInner {
                root,
                routes,
                templates,
                statics,
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

    /// The static file directory.
    pub fn statics(&self) -> &StaticFiles {
        &self.inner.statics
    }

    /// Whether the root has neither pages nor a static directory (probably the wrong `--root`).
    pub fn is_empty(&self) -> bool {
        self.inner.routes.is_empty() && !self.inner.statics.dir().is_dir()
    }
}
