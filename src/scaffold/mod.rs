//! `carafe new DIR`: a small working site — layout, home page, a second page, 404 and 500
//! pages, CSS, JavaScript, a data file, carafe.toml and a .gitignore that keeps `certs/` out
//! of git — that `carafe serve --root DIR` serves at once. The files are compiled in from
//! `src/scaffold/files/`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Every file of a new site: path relative to the site, contents.
pub const FILES: &[(&str, &str)] = &[
    (
        "templates/_base.html",
        include_str!("files/templates/_base.html"),
    ),
    (
        "templates/index.html",
        include_str!("files/templates/index.html"),
    ),
    (
        "templates/about.html",
        include_str!("files/templates/about.html"),
    ),
    (
        "templates/404.html",
        include_str!("files/templates/404.html"),
    ),
    (
        "templates/500.html",
        include_str!("files/templates/500.html"),
    ),
    (
        "static/css/site.css",
        include_str!("files/static/css/site.css"),
    ),
    ("static/js/site.js", include_str!("files/static/js/site.js")),
    ("data/site.toml", include_str!("files/data/site.toml")),
    ("carafe.toml", include_str!("files/carafe.toml")),
    (".gitignore", include_str!("files/gitignore")),
];

/// Why a site could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The directory exists and has files in it.
    #[error("{} is not empty; pick a new directory (carafe new never overwrites files)", .0.display())]
    NotEmpty(PathBuf),
    /// Writing failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Writes [`FILES`] into `dir` (created if missing; it must be empty). Returns the paths
/// written.
pub fn create_site(dir: &Path) -> Result<Vec<PathBuf>, ScaffoldError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScaffoldError::Io { path, source }
    };
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(ScaffoldError::NotEmpty(dir.to_path_buf()));
        }
    }
    let mut written = Vec::new();
    for (name, contents) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // `create_new`: never overwrite, even if something appeared meanwhile.
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io(&path))?;
        file.write_all(contents.as_bytes()).map_err(io(&path))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_site_that_loads_and_refuses_a_non_empty_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("site");
        let written = create_site(&dir).unwrap();
        assert_eq!(written.len(), FILES.len());
        let site = crate::Site::load(&dir).unwrap();
        assert_eq!(site.routes().len(), 2);
        let gitignore = std::fs::read_to_string(dir.join(".gitignore")).unwrap();
        assert!(gitignore.lines().any(|l| l == "certs/"));
        let err = create_site(&dir).unwrap_err().to_string();
        assert!(
            err.ends_with("is not empty; pick a new directory (carafe new never overwrites files)")
        );
    }
}
