//! Templates: a minijinja environment over `templates/`, with the Flask-style globals
//! `url_for` and `static_url`, and the per-request `request` object.
//!
//! All templates are compiled at load time, so a syntax error stops `carafe serve` before it
//! binds, naming the file and line. minijinja's path loader refuses names with `..`, so a
//! template can never include a file outside `templates/`. Autoescaping follows the file
//! extension (`.html`, `.htm`, `.xml`), as Flask does.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use super::routes::RouteTable;
use super::static_files::StaticFiles;
use super::{STATIC_URL_PREFIX, SiteError};

/// Extensions of files under `templates/` that are compiled as templates.
const TEMPLATE_EXTENSIONS: [&str; 7] = ["html", "htm", "xml", "txt", "svg", "j2", "jinja"];

/// The request as templates see it (`{{ request.path }}`), like Flask's `request`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestInfo {
    /// `GET` or `HEAD` for pages.
    pub method: String,
    /// The decoded path.
    pub path: String,
    /// The raw query string, without `?`.
    pub query_string: String,
    /// Query arguments (the first value of each name), like Flask's `request.args`.
    pub args: BTreeMap<String, String>,
    /// `https` or `http`.
    pub scheme: String,
    /// The `Host` the client asked for.
    pub host: String,
    /// The client's address.
    pub remote_addr: String,
}

/// The compiled templates of a site.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Builds the environment for `dir` and compiles every template in `names`.
    pub(crate) fn load(
        dir: &Path,
        names: &[String],
        routes: Arc<RouteTable>,
        statics: StaticFiles,
    ) -> Result<Self, SiteError> {
        let mut env = Environment::new();
        env.set_loader(minijinja::path_loader(dir));
        env.set_formatter(flask_escape_formatter);
        env.add_function(
            "url_for",
            move |endpoint: &str, kwargs: Kwargs| -> Result<Value, Error> {
                let url = if endpoint == "static" {
                    let filename: String = kwargs.get("filename")?;
                    format!("{STATIC_URL_PREFIX}/{}", filename.trim_start_matches('/'))
                } else {
                    routes.url_of(endpoint).ok_or_else(|| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("url_for: no page named {endpoint:?} in templates/"),
                        )
                    })?
                };
                kwargs.assert_all_used()?;
                Ok(safe_url(&url))
            },
        );
        env.add_function("static_url", move |path: &str| {
            safe_url(&statics.versioned_url(path))
        });
        for name in names {
            if let Err(err) = env.get_template(name) {
                return Err(SiteError::Template(dir.join(name), err));
            }
        }
        Ok(Self { env })
    }

    /// Renders `name` with the request in the context.
    pub fn render(&self, name: &str, request: &RequestInfo) -> Result<String, Error> {
        let template = self.env.get_template(name)?;
        template.render(minijinja::context! { request => Value::from_serialize(request) })
    }

    /// Whether a template of this name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }
}

/// Autoescaping as Flask's Jinja2 (markupsafe) does it: `& < > " '` only. minijinja's default
/// also escapes `/`, which turns every printed path into `&#x2f;static&#x2f;...`: valid, but
/// not what a Flask user expects to see in the page source.
fn flask_escape_formatter(
    out: &mut minijinja::Output<'_>,
    state: &minijinja::State<'_, '_>,
    value: &Value,
) -> Result<(), Error> {
    match (state.auto_escape(), value.as_str()) {
        (minijinja::AutoEscape::Html, Some(text)) if !value.is_safe() => {
            let mut last = 0;
            for (i, b) in text.bytes().enumerate() {
                let entity = match b {
                    b'&' => "&amp;",
                    b'<' => "&lt;",
                    b'>' => "&gt;",
                    b'"' => "&#34;",
                    b'\'' => "&#39;",
                    _ => continue,
                };
                out.write_str(&text[last..i])
                    .and_then(|()| out.write_str(entity))
                    .map_err(Error::from)?;
                last = i + 1;
            }
            out.write_str(&text[last..]).map_err(Error::from)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// Characters percent-encoded in URLs that templates build, which also makes them safe to
/// insert into HTML attributes unescaped (no quotes, `<`, `>` or `&` remain).
const URL_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'\'')
    .add(b'<')
    .add(b'>')
    .add(b'&')
    .add(b'`')
    .add(b'\\')
    .add(b'{')
    .add(b'}')
    .add(b'#');

/// A URL built by carafe, percent-encoded and marked safe, so autoescaping does not turn
/// `/static/css/site.css` into `&#x2f;static&#x2f;...` (Flask's markupsafe leaves `/` alone).
/// `?` and `=` are kept: only carafe's own `?v=` version uses them.
fn safe_url(url: &str) -> Value {
    let (path, query) = url
        .split_once('?')
        .map_or((url, None), |(p, q)| (p, Some(q)));
    let mut out: String = utf8_percent_encode(path, URL_ESCAPE).collect();
    if let Some(q) = query {
        out.push('?');
        out.extend(utf8_percent_encode(q, URL_ESCAPE));
    }
    Value::from_safe_string(out)
}

/// One line naming the file, the line and what is wrong, for a user to act on.
pub fn describe_error(file: &Path, err: &Error) -> String {
    let name = err
        .name()
        .map(PathBuf::from)
        .unwrap_or_else(|| file.to_path_buf());
    let shown = if name.is_absolute() {
        name
    } else {
        Path::new(super::TEMPLATES_DIR).join(name)
    };
    match (err.line(), err.detail()) {
        (Some(line), Some(detail)) => {
            format!("{} line {line}: {}: {detail}", shown.display(), err.kind())
        }
        (Some(line), None) => format!("{} line {line}: {}", shown.display(), err.kind()),
        _ => format!("{}: {err}", shown.display()),
    }
}

/// Lists template files under `dir` as `/`-separated names, sorted. A missing directory is an
/// empty list (a static-only site).
pub(crate) fn list_templates(dir: &Path) -> Result<Vec<String>, SiteError> {
    let mut names = Vec::new();
    if dir.is_dir() {
        walk(dir, "", &mut names)?;
    }
    names.sort();
    Ok(names)
}

fn walk(dir: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), SiteError> {
    let io = |cause| SiteError::Io {
        path: dir.to_path_buf(),
        cause,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(path = %entry.path().display(), "skipping template with a non-UTF-8 name");
            continue;
        };
        if file_name.starts_with('.') {
            continue;
        }
        let name = format!("{prefix}{file_name}");
        let path = entry.path();
        if path.is_dir() {
            walk(&path, &format!("{name}/"), out)?;
        } else if Path::new(&file_name)
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| TEMPLATE_EXTENSIONS.contains(&e))
        {
            out.push(name);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_flask() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(
            tmp.path().join("p.html"),
            "{{ request.path }}|{{ request.host }}",
        )
        .unwrap();
        std::fs::write(tmp.path().join("p.txt"), "{{ request.host }}").unwrap();
        let names = vec!["p.html".to_string(), "p.txt".to_string()];
        let statics = StaticFiles::new(tmp.path().join("static"), "/static", Default::default());
        let t = Templates::load(tmp.path(), &names, Arc::default(), statics).unwrap();
        let info = RequestInfo {
            path: "/a/b".into(),
            host: "<x & 'y'\">".into(),
            ..Default::default()
        };
        assert_eq!(
            t.render("p.html", &info).unwrap(),
            "/a/b|&lt;x &amp; &#39;y&#39;&#34;&gt;"
        );
        assert_eq!(t.render("p.txt", &info).unwrap(), "<x & 'y'\">");
    }
}
