//! Where the local CA lives, and the names of its files.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::{
    CaError, INTERMEDIATE_CERT_FILE, INTERMEDIATE_KEY_FILE, ROOT_CERT_FILE, ROOT_KEY_FILE,
};

/// Where the CA lives: `$CARAFE_CA_DIR`, else `$XDG_DATA_HOME/carafe/ca`, else
/// `~/.local/share/carafe/ca` (the XDG default).
pub fn default_dir() -> Result<PathBuf, CaError> {
    dir_from(|name| std::env::var_os(name)).ok_or(CaError::NoDataDir)
}

/// [`default_dir`] over any environment; relative XDG and HOME values are ignored, as the XDG
/// Base Directory spec requires.
fn dir_from(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set("CARAFE_CA_DIR") {
        return Some(dir);
    }
    if let Some(data) = set("XDG_DATA_HOME").filter(|p| p.is_absolute()) {
        return Some(data.join("carafe/ca"));
    }
    set("HOME")
        .filter(|p| p.is_absolute())
        .map(|home| home.join(".local/share/carafe/ca"))
}

/// The four files of a CA directory.
#[derive(Debug, Clone)]
pub struct CaPaths {
    /// The directory.
    pub dir: PathBuf,
    /// [`ROOT_CERT_FILE`].
    pub root_cert: PathBuf,
    /// [`ROOT_KEY_FILE`].
    pub root_key: PathBuf,
    /// [`INTERMEDIATE_CERT_FILE`].
    pub intermediate_cert: PathBuf,
    /// [`INTERMEDIATE_KEY_FILE`].
    pub intermediate_key: PathBuf,
}

impl CaPaths {
    /// The files in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            root_cert: dir.join(ROOT_CERT_FILE),
            root_key: dir.join(ROOT_KEY_FILE),
            intermediate_cert: dir.join(INTERMEDIATE_CERT_FILE),
            intermediate_key: dir.join(INTERMEDIATE_KEY_FILE),
        }
    }

    pub(super) fn all(&self) -> [&Path; 4] {
        [
            &self.root_cert,
            &self.root_key,
            &self.intermediate_cert,
            &self.intermediate_key,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_dir_follows_carafe_then_xdg_then_home() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| OsString::from(v))
            }
        };
        const ALL: &[(&str, &str)] = &[
            ("CARAFE_CA_DIR", "/ca"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(dir_from(env(ALL)), Some(PathBuf::from("/ca")));
        assert_eq!(
            dir_from(env(&[("XDG_DATA_HOME", "/xdg"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/xdg/carafe/ca"))
        );
        assert_eq!(
            dir_from(env(&[("XDG_DATA_HOME", "rel"), ("HOME", "/home/u")])),
            Some(PathBuf::from("/home/u/.local/share/carafe/ca"))
        );
        assert_eq!(dir_from(env(&[("CARAFE_CA_DIR", "")])), None);
    }
}
