//! Templates: a minijinja environment over `templates/` with the context of DESIGN §2 —
//! `request`, `url_for`, `static_url`, `config` (carafe.toml `[context]`), `env` (allow-listed
//! environment variables) and `data` (data files).
//!
//! All templates are compiled at load time, so a syntax error stops `carafe serve` before it
//! binds, naming the file and line. In development mode ([`TemplateOptions::reload`]) every
//! render builds a fresh environment instead, so edits, renames, deletions and new pages show
//! on the next request; minijinja's own cache never holds a stale template. minijinja's path
//! loader refuses names with `..`, so a template can never include a file outside `templates/`.
//! Autoescaping follows the file extension (`.html`, `.htm`, `.xml`, `.svg`), as Flask does.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use bytes::Bytes;

use minijinja::value::{Enumerator, Kwargs, Object, ObjectRepr, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use super::SiteError;
use super::routes::RouteTable;
use super::static_files::StaticFiles;
use super::template_error::TemplateError;

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
    /// `https` or `http`, as the client used it (through trusted proxies).
    pub scheme: String,
    /// The host the client asked for (`X-Forwarded-Host` from a trusted proxy, else `Host`).
    pub host: String,
    /// The client's address (through trusted proxies).
    pub remote_addr: String,
    /// The request id (`X-Request-Id`, kept or made).
    pub id: String,
}

/// What templates get besides the request, and how they are loaded.
#[derive(Debug, Clone, Default)]
pub struct TemplateOptions {
    /// Fail on any use of an undefined variable (`[site] strict_undefined`, `--strict`).
    /// Otherwise undefined values print as nothing, iterate as empty and are false, as in
    /// Jinja2 (attribute access on an undefined value is an error in both modes).
    pub strict_undefined: bool,
    /// Development mode: read templates and data files from disk on every render, so changes
    /// show without a restart. Otherwise everything is compiled once at load.
    pub reload: bool,
    /// `config`: the `[context]` table of carafe.toml.
    pub config: BTreeMap<String, serde_json::Value>,
    /// `env`: the allow-listed environment variables that are set.
    pub env: BTreeMap<String, String>,
    /// Explicit routes (`[routes] "/join" = "signup.html"`), URL path → template.
    pub routes: Vec<(String, String)>,
    /// The data directory (`data/` in the root); `None` for no data files.
    pub data_dir: Option<PathBuf>,
}

/// A template environment and the page table it was built with. In production there is one,
/// made at load; in development mode one per request.
#[derive(Debug)]
pub struct Snapshot {
    env: Environment<'static>,
    routes: Arc<RouteTable>,
    dir: PathBuf,
    /// The static files `static_url` reads (their generation dates a memoised page).
    statics: StaticFiles,
    /// Pages whose output did not depend on the request, by template name: served again
    /// without rendering (see [`Snapshot::render_page`]). Only in the snapshot made at load.
    memo: Option<RwLock<HashMap<String, Memo>>>,
}

/// A page's output and the static-files generation it was rendered in.
#[derive(Debug)]
struct Memo {
    generation: u64,
    body: Bytes,
}

impl Snapshot {
    /// The page table.
    pub fn routes(&self) -> &Arc<RouteTable> {
        &self.routes
    }

    /// Renders `name` with the request and `extra` (a handler's context) in the context.
    pub fn render(
        &self,
        name: &str,
        request: &RequestInfo,
        extra: Value,
    ) -> Result<String, Box<TemplateError>> {
        self.render_with(name, Value::from_serialize(request), extra)
    }

    fn render_with(
        &self,
        name: &str,
        request: Value,
        extra: Value,
    ) -> Result<String, Box<TemplateError>> {
        let render = || {
            let template = self.env.get_template(name)?;
            template.render(minijinja::context! {
                request => request,
                ..extra
            })
        };
        render().map_err(|err| {
            // The source the template was compiled from, so the excerpt matches the error even
            // if the file changed since (or is gone).
            let failed = err.name().unwrap_or(name);
            let template = self.env.get_template(failed).ok();
            let source = template.as_ref().map(|t| t.source());
            Box::new(TemplateError::new(&self.dir, name, &err, source))
        })
    }

    /// A page's output from an earlier render, if it did not depend on the request and the
    /// static files have not changed since.
    pub fn memoized(&self, name: &str) -> Option<Bytes> {
        let memo = self.memo.as_ref()?;
        let generation = self.statics.generation()?;
        let memo = memo.read().unwrap_or_else(PoisonError::into_inner);
        let page = memo.get(name)?;
        (page.generation == generation).then(|| page.body.clone())
    }

    /// Renders the page `name` for `request`, and remembers the output when the render never
    /// looked at `request`: everything else a page sees (templates, `config`, `env`, `data`,
    /// `url_for`) is fixed for the life of this snapshot, and `static_url` only changes with
    /// the static files' generation, which the memo records. A page that reads the request at
    /// all (`request.args`, even under a false `if`) is rendered every time.
    pub fn render_page(
        &self,
        name: &str,
        request: &RequestInfo,
    ) -> Result<Bytes, Box<TemplateError>> {
        let generation = self.statics.generation();
        let tracked = Arc::new(TrackedRequest {
            info: request.clone(),
            read: AtomicBool::new(false),
        });
        let body = Bytes::from(self.render_with(
            name,
            Value::from_dyn_object(tracked.clone()),
            Value::UNDEFINED,
        )?);
        if let (Some(memo), Some(generation)) = (&self.memo, generation)
            && !tracked.read.load(Ordering::Relaxed)
        {
            memo.write().unwrap_or_else(PoisonError::into_inner).insert(
                name.to_string(),
                Memo {
                    generation,
                    body: body.clone(),
                },
            );
        }
        Ok(body)
    }

    /// Whether a template of this name exists (and compiles).
    pub fn exists(&self, name: &str) -> bool {
        self.env.get_template(name).is_ok()
    }
}

/// `request` as a page sees it, noting whether the page looked at it at all.
#[derive(Debug)]
struct TrackedRequest {
    info: RequestInfo,
    read: AtomicBool,
}

impl TrackedRequest {
    const FIELDS: &'static [&'static str] = &[
        "method",
        "path",
        "query_string",
        "args",
        "scheme",
        "host",
        "remote_addr",
        "id",
    ];
}

impl Object for TrackedRequest {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.read.store(true, Ordering::Relaxed);
        let i = &self.info;
        Some(match key.as_str()? {
            "method" => Value::from(i.method.as_str()),
            "path" => Value::from(i.path.as_str()),
            "query_string" => Value::from(i.query_string.as_str()),
            "args" => Value::from_serialize(&i.args),
            "scheme" => Value::from(i.scheme.as_str()),
            "host" => Value::from(i.host.as_str()),
            "remote_addr" => Value::from(i.remote_addr.as_str()),
            "id" => Value::from(i.id.as_str()),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        self.read.store(true, Ordering::Relaxed);
        Enumerator::Str(Self::FIELDS)
    }
}

/// The templates of a site: compiled once, or reloaded per request in development mode.
#[derive(Debug, Clone)]
pub struct Templates {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    dir: PathBuf,
    statics: StaticFiles,
    options: TemplateOptions,
    /// Built at load, every template compiled.
    compiled: Arc<Snapshot>,
}

impl Templates {
    /// Builds the environment for `dir` and compiles every template in it, so a syntax error
    /// or a bad data file stops startup.
    pub(crate) fn load(
        dir: &Path,
        statics: StaticFiles,
        options: TemplateOptions,
    ) -> Result<Self, SiteError> {
        let compiled = Arc::new(build(dir, &statics, &options, true)?);
        Ok(Self {
            inner: Arc::new(Inner {
                dir: dir.to_path_buf(),
                statics,
                options,
                compiled,
            }),
        })
    }

    /// The environment to render with: the one compiled at load, or, in development mode, a
    /// fresh one reading the files as they are now.
    pub fn snapshot(&self) -> Result<Arc<Snapshot>, SiteError> {
        let i = &self.inner;
        if i.options.reload {
            build(&i.dir, &i.statics, &i.options, false).map(Arc::new)
        } else {
            Ok(i.compiled.clone())
        }
    }

    /// The snapshot made at load (its page table is the one printed at start).
    pub fn compiled(&self) -> &Arc<Snapshot> {
        &self.inner.compiled
    }

    /// Whether templates are read from disk per render (development mode).
    pub fn reloads(&self) -> bool {
        self.inner.options.reload
    }

    /// The templates directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

/// Makes an environment over `dir` with carafe's globals; with `compile_all`, compiles every
/// template now.
fn build(
    dir: &Path,
    statics: &StaticFiles,
    options: &TemplateOptions,
    compile_all: bool,
) -> Result<Snapshot, SiteError> {
    let names = list_templates(dir)?;
    let mut table = RouteTable::from_templates(names.iter().filter(|n| n.ends_with(".html")));
    for (url, template) in &options.routes {
        table.insert(url.clone(), template.clone());
    }
    let routes = Arc::new(table);
    let data = match &options.data_dir {
        Some(data_dir) => super::data::load_data(data_dir)?,
        None => BTreeMap::new(),
    };

    let mut env = Environment::new();
    // SECURITY: the path loader refuses `..` and absolute names, so templates cannot read
    // files outside the templates directory.
    env.set_loader(minijinja::path_loader(dir));
    env.set_formatter(flask_escape_formatter);
    env.set_auto_escape_callback(auto_escape_for);
    env.set_undefined_behavior(if options.strict_undefined {
        UndefinedBehavior::Strict
    } else {
        UndefinedBehavior::Lenient
    });
    env.add_global("config", Value::from_serialize(&options.config));
    env.add_global("env", Value::from_serialize(&options.env));
    env.add_global("data", Value::from_serialize(&data));
    let static_prefix = statics.url_prefix().to_string();
    let url_routes = routes.clone();
    env.add_function(
        "url_for",
        move |endpoint: &str, kwargs: Kwargs| -> Result<Value, Error> {
            let url = if endpoint == "static" {
                let filename: String = kwargs.get("filename")?;
                format!("{static_prefix}/{}", filename.trim_start_matches('/'))
            } else {
                url_routes.url_of(endpoint).ok_or_else(|| {
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
    let static_files = statics.clone();
    env.add_function("static_url", move |path: &str| {
        safe_url(&static_files.versioned_url(path))
    });
    if compile_all {
        for name in &names {
            if let Err(err) = env.get_template(name) {
                return Err(SiteError::Template(Box::new(TemplateError::new(
                    dir, name, &err, None,
                ))));
            }
        }
    }
    Ok(Snapshot {
        env,
        routes,
        dir: dir.to_path_buf(),
        statics: statics.clone(),
        // The snapshot made at load lives as long as the site; development mode makes one per
        // request, which would never be asked twice.
        memo: compile_all.then(RwLock::default),
    })
}

/// HTML autoescaping for `.html`, `.htm`, `.xml` and `.svg` templates (Flask's list plus SVG,
/// which is XML); none for `.txt` and the rest.
fn auto_escape_for(name: &str) -> AutoEscape {
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" | "htm" | "xml" | "svg" => AutoEscape::Html,
        _ => AutoEscape::None,
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

    /// The templates compiled from `files`; the directory is gone by the time they render,
    /// which also shows that production mode never reads a template twice.
    fn templates(files: &[(&str, &str)], options: TemplateOptions) -> Templates {
        let tmp = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let statics = StaticFiles::new(tmp.path().join("static"), "/static", Default::default());
        Templates::load(tmp.path(), statics, options).unwrap()
    }

    fn render(t: &Templates, name: &str, info: &RequestInfo) -> Result<String, Box<TemplateError>> {
        t.snapshot().unwrap().render(name, info, Value::UNDEFINED)
    }

    #[test]
    fn escapes_like_flask() {
        let t = templates(
            &[
                ("p.html", "{{ request.path }}|{{ request.host }}"),
                ("p.svg", "{{ request.host }}"),
                ("p.txt", "{{ request.host }}"),
            ],
            TemplateOptions::default(),
        );
        let info = RequestInfo {
            path: "/a/b".into(),
            host: "<x & 'y'\">".into(),
            ..Default::default()
        };
        assert_eq!(
            render(&t, "p.html", &info).unwrap(),
            "/a/b|&lt;x &amp; &#39;y&#39;&#34;&gt;"
        );
        assert_eq!(
            render(&t, "p.svg", &info).unwrap(),
            "&lt;x &amp; &#39;y&#39;&#34;&gt;"
        );
        assert_eq!(render(&t, "p.txt", &info).unwrap(), "<x & 'y'\">");
    }

    #[test]
    fn undefined_is_lenient_by_default_and_an_error_when_strict() {
        let files = [("p.html", "[{{ missing }}]{% if flag %}x{% endif %}")];
        let lenient = templates(&files, TemplateOptions::default());
        assert_eq!(
            render(&lenient, "p.html", &RequestInfo::default()).unwrap(),
            "[]"
        );
        let strict = templates(
            &files,
            TemplateOptions {
                strict_undefined: true,
                ..Default::default()
            },
        );
        let err = render(&strict, "p.html", &RequestInfo::default()).unwrap_err();
        assert_eq!(err.expression.as_deref(), Some("missing"));
    }

    #[tokio::test]
    async fn pages_that_ignore_the_request_are_memoised_until_a_static_file_changes() {
        let tmp = tempfile::tempdir().unwrap();
        let static_dir = tmp.path().join("static");
        std::fs::create_dir(&static_dir).unwrap();
        std::fs::write(static_dir.join("app.js"), "one").unwrap();
        let templates_dir = tmp.path().join("templates");
        std::fs::create_dir(&templates_dir).unwrap();
        for (name, text) in [
            (
                "fixed.html",
                "<script src=\"{{ static_url('app.js') }}\"></script>",
            ),
            (
                "asks.html",
                "{% if request.args.q %}q={{ request.args.q }}{% else %}none{% endif %}",
            ),
            ("prints.html", "{% for k in request %}{{ k }} {% endfor %}"),
        ] {
            std::fs::write(templates_dir.join(name), text).unwrap();
        }
        let statics = StaticFiles::new(static_dir.clone(), "/static", Default::default());
        let t =
            Templates::load(&templates_dir, statics.clone(), TemplateOptions::default()).unwrap();
        let snapshot = t.snapshot().unwrap();
        let info = RequestInfo::default();

        assert!(snapshot.memoized("fixed.html").is_none());
        let first = snapshot.render_page("fixed.html", &info).unwrap();
        assert_eq!(snapshot.memoized("fixed.html"), Some(first.clone()));

        // The request is read (even under a false `if`): never memoised.
        assert_eq!(
            &snapshot.render_page("asks.html", &info).unwrap()[..],
            b"none"
        );
        assert!(snapshot.memoized("asks.html").is_none());
        let asked = RequestInfo {
            args: [("q".to_string(), "x".to_string())].into(),
            ..Default::default()
        };
        assert_eq!(
            &snapshot.render_page("asks.html", &asked).unwrap()[..],
            b"q=x"
        );
        snapshot.render_page("prints.html", &info).unwrap();
        assert!(snapshot.memoized("prints.html").is_none());

        // A changed static file changes its static_url: the memo is stale from the event on.
        let before = statics.generation();
        std::fs::write(static_dir.join("app.js"), "two").unwrap();
        for _ in 0..200 {
            if statics.generation() != before {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_ne!(statics.generation(), before, "the watch saw the change");
        assert!(snapshot.memoized("fixed.html").is_none());
        let second = snapshot.render_page("fixed.html", &info).unwrap();
        assert_ne!(first, second, "{first:?}");
        assert_eq!(snapshot.memoized("fixed.html"), Some(second));
    }
}
