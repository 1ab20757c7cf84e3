//! A static directory served under a URL prefix (`static/` at `/static`, or a `--mount`):
//! what a path below the prefix names — a cached file, a file to stream, a directory to
//! redirect to or list — and the content-hashed URLs of `static_url()`.
//!
//! The HTTP semantics (conditional requests, ranges, codings) are in
//! [`crate::http::static_handler`]; this file decides which bytes, if any, a path means.
//!
//! SECURITY: paths are decoded once and checked segment by segment ([`super::paths`]); a file
//! is served only if, with symlinks resolved, it lives inside the directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::file_cache::{self, CacheLimits, FileCache, FileMeta, MemoryFile};
use super::mime;
use super::paths::{self, is_secret_file, is_within};
use crate::http::encoding::Encoding;

/// How many hex digits of the SHA-256 of a file go into its `?v=` version.
pub const VERSION_HEX_DIGITS: usize = 12;

/// Options shared by every static directory of a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticOptions {
    /// Answer a directory without `index.html` with a listing (otherwise 404).
    pub listing: bool,
    /// Keep small files in memory (off in development mode).
    pub cache: bool,
    /// Cache limits.
    pub limits: CacheLimits,
}

impl Default for StaticOptions {
    fn default() -> Self {
        Self {
            listing: false,
            cache: true,
            limits: CacheLimits::default(),
        }
    }
}

/// A static directory, cheap to clone.
#[derive(Debug, Clone)]
pub struct StaticFiles {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    /// `dir` with symlinks resolved, to check that resolved files stay inside it.
    real_dir: Option<PathBuf>,
    url_prefix: String,
    options: StaticOptions,
    cache: Arc<FileCache>,
    /// Content versions by relative path, computed on first use.
    versions: Arc<Mutex<HashMap<String, Option<String>>>>,
    /// One gate per path being looked up after a cache miss, so that a burst of requests for
    /// a file not yet cached reads and compresses it once, on one blocking thread, instead of
    /// once per request on as many threads (each keeping its own allocator heap).
    loading: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Keeps the directory watch alive; `None` when caching is off or watching failed.
    _watcher: Option<notify::RecommendedWatcher>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticFiles")
            .field("dir", &self.dir)
            .field("url_prefix", &self.url_prefix)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// A file to stream from disk (too big for the cache, or the cache is off).
#[derive(Debug)]
pub struct DiskFile {
    /// Its path.
    pub path: PathBuf,
    /// The open file (opened during lookup, so the metadata describes what is sent).
    pub file: std::fs::File,
    /// Headers.
    pub meta: FileMeta,
    /// Precompressed siblings: coding, path, length, ETag.
    pub siblings: Vec<(Encoding, PathBuf, u64, axum::http::HeaderValue)>,
    /// Relative path, for the content version.
    pub rel: String,
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingEntry {
    /// File name.
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Size in bytes (files).
    pub len: u64,
}

/// What a path below the prefix names.
#[derive(Debug)]
pub enum Lookup {
    /// A cached file.
    Memory(Arc<MemoryFile>),
    /// A file to stream.
    Disk(Box<DiskFile>),
    /// A directory asked for without the trailing slash: redirect to add it.
    AddSlash,
    /// A directory without `index.html`, with listing on: its entries, sorted.
    Listing(Vec<ListingEntry>),
    /// Nothing that may be served.
    NotFound,
}

impl StaticFiles {
    /// The directory `dir`, served under `url_prefix` (e.g. `/static`, no trailing slash).
    pub fn new(dir: PathBuf, url_prefix: impl Into<String>, options: StaticOptions) -> Self {
        let real_dir = dir.canonicalize().ok();
        let cache = Arc::new(FileCache::new(options.limits));
        let versions: Arc<Mutex<HashMap<String, Option<String>>>> = Arc::default();
        let watcher = match (&real_dir, options.cache) {
            (Some(real), true) => watch(real, cache.clone(), versions.clone()),
            _ => None,
        };
        let options = StaticOptions {
            // Without a watch there is no invalidation, so no caching.
            cache: options.cache && watcher.is_some(),
            ..options
        };
        Self {
            inner: Arc::new(Inner {
                dir,
                real_dir,
                url_prefix: url_prefix.into(),
                options,
                cache,
                versions,
                loading: Mutex::default(),
                _watcher: watcher,
            }),
        }
    }

    /// The directory served.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A number that changes whenever a file under the directory may have changed (the
    /// watch saw an event), or `None` when the directory is not watched. What was computed
    /// from the files (`static_url` versions, pages that print them) is valid while it stays
    /// the same.
    pub fn generation(&self) -> Option<u64> {
        self.inner
            .options
            .cache
            .then(|| self.inner.cache.generation())
    }

    /// The URL prefix (`/static`).
    pub fn url_prefix(&self) -> &str {
        &self.inner.url_prefix
    }

    /// Looks up the raw (still percent-encoded) path below the prefix, without its leading `/`.
    /// `compressed`: the client accepts some content coding, so a file loaded into the cache
    /// now gets its compressed variants before it is served; without it they are made in the
    /// background after the file is served (see [`file_cache::build_memory_file`]).
    pub async fn lookup(&self, raw: &str, compressed: bool) -> Lookup {
        let Ok(key) = paths::decode(raw) else {
            return Lookup::NotFound;
        };
        let usable = |hit: &Arc<MemoryFile>| hit.complete || !compressed;
        if let Some(hit) = self.inner.cache.get(&key).filter(usable) {
            return Lookup::Memory(hit);
        }
        let key = key.into_owned();
        let gate = Arc::clone(lock(&self.inner.loading).entry(key.clone()).or_default());
        let turn = gate.lock().await;
        // Whoever held the gate before may have cached it.
        let found = match self.inner.cache.get(&key).filter(usable) {
            Some(hit) => Lookup::Memory(hit),
            None => {
                let (this, key) = (self.clone(), key.clone());
                tokio::task::spawn_blocking(move || this.lookup_blocking(&key, compressed))
                    .await
                    .unwrap_or(Lookup::NotFound)
            }
        };
        drop(turn);
        let mut loading = lock(&self.inner.loading);
        // Clones are only made under this lock: the map's and ours left means nobody waits.
        if Arc::strong_count(&gate) == 2 {
            loading.remove(&key);
        }
        found
    }

    fn lookup_blocking(&self, key: &str, compressed: bool) -> Lookup {
        let Some(real_dir) = &self.inner.real_dir else {
            return Lookup::NotFound;
        };
        let generation = self.inner.cache.generation();
        let wants_dir = key.is_empty() || key.ends_with('/');
        let rel: PathBuf = key.split('/').filter(|s| !s.is_empty()).collect();
        let path = real_dir.join(&rel);
        let Ok(meta) = std::fs::metadata(&path) else {
            return Lookup::NotFound;
        };
        if !is_within(real_dir, &path) {
            return Lookup::NotFound;
        }
        let (file_path, rel_file) = if meta.is_dir() {
            if !wants_dir {
                return Lookup::AddSlash;
            }
            let index = path.join("index.html");
            if index.is_file() && is_within(real_dir, &index) {
                (index, format!("{}index.html", key))
            } else if self.inner.options.listing {
                return Lookup::Listing(list(real_dir, &path));
            } else {
                return Lookup::NotFound;
            }
        } else if meta.is_file() && !wants_dir {
            (path, key.to_string())
        } else {
            return Lookup::NotFound;
        };
        self.load(file_path, rel_file, key, generation, compressed)
    }

    fn load(
        &self,
        path: PathBuf,
        rel: String,
        key: &str,
        generation: u64,
        compressed: bool,
    ) -> Lookup {
        let Ok(file) = std::fs::File::open(&path) else {
            return Lookup::NotFound;
        };
        let Ok(meta) = file.metadata() else {
            return Lookup::NotFound;
        };
        let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        let options = self.inner.options;
        let max = options.limits.max_file_bytes;
        // A file the budget has no room for is streamed (compressed at per-request levels)
        // rather than read and compressed at cache quality on every request, never kept.
        if options.cache && meta.len() <= max && self.inner.cache.has_room(meta.len()) {
            let Some(body) = read_at_most(&file, max) else {
                return Lookup::NotFound;
            };
            let siblings = Encoding::PREFERENCE
                .into_iter()
                .filter_map(|encoding| {
                    let (sibling, _) = self.sibling(&path, encoding, Some(max))?;
                    let file = std::fs::File::open(sibling).ok()?;
                    Some((encoding, read_at_most(&file, max)?))
                })
                .collect();
            let built = file_cache::build_memory_file(&path, body, mtime, siblings, compressed);
            let built = Arc::new(built);
            self.inner.cache.insert(key, built.clone(), generation);
            if !built.complete {
                self.complete_later(path, rel, key, generation);
            }
            return Lookup::Memory(built);
        }
        let tag = disk_tag(&meta);
        let mut siblings = Vec::new();
        for encoding in Encoding::PREFERENCE {
            if let Some((sibling, m)) = self.sibling(&path, encoding, None) {
                let etag = format!("\"{}-{}\"", disk_tag(&m), encoding.extension());
                if let Ok(etag) = axum::http::HeaderValue::from_str(&etag) {
                    siblings.push((encoding, sibling, m.len(), etag));
                }
            }
        }
        let (_, compressible) = mime::lookup(&path);
        let negotiable = compressible || !siblings.is_empty();
        Lookup::Disk(Box::new(DiskFile {
            meta: FileMeta::new(&path, meta.len(), mtime, &tag, negotiable),
            path,
            file,
            siblings,
            rel,
        }))
    }

    /// Loads the file again with its compressed variants, on a blocking thread, replacing the
    /// incomplete entry (unless the directory changed since `generation`).
    fn complete_later(&self, path: PathBuf, rel: String, key: &str, generation: u64) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (this, key) = (self.clone(), key.to_string());
        runtime.spawn_blocking(move || this.load(path, rel, &key, generation, true));
    }

    /// The precompressed sibling of `path` for `encoding`, if it is a regular file that really
    /// lives inside the directory (SECURITY: a sibling is served in place of the file, so it
    /// gets the same checks — a `site.css.gz` symlink to `/etc/passwd` is ignored) and, when
    /// `max` is given, is no larger than that.
    fn sibling(
        &self,
        path: &Path,
        encoding: Encoding,
        max: Option<u64>,
    ) -> Option<(PathBuf, std::fs::Metadata)> {
        let real_dir = self.inner.real_dir.as_ref()?;
        let sibling = file_cache::sibling_path(path, encoding);
        let meta = std::fs::metadata(&sibling).ok()?;
        let fits = max.is_none_or(|m| meta.len() <= m);
        (meta.is_file() && fits && is_within(real_dir, &sibling)).then_some((sibling, meta))
    }

    /// The content version of a file (the `v` of `static_url`), computed once per change.
    pub fn version_of(&self, rel: &str) -> Option<String> {
        let rel = rel.trim_start_matches('/');
        if !self.inner.options.cache {
            // Nothing watches the directory (development mode, or no cache): a remembered
            // version could outlive the file it was computed from, and be served as immutable.
            return self.content_version(rel);
        }
        let mut versions = self
            .inner
            .versions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        versions
            .entry(rel.to_string())
            .or_insert_with(|| self.content_version(rel))
            .clone()
    }

    /// `static_url('css/site.css')` → `/static/css/site.css?v=<hash>`: the version changes when
    /// the file's content does, so browsers never keep a stale copy. A missing file gets its
    /// plain URL (and a warning) rather than breaking the page.
    pub fn versioned_url(&self, path: &str) -> String {
        let rel = path.trim_start_matches('/');
        let base = format!("{}/{rel}", self.inner.url_prefix);
        match self.version_of(rel) {
            Some(v) => format!("{base}?v={v}"),
            None => base,
        }
    }

    fn content_version(&self, rel: &str) -> Option<String> {
        let real_dir = self.inner.real_dir.as_ref()?;
        let checked = paths::decode_relative(&rel.replace('%', "%25")).ok();
        let path = checked.map(|r| real_dir.join(r));
        let Some(path) = path.filter(|p| p.is_file() && is_within(real_dir, p)) else {
            tracing::warn!(
                path = rel,
                "static_url: no such file in {}",
                self.inner.dir.display()
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

/// Reads a whole file of at most `max` bytes (`None` if it is larger now, or unreadable).
fn read_at_most(file: &std::fs::File, max: u64) -> Option<Vec<u8>> {
    use std::io::Read;
    let mut body = Vec::new();
    file.take(max + 1).read_to_end(&mut body).ok()?;
    (body.len() as u64 <= max).then_some(body)
}

/// ETag material for a file served from disk: modification time (to the nanosecond), size and
/// inode, so a same-size rewrite within one second still changes it.
fn disk_tag(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .unwrap_or_default();
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(meta);
    #[cfg(not(unix))]
    let ino = 0u64;
    format!(
        "{:x}.{:x}-{:x}-{:x}",
        mtime.as_secs(),
        mtime.subsec_nanos(),
        meta.len(),
        ino
    )
}

/// The entries of a directory that would be served, sorted by name: no dotfiles, no secrets,
/// no symlinks leading out of `root` (listing them would only show links that 404).
fn list(root: &Path, dir: &Path) -> Vec<ListingEntry> {
    let mut entries: Vec<ListingEntry> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            if name.starts_with('.') || is_secret_file(Path::new(&name)) {
                return None;
            }
            let meta = std::fs::metadata(e.path()).ok()?;
            if e.file_type().ok()?.is_symlink() && !is_within(root, &e.path()) {
                return None;
            }
            Some(ListingEntry {
                name,
                is_dir: meta.is_dir(),
                len: meta.len(),
            })
        })
        .collect();
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// Watches `dir` recursively; any change clears the cache and the versions.
fn watch(
    dir: &Path,
    cache: Arc<FileCache>,
    versions: Arc<Mutex<HashMap<String, Option<String>>>>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && event.kind.is_access()
        {
            return;
        }
        cache.clear();
        versions.lock().unwrap_or_else(|p| p.into_inner()).clear();
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(err) => {
            tracing::warn!(dir = %dir.display(), cause = %err, "cannot watch the directory; serving without the memory cache");
            return None;
        }
    };
    if let Err(err) = watcher.watch(dir, notify::RecursiveMode::Recursive) {
        tracing::warn!(dir = %dir.display(), cause = %err, "cannot watch the directory; serving without the memory cache");
        return None;
    }
    Some(watcher)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain maps updated in one step each; a panic elsewhere leaves them consistent.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, StaticFiles) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("static");
        std::fs::create_dir_all(dir.join("css")).unwrap();
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::write(dir.join("css/site.css"), "body{}").unwrap();
        std::fs::write(dir.join("docs/index.html"), "<h1>docs</h1>").unwrap();
        std::fs::write(dir.join(".env"), "SECRET=1").unwrap();
        std::fs::write(tmp.path().join("outside.txt"), "secret").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), dir.join("link.txt")).unwrap();
        let statics = StaticFiles::new(dir, "/static", StaticOptions::default());
        (tmp, statics)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_burst_of_misses_for_one_file_loads_it_once() {
        let (_tmp, statics) = setup();
        let lookups = (0..32).map(|_| {
            let statics = statics.clone();
            tokio::spawn(async move { statics.lookup("css/site.css", true).await })
        });
        let mut loaded = Vec::new();
        for lookup in lookups {
            match lookup.await.unwrap() {
                Lookup::Memory(file) => loaded.push(file),
                _ => panic!("css/site.css not served from memory"),
            }
        }
        assert!(loaded.iter().all(|f| Arc::ptr_eq(f, &loaded[0])));
        assert!(lock(&statics.inner.loading).is_empty(), "gates are removed");
    }

    #[tokio::test]
    async fn looks_up_files_directories_and_refuses_the_rest() {
        let (_tmp, statics) = setup();
        assert!(
            matches!(statics.lookup("css/site.css", true).await, Lookup::Memory(f) if &f.body[..] == b"body{}")
        );
        assert!(
            matches!(
                statics.lookup("css/site.css", true).await,
                Lookup::Memory(_)
            ),
            "cached"
        );
        assert!(matches!(
            statics.lookup("docs", true).await,
            Lookup::AddSlash
        ));
        assert!(
            matches!(statics.lookup("docs/", true).await, Lookup::Memory(f) if &f.body[..] == b"<h1>docs</h1>")
        );
        for refused in [
            "css/",
            "css/site.css/",
            ".env",
            "../outside.txt",
            "link.txt",
            "missing.js",
            "%2e%2e/outside.txt",
        ] {
            assert!(
                matches!(statics.lookup(refused, true).await, Lookup::NotFound),
                "{refused}"
            );
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn precompressed_siblings_get_the_same_checks_as_files() {
        let (tmp, _) = setup();
        let dir = tmp.path().join("static");
        std::fs::write(dir.join("a.js"), "x".repeat(10)).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), dir.join("a.js.gz")).unwrap();
        std::fs::write(dir.join("a.js.br"), vec![0u8; 5000]).unwrap();
        std::fs::write(dir.join("a.js.zst"), "ok").unwrap();
        let limits = CacheLimits {
            max_file_bytes: 100,
            total_bytes: 1 << 20,
        };
        let statics = StaticFiles::new(
            dir.clone(),
            "/static",
            StaticOptions {
                limits,
                ..Default::default()
            },
        );
        let Lookup::Memory(file) = statics.lookup("a.js", true).await else {
            panic!("cached")
        };
        assert!(
            file.variant(Encoding::Gzip).is_none(),
            "symlink leaving the root"
        );
        assert!(
            file.variant(Encoding::Br).is_none(),
            "sibling over the size cap"
        );
        assert_eq!(&file.variant(Encoding::Zstd).unwrap().body[..], b"ok");

        std::fs::write(dir.join("big.js"), "y".repeat(200)).unwrap();
        std::os::unix::fs::symlink(tmp.path().join("outside.txt"), dir.join("big.js.gz")).unwrap();
        let Lookup::Disk(file) = statics.lookup("big.js", true).await else {
            panic!("streamed")
        };
        assert!(file.siblings.is_empty());
    }

    #[test]
    fn versioned_urls_carry_the_content_hash() {
        let (_tmp, statics) = setup();
        let url = statics.versioned_url("css/site.css");
        assert!(url.starts_with("/static/css/site.css?v="), "{url}");
        assert_eq!(
            url.len(),
            "/static/css/site.css?v=".len() + VERSION_HEX_DIGITS
        );
        assert_eq!(statics.versioned_url("nope.js"), "/static/nope.js");
        assert_eq!(statics.versioned_url("link.txt"), "/static/link.txt");
    }
}
