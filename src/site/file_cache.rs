//! The in-memory cache of small static files: the bytes, precomputed headers (ETag,
//! Last-Modified, Content-Type, Content-Length), the content version used by `static_url`, and
//! compressed variants (precompressed siblings on disk, else made once here). A warm hit is a
//! map lookup and an `Arc` clone: no file-system call, no header formatting.
//!
//! Invalidation: the owner ([`super::static_files`]) watches the directory and calls
//! [`FileCache::clear`] on any change. A fill that started before a change is not inserted
//! (generation check), so a stale copy cannot outlive the event that made it stale.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use axum::http::HeaderValue;
use bytes::Bytes;

use super::mime;
use crate::http::conditional::epoch_secs;
use crate::http::encoding::Encoding;

/// Largest file kept in memory by default; larger files are streamed from disk.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 256 * 1024;
/// Default memory budget for all cached bytes (originals and compressed variants).
pub const DEFAULT_TOTAL_BYTES: u64 = 64 * 1024 * 1024;
/// Smallest text file compressed on the fly; below this the headers outweigh the savings.
pub const COMPRESS_MIN_BYTES: u64 = 1024;

/// Limits of the file cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// Files up to this size are cached.
    pub max_file_bytes: u64,
    /// Total budget; when full, further files are served from disk.
    pub total_bytes: u64,
}

impl Default for CacheLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            total_bytes: DEFAULT_TOTAL_BYTES,
        }
    }
}

/// What every response for a file needs, formatted once.
#[derive(Debug, Clone)]
pub struct FileMeta {
    /// Length of the identity representation.
    pub len: u64,
    /// Modification time, whole seconds since the epoch (for If-Modified-Since).
    pub modified: u64,
    /// Strong ETag of the identity representation, quoted.
    pub etag: HeaderValue,
    /// HTTP date of `modified`.
    pub last_modified: HeaderValue,
    /// Content type (the original's, also for compressed variants).
    pub content_type: HeaderValue,
    /// Whether the response depends on Accept-Encoding (`Vary: Accept-Encoding`).
    pub negotiable: bool,
}

impl FileMeta {
    /// Metadata for a file of `len` bytes modified at `mtime`, whose identity ETag is `tag`.
    pub fn new(path: &Path, len: u64, mtime: SystemTime, tag: &str, negotiable: bool) -> Self {
        let (content_type, _) = mime::lookup(path);
        Self {
            len,
            modified: epoch_secs(mtime),
            etag: header(&format!("\"{tag}\"")),
            last_modified: header(&httpdate::fmt_http_date(mtime)),
            content_type: HeaderValue::from_static(content_type),
            negotiable,
        }
    }
}

/// A compressed representation of a cached file.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Its content coding.
    pub encoding: Encoding,
    /// Its bytes.
    pub body: Bytes,
    /// Its own strong ETag (a different representation has a different tag).
    pub etag: HeaderValue,
}

/// A file held in memory.
#[derive(Debug)]
pub struct MemoryFile {
    /// Headers shared by all representations.
    pub meta: FileMeta,
    /// The identity bytes.
    pub body: Bytes,
    /// Compressed representations, best first.
    pub variants: Vec<Variant>,
    /// The content version `static_url` puts in `?v=`.
    pub version: String,
    /// Every variant this file will have is here. `false` while the ones made here (not read
    /// from precompressed siblings) are still to be made: a client that accepts no
    /// compression was served first, and did not wait for them.
    pub complete: bool,
}

impl MemoryFile {
    /// The representation for `encoding`, if there is one.
    pub fn variant(&self, encoding: Encoding) -> Option<&Variant> {
        self.variants.iter().find(|v| v.encoding == encoding)
    }

    /// Bytes this entry costs.
    fn cost(&self) -> u64 {
        self.body.len() as u64
            + self
                .variants
                .iter()
                .map(|v| v.body.len() as u64)
                .sum::<u64>()
    }
}

/// Builds a cached file from its bytes and the bytes of its precompressed siblings, already
/// vetted by the caller (blocking: hashing and, with `compress`, compression). Without
/// `compress` the variants that would be made here are left out and the file is marked
/// incomplete: compressing a small text file at the quality used here takes about a
/// millisecond, which a client that cannot use the result should not wait for.
pub fn build_memory_file(
    path: &Path,
    body: Vec<u8>,
    mtime: SystemTime,
    mut siblings: Vec<(Encoding, Vec<u8>)>,
    compress: bool,
) -> MemoryFile {
    let (_, compressible) = mime::lookup(path);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &body);
    let hex = crate::certs::hex(digest.as_ref());
    let version = hex[..super::static_files::VERSION_HEX_DIGITS].to_string();
    let tag = &hex[..20];
    let len = body.len() as u64;

    let mut variants = Vec::new();
    let mut complete = true;
    for encoding in Encoding::PREFERENCE {
        let sibling = siblings
            .iter()
            .position(|(e, _)| *e == encoding)
            .map(|i| siblings.swap_remove(i).1);
        let compressed = match sibling {
            // A precompressed sibling always wins: it may use settings we would not afford.
            Some(bytes) => Some(bytes),
            None if compressible && len >= COMPRESS_MIN_BYTES && !compress => {
                complete = false;
                None
            }
            None if compressible && len >= COMPRESS_MIN_BYTES => {
                compress_with(encoding, &body).filter(|c| (c.len() as u64) < len)
            }
            None => None,
        };
        if let Some(bytes) = compressed {
            variants.push(Variant {
                encoding,
                body: Bytes::from(bytes),
                etag: header(&format!("\"{tag}-{}\"", encoding.extension())),
            });
        }
    }
    let negotiable = compressible || !variants.is_empty();
    MemoryFile {
        meta: FileMeta::new(path, len, mtime, tag, negotiable),
        body: Bytes::from(body),
        variants,
        version,
        complete,
    }
}

/// `app.js` → `app.js.br` etc.
pub fn sibling_path(path: &Path, encoding: Encoding) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(encoding.extension());
    name.into()
}

/// Compresses with settings that suit a one-time, cached compression.
fn compress_with(encoding: Encoding, data: &[u8]) -> Option<Vec<u8>> {
    match encoding {
        Encoding::Identity => None,
        Encoding::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            enc.write_all(data).ok()?;
            enc.finish().ok()
        }
        Encoding::Br => {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 9,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &data[..], &mut out, &params).ok()?;
            Some(out)
        }
        Encoding::Zstd => zstd::bulk::compress(data, 15).ok(),
    }
}

fn header(value: &str) -> HeaderValue {
    // ETags and dates built here are ASCII; a failure would be a bug, and an empty value is
    // harmless.
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cache of one static directory.
#[derive(Debug)]
pub struct FileCache {
    limits: CacheLimits,
    map: RwLock<HashMap<Box<str>, Arc<MemoryFile>>>,
    used: AtomicU64,
    generation: AtomicU64,
}

impl FileCache {
    /// An empty cache.
    pub fn new(limits: CacheLimits) -> Self {
        Self {
            limits,
            map: RwLock::new(HashMap::new()),
            used: AtomicU64::new(0),
            generation: AtomicU64::new(0),
        }
    }

    /// The limits.
    pub fn limits(&self) -> CacheLimits {
        self.limits
    }

    /// A cached file by its decoded relative path.
    pub fn get(&self, key: &str) -> Option<Arc<MemoryFile>> {
        self.map
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// The generation to pass to [`FileCache::insert`] for a fill starting now.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `file` under `key` unless the directory changed since `generation` or the
    /// budget is spent.
    pub fn insert(&self, key: &str, file: Arc<MemoryFile>, generation: u64) {
        let cost = file.cost();
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation
            || self.used.load(Ordering::Relaxed) + cost > self.limits.total_bytes
        {
            return;
        }
        if let Some(old) = map.insert(key.into(), file) {
            self.used.fetch_sub(old.cost(), Ordering::Relaxed);
        }
        self.used.fetch_add(cost, Ordering::Relaxed);
    }

    /// Whether a file of `len` bytes, with compressed copies up to its size again, fits in
    /// what is left of the budget.
    pub fn has_room(&self, len: u64) -> bool {
        self.used.load(Ordering::Relaxed) + 2 * len <= self.limits.total_bytes
    }

    /// Drops everything (the directory changed).
    pub fn clear(&self) {
        let mut map = self.map.write().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
        self.used.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_gets_compressed_variants_and_binary_does_not() {
        let css = "body { color: red; }\n".repeat(200).into_bytes();
        let f = build_memory_file(
            Path::new("/x/site.css"),
            css.clone(),
            SystemTime::UNIX_EPOCH,
            vec![],
            true,
        );
        assert_eq!(f.meta.len, css.len() as u64);
        assert!(f.meta.negotiable);
        let encodings: Vec<Encoding> = f.variants.iter().map(|v| v.encoding).collect();
        assert_eq!(
            encodings,
            vec![Encoding::Br, Encoding::Zstd, Encoding::Gzip]
        );
        let mut gz = flate2::read::GzDecoder::new(&f.variant(Encoding::Gzip).unwrap().body[..]);
        let mut back = Vec::new();
        std::io::Read::read_to_end(&mut gz, &mut back).unwrap();
        assert_eq!(back, css);
        assert_ne!(f.variants[0].etag, f.meta.etag);

        let png = vec![7u8; 4096];
        let f = build_memory_file(
            Path::new("/x/a.png"),
            png,
            SystemTime::UNIX_EPOCH,
            vec![],
            true,
        );
        assert!(f.variants.is_empty());
        assert!(!f.meta.negotiable);
    }

    #[test]
    fn without_compress_the_made_variants_wait_and_siblings_are_kept() {
        let css = b"body { color: black; }\n".repeat(100);
        let gz = vec![1, 2, 3];
        let f = build_memory_file(
            Path::new("/x/site.css"),
            css.clone(),
            SystemTime::UNIX_EPOCH,
            vec![(Encoding::Gzip, gz.clone())],
            false,
        );
        assert!(!f.complete);
        assert_eq!(f.variants.len(), 1);
        assert_eq!(&f.variants[0].body[..], &gz[..]);
        let full = build_memory_file(
            Path::new("/x/site.css"),
            css,
            SystemTime::UNIX_EPOCH,
            vec![(Encoding::Gzip, gz)],
            true,
        );
        assert!(full.complete);
        assert_eq!(full.variants.len(), 3);
        assert_eq!(full.meta.etag, f.meta.etag);
        // Nothing to make: complete either way.
        let png = build_memory_file(
            Path::new("/x/a.png"),
            vec![0; 4096],
            SystemTime::UNIX_EPOCH,
            vec![],
            false,
        );
        assert!(png.complete);
    }

    #[test]
    fn stale_fill_is_not_inserted_after_clear() {
        let cache = FileCache::new(CacheLimits::default());
        let f = Arc::new(build_memory_file(
            Path::new("a.txt"),
            b"hi".to_vec(),
            SystemTime::UNIX_EPOCH,
            vec![],
            true,
        ));
        let generation = cache.generation();
        cache.clear();
        cache.insert("a.txt", f.clone(), generation);
        assert!(cache.get("a.txt").is_none());
        cache.insert("a.txt", f, cache.generation());
        assert!(cache.get("a.txt").is_some());
    }

    #[test]
    fn budget_is_respected() {
        let cache = FileCache::new(CacheLimits {
            max_file_bytes: 10,
            total_bytes: 3,
        });
        let f = Arc::new(build_memory_file(
            Path::new("a.bin"),
            b"abcd".to_vec(),
            SystemTime::UNIX_EPOCH,
            vec![],
            true,
        ));
        cache.insert("a.bin", f, cache.generation());
        assert!(cache.get("a.bin").is_none());
        // The static files ask first, so a file that cannot stay is never built for the cache.
        assert!(!cache.has_room(4));
        assert!(cache.has_room(1));
    }
}
