//! Static files under `static/`: safe resolution of a URL path to a file, and the
//! content-hashed URLs of `static_url()` for cache busting.
//!
//! The HTTP side (conditional requests, ranges, content types) is in
//! [`crate::http::static_handler`]; this file only decides which file, if any, a path means.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::paths::{decode_relative, is_within};

/// How many hex digits of the SHA-256 of a file go into its `?v=` version.
const VERSION_HEX_DIGITS: usize = 12;

/// The static directory of a site, cheap to clone.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    /// `dir` with symlinks resolved, to check that resolved files stay inside it.
    real_dir: Option<PathBuf>,
    url_prefix: &'static str,
    /// Content versions by relative path, computed on first use.
    versions: Mutex<HashMap<String, Option<String>>>,
}

/// What a path under the static prefix names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaticResolution {
    /// A regular file inside the static directory.
    File(PathBuf),
    /// Nothing that may be served.
    NotFound,
}

impl StaticFiles {
    /// The static directory `dir`, served under `url_prefix`.
    pub fn new(dir: PathBuf, url_prefix: &'static str) -> Self {
        let real_dir = dir.canonicalize().ok();
        Self {
            inner: Arc::new(Inner {
                dir,
                real_dir,
                url_prefix,
                versions: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Resolves the raw (still percent-encoded) path below the prefix to a servable file.
    pub fn resolve(&self, raw: &str) -> StaticResolution {
        let Some(real_dir) = &self.inner.real_dir else {
            return StaticResolution::NotFound;
        };
        let Ok(rel) = decode_relative(raw) else {
            return StaticResolution::NotFound;
        };
        let path = real_dir.join(rel);
        // SECURITY: a symlink may point anywhere; only files that really live inside the static
        // directory are served.
        match std::fs::metadata(&path) {
            Ok(meta) if meta.is_file() && is_within(real_dir, &path) => {
                StaticResolution::File(path)
            }
            _ => StaticResolution::NotFound,
        }
    }

    /// `static_url('css/site.css')` → `/static/css/site.css?v=<hash>`: the version changes when
    /// the file's content does, so browsers never keep a stale copy. A missing file gets its
    /// plain URL (and a warning) rather than breaking the page.
    pub fn versioned_url(&self, path: &str) -> String {
        let rel = path.trim_start_matches('/');
        let base = format!("{}/{rel}", self.inner.url_prefix);
        let version = {
            let mut versions = self
                .inner
                .versions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            versions
                .entry(rel.to_string())
                .or_insert_with(|| self.content_version(rel))
                .clone()
        };
        match version {
            Some(v) => format!("{base}?v={v}"),
            None => base,
        }
    }

    fn content_version(&self, rel: &str) -> Option<String> {
        let encoded: String = rel.replace('%', "%25");
        let StaticResolution::File(path) = self.resolve(&encoded) else {
            tracing::warn!(
                path = rel,
                "static_url: no such file in the static directory"
            );
            return None;
        };
        let bytes = std::fs::read(&path).ok()?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
        let mut hex = crate::certs::hex(digest.as_ref());
        hex.truncate(VERSION_HEX_DIGITS);
        Some(hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_files_and_refuses_the_rest() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("static");
        std::fs::create_dir_all(dir.join("css")).unwrap();
        std::fs::write(dir.join("css/site.css"), "body{}").unwrap();
        std::fs::write(dir.join(".env"), "SECRET=1").unwrap();
        std::fs::write(tmp.path().join("outside.txt"), "secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), dir.join("link.txt")).unwrap();

        let statics = StaticFiles::new(dir.clone(), "/static");
        let real = dir.canonicalize().unwrap();
        assert_eq!(
            statics.resolve("css/site.css"),
            StaticResolution::File(real.join("css/site.css"))
        );
        for refused in ["css", ".env", "../outside.txt", "link.txt", "missing.js"] {
            assert_eq!(
                statics.resolve(refused),
                StaticResolution::NotFound,
                "{refused}"
            );
        }

        let url = statics.versioned_url("css/site.css");
        assert!(url.starts_with("/static/css/site.css?v="), "{url}");
        assert_eq!(
            url.len(),
            "/static/css/site.css?v=".len() + VERSION_HEX_DIGITS
        );
        assert_eq!(statics.versioned_url("nope.js"), "/static/nope.js");
    }
}
