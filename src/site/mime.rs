//! The MIME table, compiled in so a response never depends on the host's `/etc/mime.types`.
//! Text types carry `charset=utf-8`; `.js`/`.mjs` are `text/javascript` (RFC 9239).

use std::path::Path;

/// Type for files with an unknown or no extension (never sniffed: `nosniff` is always sent).
pub const DEFAULT_TYPE: &str = "application/octet-stream";

/// Extension (lower case) → (content type, worth compressing).
const TABLE: &[(&str, &str, bool)] = &[
    ("html", "text/html; charset=utf-8", true),
    ("htm", "text/html; charset=utf-8", true),
    ("css", "text/css; charset=utf-8", true),
    ("js", "text/javascript; charset=utf-8", true),
    ("mjs", "text/javascript; charset=utf-8", true),
    ("cjs", "text/javascript; charset=utf-8", true),
    ("map", "application/json; charset=utf-8", true),
    ("json", "application/json", true),
    ("jsonld", "application/ld+json", true),
    ("webmanifest", "application/manifest+json", true),
    ("xml", "application/xml", true),
    ("rss", "application/rss+xml", true),
    ("atom", "application/atom+xml", true),
    ("txt", "text/plain; charset=utf-8", true),
    ("md", "text/markdown; charset=utf-8", true),
    ("csv", "text/csv; charset=utf-8", true),
    ("ics", "text/calendar; charset=utf-8", true),
    ("vtt", "text/vtt; charset=utf-8", true),
    ("svg", "image/svg+xml", true),
    ("wasm", "application/wasm", true),
    ("ttf", "font/ttf", true),
    ("otf", "font/otf", true),
    ("woff", "font/woff", false),
    ("woff2", "font/woff2", false),
    ("ico", "image/x-icon", true),
    ("png", "image/png", false),
    ("jpg", "image/jpeg", false),
    ("jpeg", "image/jpeg", false),
    ("gif", "image/gif", false),
    ("webp", "image/webp", false),
    ("avif", "image/avif", false),
    ("bmp", "image/bmp", true),
    ("mp4", "video/mp4", false),
    ("webm", "video/webm", false),
    ("mkv", "video/x-matroska", false),
    ("mov", "video/quicktime", false),
    ("mp3", "audio/mpeg", false),
    ("ogg", "audio/ogg", false),
    ("wav", "audio/wav", true),
    ("flac", "audio/flac", false),
    ("pdf", "application/pdf", false),
    ("zip", "application/zip", false),
    ("gz", "application/gzip", false),
    ("tgz", "application/gzip", false),
    ("br", "application/octet-stream", false),
    ("zst", "application/zstd", false),
    ("bz2", "application/x-bzip2", false),
    ("xz", "application/x-xz", false),
    ("7z", "application/x-7z-compressed", false),
    ("tar", "application/x-tar", true),
    ("bin", "application/octet-stream", false),
];

/// The content type of a file, and whether it is worth compressing.
pub fn lookup(path: &Path) -> (&'static str, bool) {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return (DEFAULT_TYPE, false);
    };
    TABLE
        .iter()
        .find(|(e, ..)| e.eq_ignore_ascii_case(ext))
        .map_or((DEFAULT_TYPE, false), |(_, ct, z)| (*ct, *z))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_browsers_need() {
        for (file, want, compress) in [
            ("a.js", "text/javascript; charset=utf-8", true),
            ("a.MJS", "text/javascript; charset=utf-8", true),
            ("a.css", "text/css; charset=utf-8", true),
            ("a.wasm", "application/wasm", true),
            ("a.json", "application/json", true),
            ("a.svg", "image/svg+xml", true),
            ("a.woff2", "font/woff2", false),
            ("site.webmanifest", "application/manifest+json", true),
            ("a.txt", "text/plain; charset=utf-8", true),
            ("archive.tar.gz", "application/gzip", false),
            ("hello", DEFAULT_TYPE, false),
            ("x.unknown", DEFAULT_TYPE, false),
        ] {
            assert_eq!(lookup(Path::new(file)), (want, compress), "{file}");
        }
    }
}
