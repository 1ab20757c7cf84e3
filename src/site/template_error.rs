//! A template that failed to compile or render, described for people: the file, the line, the
//! expression that failed and, for the development error page, the source around it.
//!
//! In production only [`TemplateError`]'s one-line `Display` is used, in the log; the browser
//! gets the 500 page. In development mode [`crate::dev::error_page`] shows all of it in the browser.

use std::fmt;
use std::path::Path;

/// Lines of source shown on each side of the failing line.
const EXCERPT_CONTEXT: usize = 3;

/// One failed template.
#[derive(Debug, Clone)]
pub struct TemplateError {
    /// The templates directory's own name (`templates`), shown before the file name.
    pub dir_name: String,
    /// The template where it failed, relative to the templates directory (a partial or a
    /// layout, not necessarily the page requested).
    pub name: String,
    /// The page template that was being rendered.
    pub requested: String,
    /// 1-based line in `name`, when known.
    pub line: Option<usize>,
    /// What went wrong (`undefined value`, `syntax error`, ...).
    pub kind: String,
    /// minijinja's detail, when there is one.
    pub detail: Option<String>,
    /// The source text of the failing expression (`user.nmae`), when minijinja knows its span.
    pub expression: Option<String>,
    /// Numbered source lines around `line`.
    pub excerpt: Vec<(usize, String)>,
}

impl TemplateError {
    /// Describes `err`, raised while rendering `requested` from the templates in `dir`.
    /// `source` is the failing template's compiled source when there is one; otherwise (a
    /// syntax error) the file is read from disk, only on this error path.
    pub fn new(dir: &Path, requested: &str, err: &minijinja::Error, source: Option<&str>) -> Self {
        let name = err.name().unwrap_or(requested).to_string();
        // SECURITY: `name` comes from minijinja's loader, which refuses `..` and absolute paths.
        let source = source
            .map(str::to_owned)
            .or_else(|| std::fs::read_to_string(dir.join(&name)).ok());
        let expression = match (&source, err.range()) {
            (Some(src), Some(range)) => src
                .get(range)
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty()),
            _ => None,
        };
        let excerpt = match (&source, err.line()) {
            (Some(src), Some(line)) => src
                .lines()
                .enumerate()
                .map(|(i, l)| (i + 1, l.to_string()))
                .filter(|(n, _)| n.abs_diff(line) <= EXCERPT_CONTEXT)
                .collect(),
            _ => Vec::new(),
        };
        let dir_name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or(super::TEMPLATES_DIR)
            .to_string();
        Self {
            dir_name,
            name,
            requested: requested.to_string(),
            line: err.line(),
            kind: err.kind().to_string(),
            detail: err.detail().map(str::to_owned),
            expression,
            excerpt,
        }
    }
}

impl fmt::Display for TemplateError {
    /// `templates/page.html line 3: undefined value: in `user.nmae``, on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.dir_name, self.name)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        write!(f, ": {}", self.kind)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        if let Some(expr) = &self.expression {
            write!(f, " (in `{expr}`)")?;
        }
        if self.requested != self.name {
            write!(f, " (rendering {})", self.requested)?;
        }
        Ok(())
    }
}

impl std::error::Error for TemplateError {}
