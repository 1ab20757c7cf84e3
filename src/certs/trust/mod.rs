//! `carafe cert trust` / `untrust`: the local CA's root into (and out of) the trust stores that
//! carafe can change itself — the Linux system store (Debian/Ubuntu, Fedora/RHEL) and every NSS
//! database (Chromium on Linux, Firefox) — and the exact commands for the ones it cannot
//! (macOS, Windows, the Windows side of WSL, NSS without `certutil`).
//!
//! Each store is one [`Step`] whose [`Outcome`] says what was done or what the user must do, so
//! the command prints a line per store and fails only when a step that should have worked did
//! not.
//!
//! Overrides (tests use them; they also suit distributions carafe does not know):
//! `CARAFE_TRUST_DIR` replaces the system anchor directory, `CARAFE_TRUST_UPDATE` the command
//! run after a change (empty: none; with `CARAFE_TRUST_DIR` and no `CARAFE_TRUST_UPDATE`,
//! none), `CARAFE_CERTUTIL` the NSS `certutil` program, and `CARAFE_TRUST_PLATFORM`
//! (`linux`, `wsl`, `macos`, `windows`) the platform.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

mod manual;
mod nss;
mod system;

use super::ca::LocalCa;

pub use nss::nss_databases;
use system::failed;

/// Where the machine's trust decisions live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Linux (or another Unix with the same stores).
    Linux,
    /// Linux under Windows Subsystem for Linux: Linux stores here, Windows browsers there.
    Wsl,
    /// macOS: the System keychain.
    MacOs,
    /// Windows: the certificate store.
    Windows,
}

/// A system anchor directory and the command that rebuilds the bundle from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemStore {
    /// Where the root's PEM goes.
    pub dir: PathBuf,
    /// Program and arguments to run after adding or removing it.
    pub update: Option<Vec<String>>,
}

/// Everything trust/untrust look at, gathered once (so tests can point it at temp dirs).
#[derive(Debug, Clone)]
pub struct TrustEnv {
    /// The platform.
    pub platform: Platform,
    /// The system store, when carafe knows this system's.
    pub system: Option<SystemStore>,
    /// The home directory searched for NSS databases.
    pub home: Option<PathBuf>,
    /// `certutil`, when installed.
    pub certutil: Option<PathBuf>,
}

/// What happened to one store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Changed as asked.
    Done(String),
    /// Already as asked; nothing changed.
    Unchanged(String),
    /// Nothing for carafe to do here (no such store).
    Skipped(String),
    /// carafe cannot do it here; the user runs these commands.
    Manual {
        /// Why, and for what.
        why: String,
        /// The exact commands.
        commands: Vec<String>,
    },
    /// It should have worked and did not; with commands that fix or finish it.
    Failed {
        /// One line: what went wrong and what to do.
        error: String,
        /// Commands to run instead.
        commands: Vec<String>,
    },
}

/// One store and its outcome.
#[derive(Debug, Clone)]
pub struct Step {
    /// The store, e.g. `system store /usr/local/share/ca-certificates`.
    pub store: String,
    /// What happened.
    pub outcome: Outcome,
}

impl TrustEnv {
    /// The environment of this process.
    pub fn detect() -> Self {
        Self::from_env(|name| std::env::var_os(name))
    }

    /// [`TrustEnv::detect`] over any environment (the file system is still the real one).
    pub fn from_env(env: impl Fn(&str) -> Option<OsString>) -> Self {
        let text = |name: &str| env(name).map(|v| v.to_string_lossy().into_owned());
        let platform = match text("CARAFE_TRUST_PLATFORM").as_deref() {
            Some("linux") => Platform::Linux,
            Some("wsl") => Platform::Wsl,
            Some("macos") => Platform::MacOs,
            Some("windows") => Platform::Windows,
            _ if cfg!(target_os = "macos") => Platform::MacOs,
            _ if cfg!(windows) => Platform::Windows,
            _ if env("WSL_DISTRO_NAME").is_some() || is_wsl_kernel() => Platform::Wsl,
            _ => Platform::Linux,
        };
        let update_override = text("CARAFE_TRUST_UPDATE").map(|c| {
            let words: Vec<String> = c.split_whitespace().map(str::to_owned).collect();
            (!words.is_empty()).then_some(words)
        });
        let system = match text("CARAFE_TRUST_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => Some(SystemStore {
                dir: PathBuf::from(dir),
                update: update_override.flatten(),
            }),
            None => known_system_store().map(|mut store| {
                if let Some(update) = update_override {
                    store.update = update;
                }
                store
            }),
        };
        let certutil = env("CARAFE_CERTUTIL")
            .map(PathBuf::from)
            .or_else(|| on_path(&env, "certutil"));
        Self {
            platform,
            system,
            home: env("HOME").map(PathBuf::from).filter(|h| h.is_absolute()),
            certutil,
        }
    }
}

fn is_wsl_kernel() -> bool {
    fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|r| r.to_ascii_lowercase().contains("microsoft"))
}

/// Fedora/RHEL's anchors first (a Fedora box may also carry Debian's directory), then
/// Debian/Ubuntu's.
fn known_system_store() -> Option<SystemStore> {
    let fedora = Path::new("/etc/pki/ca-trust/source/anchors");
    if fedora.is_dir() {
        return Some(SystemStore {
            dir: fedora.to_path_buf(),
            update: Some(vec!["update-ca-trust".into(), "extract".into()]),
        });
    }
    let debian = Path::new("/usr/local/share/ca-certificates");
    if debian.is_dir() || Path::new("/usr/sbin/update-ca-certificates").exists() {
        return Some(SystemStore {
            dir: debian.to_path_buf(),
            update: Some(vec!["update-ca-certificates".into()]),
        });
    }
    None
}

fn on_path(env: &impl Fn(&str) -> Option<OsString>, program: &str) -> Option<PathBuf> {
    let path = env("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The file name of the root in a system anchor directory (`.crt`: Debian requires it).
pub fn system_file_name(ca: &LocalCa) -> String {
    format!("carafe-{}.crt", ca.id)
}

/// The root's nickname in NSS databases.
pub fn nss_nickname(ca: &LocalCa) -> String {
    format!("carafe local CA {}", ca.id)
}

/// Installs the root everywhere carafe can, and says how elsewhere.
pub fn trust(ca: &LocalCa, env: &TrustEnv) -> Vec<Step> {
    run(ca, env, true)
}

/// Removes the root from everywhere [`trust`] put it, and says how elsewhere.
pub fn untrust(ca: &LocalCa, env: &TrustEnv) -> Vec<Step> {
    run(ca, env, false)
}

fn run(ca: &LocalCa, env: &TrustEnv, add: bool) -> Vec<Step> {
    let mut steps = Vec::new();
    match env.platform {
        Platform::MacOs => steps.push(manual::macos(ca, add)),
        Platform::Windows => steps.push(manual::windows(
            ca,
            add,
            &ca.paths.root_cert.display().to_string(),
        )),
        Platform::Linux | Platform::Wsl => {
            steps.push(system::system(ca, env, add));
            steps.extend(nss::nss(ca, env, add));
            if env.platform == Platform::Wsl {
                steps.push(manual::windows(
                    ca,
                    add,
                    &manual::wsl_windows_path(&ca.paths.root_cert),
                ));
            }
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::ca::open_or_create;

    fn env_of(pairs: &[(&str, &str)]) -> TrustEnv {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        TrustEnv::from_env(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn trust_dir_override_adds_and_removes_the_root_once() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let anchors = tmp.path().join("anchors");
        fs::create_dir(&anchors).unwrap();
        let env = env_of(&[
            ("CARAFE_TRUST_PLATFORM", "linux"),
            ("CARAFE_TRUST_DIR", anchors.to_str().unwrap()),
            ("HOME", tmp.path().to_str().unwrap()),
        ]);
        assert_eq!(env.system.as_ref().unwrap().update, None);
        let steps = trust(&ca, &env);
        assert!(matches!(steps[0].outcome, Outcome::Done(_)), "{steps:?}");
        let file = anchors.join(system_file_name(&ca));
        assert_eq!(
            fs::read(&file).unwrap(),
            fs::read(&ca.paths.root_cert).unwrap()
        );
        assert!(matches!(steps[1].outcome, Outcome::Skipped(_)), "{steps:?}");
        assert!(matches!(trust(&ca, &env)[0].outcome, Outcome::Unchanged(_)));
        assert!(matches!(untrust(&ca, &env)[0].outcome, Outcome::Done(_)));
        assert!(!file.exists());
        assert!(matches!(
            untrust(&ca, &env)[0].outcome,
            Outcome::Unchanged(_)
        ));
    }

    #[test]
    fn a_failing_update_command_is_a_failure_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let env = env_of(&[
            ("CARAFE_TRUST_PLATFORM", "linux"),
            ("CARAFE_TRUST_DIR", tmp.path().to_str().unwrap()),
            ("CARAFE_TRUST_UPDATE", "false"),
        ]);
        let steps = trust(&ca, &env);
        let Outcome::Failed { error, commands } = &steps[0].outcome else {
            panic!("{steps:?}");
        };
        assert!(error.contains("`false` failed"), "{error}");
        assert_eq!(commands, &vec!["sudo false".to_string()]);
    }

    #[test]
    fn macos_windows_and_wsl_get_the_exact_commands() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let root = ca.paths.root_cert.display().to_string();
        let mac = trust(&ca, &env_of(&[("CARAFE_TRUST_PLATFORM", "macos")]));
        let Outcome::Manual { commands, .. } = &mac[0].outcome else {
            panic!("{mac:?}");
        };
        assert_eq!(
            commands[0],
            format!(
                "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {root}"
            )
        );
        let win = untrust(&ca, &env_of(&[("CARAFE_TRUST_PLATFORM", "windows")]));
        let Outcome::Manual { commands, .. } = &win[0].outcome else {
            panic!("{win:?}");
        };
        assert_eq!(
            commands[0],
            format!("certutil.exe -delstore ROOT {}", ca.root_sha1())
        );
        assert_eq!(ca.root_sha1().len(), 40);

        let wsl = trust(
            &ca,
            &env_of(&[
                ("CARAFE_TRUST_PLATFORM", "wsl"),
                ("CARAFE_TRUST_DIR", tmp.path().to_str().unwrap()),
            ]),
        );
        let last = wsl.last().unwrap();
        assert_eq!(last.store, "Windows certificate store");
        let Outcome::Manual { commands, .. } = &last.outcome else {
            panic!("{wsl:?}");
        };
        assert!(
            commands[0].starts_with("certutil.exe -addstore -f ROOT "),
            "{commands:?}"
        );
    }

    #[test]
    fn without_certutil_nss_steps_are_printed() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let db = tmp.path().join(".pki/nssdb");
        fs::create_dir_all(&db).unwrap();
        fs::write(db.join("cert9.db"), b"").unwrap();
        let env = TrustEnv {
            platform: Platform::Linux,
            system: None,
            home: Some(tmp.path().to_path_buf()),
            certutil: None,
        };
        let steps = trust(&ca, &env);
        let Outcome::Manual { why, commands } = &steps[1].outcome else {
            panic!("{steps:?}");
        };
        assert!(why.contains("libnss3-tools"), "{why}");
        assert_eq!(
            commands[0],
            format!(
                "certutil -A -d sql:{} -t C,, -n '{}' -i {}",
                db.display(),
                nss_nickname(&ca),
                ca.paths.root_cert.display()
            )
        );
    }
}
