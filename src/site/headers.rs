//! Extra response headers by path glob (`[headers]` in carafe.toml):
//! `"/static/**" = { Cache-Control = "public, max-age=600" }`. In a glob, `*` matches within one
//! path segment and `**` matches across segments; every other character matches itself. When
//! several rules match, later ones (in file order, which is sorted by glob) win per header.

use axum::http::{HeaderName, HeaderValue};

/// One `[headers]` entry, checked.
#[derive(Debug, Clone)]
pub struct HeaderRule {
    /// The glob, e.g. `/static/**`.
    pub glob: String,
    /// Headers added to responses whose path matches.
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl HeaderRule {
    /// Checks the glob and the header names and values.
    pub fn new<'a>(
        glob: &str,
        headers: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, String> {
        if !glob.starts_with('/') {
            return Err(format!(
                "[headers] {glob:?}: a path glob must start with / (e.g. \"/static/**\")"
            ));
        }
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                let n = HeaderName::try_from(name)
                    .map_err(|_| format!("[headers] {glob:?}: {name:?} is not a header name"))?;
                let v = HeaderValue::try_from(value).map_err(|_| {
                    format!("[headers] {glob:?}: the value of {name} is not a valid header value")
                })?;
                Ok((n, v))
            })
            .collect::<Result<_, String>>()?;
        Ok(Self {
            glob: glob.to_string(),
            headers,
        })
    }

    /// Whether the rule applies to a request path.
    pub fn matches(&self, path: &str) -> bool {
        glob_match(self.glob.as_bytes(), path.as_bytes())
    }
}

/// `*` is any run of non-`/` bytes, `**` any run of bytes.
fn glob_match(glob: &[u8], path: &[u8]) -> bool {
    match glob {
        [] => path.is_empty(),
        [b'*', b'*', rest @ ..] => (0..=path.len()).any(|i| glob_match(rest, &path[i..])),
        [b'*', rest @ ..] => {
            let segment = path.iter().position(|&b| b == b'/').unwrap_or(path.len());
            (0..=segment).any(|i| glob_match(rest, &path[i..]))
        }
        [c, rest @ ..] => path.first() == Some(c) && glob_match(rest, &path[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_segments_and_subtrees() {
        let cases = [
            ("/static/**", "/static/css/site.css", true),
            ("/static/**", "/static/", true),
            ("/static/**", "/other/x", false),
            ("/*.html", "/a.html", true),
            ("/*.html", "/a/b.html", false),
            ("/**.html", "/a/b.html", true),
            ("/", "/", true),
            ("/", "/signup", false),
            ("/signup", "/signup", true),
        ];
        for (glob, path, want) in cases {
            let rule = HeaderRule::new(glob, [("x-a", "1")]).unwrap();
            assert_eq!(rule.matches(path), want, "{glob} {path}");
        }
    }

    #[test]
    fn rejects_bad_globs_and_headers() {
        assert!(HeaderRule::new("static/**", []).is_err());
        assert!(HeaderRule::new("/x", [("bad name", "v")]).is_err());
        assert!(HeaderRule::new("/x", [("x-a", "a\nb")]).is_err());
    }
}
