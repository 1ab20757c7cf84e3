//! The development error page: what failed, where, and the source around it, so a template
//! error is fixed from the browser (Flask's debugger page, without the console). Never used
//! outside development mode, where it would leak source and paths.

use std::fmt::Write as _;

use crate::site::{SiteError, TemplateError};

/// The page for a template that failed to compile or render.
pub fn template_error_page(err: &TemplateError) -> String {
    let mut body = String::new();
    let location = match err.line {
        Some(line) => format!("{} line {line}", err.name),
        None => err.name.clone(),
    };
    let _ = write!(
        body,
        "<h1>Template error</h1>\n<p class=\"where\"><code>{}/{}</code></p>\n<p class=\"what\">{}",
        escape(&err.dir_name),
        escape(&location),
        escape(&err.kind)
    );
    if let Some(detail) = &err.detail {
        let _ = write!(body, ": {}", escape(detail));
    }
    body.push_str("</p>\n");
    if let Some(expr) = &err.expression {
        let _ = writeln!(
            body,
            "<p>Expression: <code class=\"expr\">{}</code></p>",
            escape(expr)
        );
    }
    if err.requested != err.name {
        let _ = writeln!(
            body,
            "<p>While rendering <code>{}/{}</code>.</p>",
            escape(&err.dir_name),
            escape(&err.requested)
        );
    }
    if !err.excerpt.is_empty() {
        body.push_str("<pre class=\"source\">");
        for (n, text) in &err.excerpt {
            let class = if Some(*n) == err.line {
                " class=\"hit\""
            } else {
                ""
            };
            let _ = writeln!(body, "<span{class}>{n:>4} | {}</span>", escape(text));
        }
        body.push_str("</pre>\n");
    }
    page(&body)
}

/// The page for templates or data files that cannot be loaded at all.
pub fn site_error_page(err: &SiteError) -> String {
    page(&format!(
        "<h1>Site error</h1>\n<p class=\"what\">{}</p>\n",
        escape(&err.to_string())
    ))
}

fn page(body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Template error — carafe --dev</title><style>\
         body{{font-family:system-ui,sans-serif;max-width:60rem;margin:3rem auto;padding:0 1rem}}\
         h1{{color:#b3261e}} pre{{background:#f6f6f6;padding:1rem;overflow:auto}}\
         .hit{{background:#ffd7d5}} .note{{color:#555}}</style></head>\n<body>\n{body}\
         <p class=\"note\">carafe development mode: this page reloads by itself when the file is \
         saved. In production the visitor sees the 500 page and the log gets one line.</p>\n\
         </body></html>\n"
    )
}

/// HTML-escapes text for element content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_file_line_expression_and_escaped_source() {
        let err = TemplateError {
            dir_name: "templates".into(),
            name: "page.html".into(),
            requested: "page.html".into(),
            line: Some(3),
            kind: "undefined value".into(),
            detail: None,
            expression: Some("user.nmae".into()),
            excerpt: vec![(2, "<p>".into()), (3, "{{ user.nmae }}".into())],
        };
        let page = template_error_page(&err);
        assert!(page.contains("templates/page.html line 3"), "{page}");
        assert!(page.contains("<code class=\"expr\">user.nmae</code>"));
        assert!(page.contains("   2 | &lt;p&gt;"));
        assert!(page.contains("<span class=\"hit\">   3 | {{ user.nmae }}</span>"));
    }
}
