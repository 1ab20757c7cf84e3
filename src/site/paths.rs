//! Safe path resolution: a URL path below a mount becomes a file path inside the mount's
//! directory, or nothing. Percent-decoding happens exactly once, here.
//!
//! SECURITY: every rule below refuses rather than normalises. `..`, a backslash, a NUL, a
//! Windows drive letter, invalid UTF-8, a dotfile or dot-directory (`.env`, `.git/`), a key or
//! certificate file, and anything under `certs/` are never served, whatever the mount. Symlinks
//! are checked separately ([`is_within`]) because only the file system knows where they lead.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;

/// File extensions that hold keys or certificates and are never served.
const SECRET_EXTENSIONS: [&str; 5] = ["key", "pem", "crt", "p12", "pfx"];

/// Why a path was refused; both map to 404 so a probe learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The path is malformed or tries to leave its root.
    Invalid,
    /// The path names something that is never served (dotfile, key, `certs/`).
    Hidden,
}

/// Decodes `raw` (the part of the URL path below a mount, without the leading `/`) once and
/// checks every segment; the result borrows `raw` when there was nothing to decode, so the hot
/// path does not allocate. A trailing `/` is kept (it asks for a directory).
pub fn decode(raw: &str) -> Result<Cow<'_, str>, Refusal> {
    if !well_formed_escapes(raw) {
        return Err(Refusal::Invalid);
    }
    let decoded: Cow<'_, str> = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| Refusal::Invalid)?;
    if decoded.contains(['\\', '\0']) {
        return Err(Refusal::Invalid);
    }
    for (i, segment) in decoded.split('/').enumerate() {
        if segment.is_empty() {
            continue;
        }
        if segment == "." || segment == ".." {
            return Err(Refusal::Invalid);
        }
        // A drive letter or stream name (`c:`, `file.txt:stream`) is never a file name here.
        if segment.contains(':') {
            return Err(Refusal::Invalid);
        }
        if segment.starts_with('.') || (i == 0 && segment == "certs") {
            return Err(Refusal::Hidden);
        }
    }
    if is_secret_file(Path::new(decoded.trim_end_matches('/'))) {
        return Err(Refusal::Hidden);
    }
    Ok(decoded)
}

/// Whether every `%` starts a `%XX` escape (RFC 3986 §2.1); `/100%.txt` is malformed, and
/// must not be read as the file `100%.txt`.
pub fn well_formed_escapes(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'%') {
        let at = i + offset;
        match bytes.get(at + 1..at + 3) {
            Some([a, b]) if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() => i = at + 3,
            _ => return false,
        }
    }
    true
}

/// [`decode`], as a relative path of normal components.
pub fn decode_relative(raw: &str) -> Result<PathBuf, Refusal> {
    let decoded = decode(raw)?;
    let out: PathBuf = decoded.split('/').filter(|s| !s.is_empty()).collect();
    // Belt and braces: what we built must be purely relative, normal components.
    if !out.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Refusal::Invalid);
    }
    Ok(out)
}

/// Whether a file name is a key or certificate file that is never served.
pub fn is_secret_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|ext| {
            SECRET_EXTENSIONS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(ext))
        })
}

/// Whether `path`, with symlinks resolved, is inside `root` (already canonical).
pub fn is_within(root: &Path, path: &Path) -> bool {
    path.canonicalize().is_ok_and(|real| real.starts_with(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_once_and_keeps_plus_literal() {
        let ok = [
            ("css/site.css", "css/site.css"),
            ("my%20file.txt", "my file.txt"),
            ("%E4%B8%AD%E6%96%87.txt", "中文.txt"),
            ("Session%20%2301.txt", "Session #01.txt"),
            ("100%25.txt", "100%.txt"),
            ("a+b.txt", "a+b.txt"),
            ("a//b.txt", "a/b.txt"),
        ];
        for (raw, want) in ok {
            assert_eq!(decode_relative(raw), Ok(PathBuf::from(want)), "{raw}");
        }
    }

    #[test]
    fn refuses_traversal_in_every_encoding() {
        for raw in [
            "../Cargo.toml",
            "%2e%2e/secret.txt",
            "..%2fsecret.txt",
            "..%5csecret.txt",
            "a/../../b",
            "c:/windows/win.ini",
            "c%3A/windows/win.ini",
            "%5c..%5c..%5cwindows",
            "app/%00/foo.xml",
            "weird_%c3%28_path",
            "./x",
            "100%.txt",
            "100%2",
            "%zz",
        ] {
            assert_eq!(decode_relative(raw), Err(Refusal::Invalid), "{raw}");
        }
    }

    #[test]
    fn double_encoding_is_decoded_only_once() {
        // `%252e` decodes to the literal name `%2e`, a harmless (missing) file name.
        assert_eq!(
            decode_relative(".%252e/x"),
            Err(Refusal::Hidden),
            "leading dot makes it a dotfile"
        );
        assert_eq!(
            decode_relative("%252e%252e/x"),
            Ok(PathBuf::from("%2e%2e/x"))
        );
    }

    #[test]
    fn refuses_dotfiles_keys_and_certs_dir() {
        for raw in [
            ".env",
            ".git/config",
            "a/.hidden/x.js",
            "server.key",
            "tls/server.PEM",
            "site.crt",
            "id.p12",
            "id.pfx",
            "certs/carafe-dev.txt",
        ] {
            assert_eq!(decode_relative(raw), Err(Refusal::Hidden), "{raw}");
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn url_path() -> impl Strategy<Value = String> {
        // Segments built from the characters that matter: dots, slashes, escapes, drive
        // letters, NUL, non-ASCII.
        let piece = prop_oneof![
            Just("..".to_string()),
            Just(".".to_string()),
            Just("/".to_string()),
            Just("%2e".to_string()),
            Just("%2E%2e".to_string()),
            Just("%2f".to_string()),
            Just("%5c".to_string()),
            Just("%00".to_string()),
            Just("%25".to_string()),
            Just("%".to_string()),
            Just("c:".to_string()),
            Just("\\".to_string()),
            Just("certs".to_string()),
            "[a-z]{1,4}",
            "%[0-9a-fA-F]{2}",
            any::<String>(),
        ];
        proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        #[test]
        fn never_leaves_the_root_and_never_panics(raw in url_path()) {
            let root = Path::new("/srv/site/static");
            if let Ok(rel) = decode_relative(&raw) {
                prop_assert!(rel.components().all(|c| matches!(c, Component::Normal(_))));
                for c in rel.components() {
                    let s = c.as_os_str().to_string_lossy();
                    prop_assert!(!s.starts_with('.'), "{raw:?} gave a dot segment");
                    prop_assert!(!s.contains(['\\', '\0', ':']), "{raw:?}");
                }
                prop_assert!(root.join(&rel).starts_with(root));
                prop_assert!(!is_secret_file(&rel));
            }
        }
    }
}
