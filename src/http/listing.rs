//! Directory listings (only with `--list`): an HTML page, names sorted,
//! escaped for HTML and percent-encoded in links. Dotfiles and key files are never listed.
//!
//! SECURITY: every link starts with `./`, so a file named `javascript:alert(1)` is a relative
//! path, never a URL scheme.

use axum::http::{Method, StatusCode};
use axum::response::Response;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

use super::error::html;
use crate::site::static_files::ListingEntry;

/// Characters percent-encoded in a listing link (one path segment).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

/// The listing page of the directory at `url_path` (which ends with `/`).
pub fn render(url_path: &str, entries: &[ListingEntry], method: &Method) -> Response {
    let title = escape(&percent_encoding::percent_decode_str(url_path).decode_utf8_lossy());
    let mut body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Index of {title}</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}}\
         td{{padding:.2rem 1rem .2rem 0}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}</style>\
         </head>\n<body><h1>Index of {title}</h1>\n<table>\n<tr><td><a href=\"../\">../</a></td><td></td></tr>\n"
    );
    for entry in entries {
        let slash = if entry.is_dir { "/" } else { "" };
        let href = utf8_percent_encode(&entry.name, SEGMENT);
        let size = if entry.is_dir {
            String::new()
        } else {
            entry.len.to_string()
        };
        body.push_str(&format!(
            "<tr><td><a href=\"./{href}{slash}\">{}{slash}</a></td><td class=\"n\">{size}</td></tr>\n",
            escape(&entry.name)
        ));
    }
    body.push_str("</table>\n</body></html>\n");
    html(StatusCode::OK, body, method)
}

/// HTML-escapes text for element content and attribute values.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn escapes_names_and_links() {
        let entries = vec![
            ListingEntry {
                name: "sub".into(),
                is_dir: true,
                len: 0,
            },
            ListingEntry {
                name: "<b>&.txt".into(),
                is_dir: false,
                len: 3,
            },
            ListingEntry {
                name: "javascript:alert(1)".into(),
                is_dir: false,
                len: 1,
            },
        ];
        let response = render("/static/a%20b/", &entries, &Method::GET);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(body.contains("<title>Index of /static/a b/</title>"));
        assert!(
            body.contains("<a href=\"./%3Cb%3E%26.txt\">&lt;b&gt;&amp;.txt</a>"),
            "{body}"
        );
        assert!(body.contains("<a href=\"./sub/\">sub/</a>"));
        assert!(!body.contains("<b>&"));
        assert!(
            body.contains("href=\"./javascript%3Aalert(1)\"")
                || body.contains("href=\"./javascript:alert(1)\""),
            "{body}"
        );
        assert!(!body.contains("href=\"javascript"), "{body}");
    }
}
