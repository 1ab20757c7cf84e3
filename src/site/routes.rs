//! The page table: which template a URL path renders. Pure — built from a list of template
//! names, tested without sockets or files.
//!
//! Conventions (DESIGN §2): `templates/<name>.html` renders at `/<name>`, `index.html` at the
//! directory's URL (`/`, `/docs/`); `/<name>.html` redirects (308) to `/<name>`; `/docs`
//! redirects to `/docs/`; a file or directory whose name starts with `_` (layouts, partials) is
//! never routable, nor is a dotfile; `404.html` and `500.html` at the top are the error pages,
//! not pages.

use std::collections::HashMap;

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

/// Characters escaped when a page path goes back into a `Location` header.
const PATH_ESCAPE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Templates at the top of `templates/` that render error responses, never pages.
const ERROR_PAGES: [&str; 2] = ["404.html", "500.html"];

/// What a request path means for the page half of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Render this template (its name relative to `templates/`).
    Page(String),
    /// Redirect permanently (308) to this path-absolute location.
    Redirect(String),
    /// No page here.
    NotFound,
}

/// URL path → template name.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    pages: HashMap<String, String>,
}

impl RouteTable {
    /// Builds the table from template names relative to `templates/`, with `/` separators.
    pub fn from_templates<I, S>(names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut pages = HashMap::new();
        for name in names {
            let name = name.as_ref();
            if let Some(url) = page_url(name) {
                pages.insert(url, name.to_string());
            }
        }
        Self { pages }
    }

    /// Adds an explicit route (`[routes] "/join" = "signup.html"`), replacing any convention.
    pub fn insert(&mut self, url: impl Into<String>, template: impl Into<String>) {
        self.pages.insert(url.into(), template.into());
    }

    /// The URL of a page template, if it is routable (used by `url_for('<page>')`).
    pub fn url_of(&self, endpoint: &str) -> Option<String> {
        let wanted = if endpoint.ends_with(".html") {
            endpoint.to_string()
        } else {
            format!("{endpoint}.html")
        };
        page_url(&wanted).filter(|url| self.pages.contains_key(url))
    }

    /// Number of routable pages.
    pub fn len(&self) -> usize {
        self.pages.len()
    }

    /// Whether there are no pages at all.
    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }

    /// Resolves a percent-decoded request path; `query` is the raw query string, kept on
    /// redirects.
    pub fn resolve(&self, path: &str, query: Option<&str>) -> Resolution {
        if let Some(template) = self.pages.get(path) {
            return Resolution::Page(template.clone());
        }
        let redirect = |target: &str| {
            let mut location = utf8_percent_encode(target, PATH_ESCAPE).to_string();
            if let Some(q) = query {
                location.push('?');
                location.push_str(q);
            }
            Resolution::Redirect(location)
        };
        if let Some(stem) = path.strip_suffix(".html") {
            let target = stem.strip_suffix("index").unwrap_or(stem);
            let target = if target.ends_with('/') {
                target.to_string()
            } else {
                stem.to_string()
            };
            if self.pages.contains_key(&target) {
                return redirect(&target);
            }
        }
        if !path.ends_with('/') {
            let with_slash = format!("{path}/");
            if self.pages.contains_key(&with_slash) {
                return redirect(&with_slash);
            }
        }
        Resolution::NotFound
    }
}

/// The URL a template renders at, or `None` when it is not a page.
fn page_url(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".html")?;
    if ERROR_PAGES.contains(&name)
        || name
            .split('/')
            .any(|seg| seg.is_empty() || seg.starts_with('_') || seg.starts_with('.'))
    {
        return None;
    }
    Some(match stem.strip_suffix("index") {
        Some(dir) if dir.is_empty() || dir.ends_with('/') => format!("/{dir}"),
        _ => format!("/{stem}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> RouteTable {
        RouteTable::from_templates([
            "_base.html",
            "index.html",
            "signup.html",
            "404.html",
            "500.html",
            "docs/index.html",
            "docs/install.html",
            "_partials/nav.html",
            "blog/_draft.html",
            ".hidden.html",
            "feed.xml",
            "my page.html",
        ])
    }

    #[test]
    fn resolves_conventional_pages() {
        let t = table();
        let cases = [
            ("/", Resolution::Page("index.html".into())),
            ("/signup", Resolution::Page("signup.html".into())),
            ("/docs/", Resolution::Page("docs/index.html".into())),
            (
                "/docs/install",
                Resolution::Page("docs/install.html".into()),
            ),
            ("/my page", Resolution::Page("my page.html".into())),
        ];
        for (path, want) in cases {
            assert_eq!(t.resolve(path, None), want, "{path}");
        }
    }

    #[test]
    fn redirects_html_suffix_and_directories_keeping_query() {
        let t = table();
        let cases = [
            ("/signup.html", None, "/signup"),
            ("/signup.html", Some("a=1"), "/signup?a=1"),
            ("/index.html", None, "/"),
            ("/docs/index.html", None, "/docs/"),
            ("/docs", Some("v=1"), "/docs/?v=1"),
            ("/docs/install.html", None, "/docs/install"),
            ("/my page.html", None, "/my%20page"),
        ];
        for (path, query, want) in cases {
            assert_eq!(
                t.resolve(path, query),
                Resolution::Redirect(want.into()),
                "{path}"
            );
        }
    }

    #[test]
    fn never_routes_partials_dotfiles_error_pages_or_other_types() {
        let t = table();
        for path in [
            "/_base",
            "/_base.html",
            "/_partials/nav",
            "/blog/_draft",
            "/.hidden",
            "/404",
            "/500",
            "/feed",
            "/feed.xml",
            "/missing",
            "/signup/",
            "//signup",
        ] {
            assert_eq!(t.resolve(path, None), Resolution::NotFound, "{path}");
        }
        assert_eq!(t.len(), 5);
    }

    #[test]
    fn url_of_knows_routable_pages_only() {
        let t = table();
        assert_eq!(t.url_of("signup").as_deref(), Some("/signup"));
        assert_eq!(t.url_of("index").as_deref(), Some("/"));
        assert_eq!(t.url_of("docs/index").as_deref(), Some("/docs/"));
        assert_eq!(t.url_of("_base"), None);
        assert_eq!(t.url_of("nope"), None);
    }

    #[test]
    fn explicit_routes_override() {
        let mut t = table();
        t.insert("/join", "signup.html");
        assert_eq!(
            t.resolve("/join", None),
            Resolution::Page("signup.html".into())
        );
    }
}
