//! Data files: `data/*.json`, `data/*.toml`, `data/*.yaml` (or `.yml`) become `data.<stem>` in
//! every template (DESIGN §2), like a static site generator's data directory. Read at start in
//! production, on every render in development mode.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a data file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The directory or file is unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file does not parse.
    #[error("{}: {message}; fix the file or move it out of the data directory", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said, on one line.
        message: String,
    },
    /// Two files have the same stem (`users.json` and `users.yaml`).
    #[error("{} and {} both define data.{stem}; keep one", first.display(), second.display())]
    Duplicate {
        /// The stem.
        stem: String,
        /// The first file.
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
}

/// Reads every data file directly in `dir` (a missing directory is no data) into a mapping
/// from stem to value.
pub fn load_data(dir: &Path) -> Result<BTreeMap<String, serde_json::Value>, DataError> {
    let mut data = BTreeMap::new();
    let mut origin: BTreeMap<String, PathBuf> = BTreeMap::new();
    if !dir.is_dir() {
        return Ok(data);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DataError::Io { path, source }
    };
    let mut entries = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io(dir))?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        let (Some(stem), Some(ext)) = (
            path.file_stem().and_then(|s| s.to_str()),
            path.extension().and_then(|e| e.to_str()),
        ) else {
            continue;
        };
        if stem.starts_with('.') || !path.is_file() {
            continue;
        }
        let parse: fn(&str) -> Result<serde_json::Value, String> = match ext {
            "json" => |t| serde_json::from_str(t).map_err(|e| e.to_string()),
            "toml" => |t| toml::from_str(t).map_err(|e| e.to_string()),
            "yaml" | "yml" => |t| serde_norway::from_str(t).map_err(|e| e.to_string()),
            _ => continue,
        };
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let value = parse(&text).map_err(|message| DataError::Parse {
            path: path.clone(),
            message: message.trim().replace('\n', " "),
        })?;
        if let Some(first) = origin.insert(stem.to_string(), path.clone()) {
            return Err(DataError::Duplicate {
                stem: stem.to_string(),
                first,
                second: path,
            });
        }
        data.insert(stem.to_string(), value);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_toml_and_yaml_by_stem() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("team.json"), r#"[{"name": "Ana"}]"#).unwrap();
        std::fs::write(d.join("site.toml"), "title = \"Carafe\"\n").unwrap();
        std::fs::write(d.join("nav.yaml"), "- home\n- signup\n").unwrap();
        std::fs::write(d.join("notes.txt"), "ignored").unwrap();
        let data = load_data(d).unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["nav", "site", "team"]);
        assert_eq!(data["team"][0]["name"], "Ana");
        assert_eq!(data["site"]["title"], "Carafe");
        assert_eq!(data["nav"][1], "signup");
    }

    #[test]
    fn bad_and_duplicate_files_are_errors_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("a.json"), "{nope").unwrap();
        let err = load_data(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("a.json: key must be a string"), "{err}");
        std::fs::write(tmp.path().join("a.json"), "{}").unwrap();
        std::fs::write(tmp.path().join("a.yml"), "x: 1").unwrap();
        let err = load_data(tmp.path()).unwrap_err().to_string();
        assert!(err.contains("both define data.a"), "{err}");
        assert!(load_data(&tmp.path().join("missing")).unwrap().is_empty());
    }
}
