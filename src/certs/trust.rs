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
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::ca::LocalCa;

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
        Platform::MacOs => steps.push(macos(ca, add)),
        Platform::Windows => {
            steps.push(windows(ca, add, &ca.paths.root_cert.display().to_string()))
        }
        Platform::Linux | Platform::Wsl => {
            steps.push(system(ca, env, add));
            steps.extend(nss(ca, env, add));
            if env.platform == Platform::Wsl {
                steps.push(windows(ca, add, &wsl_windows_path(&ca.paths.root_cert)));
            }
        }
    }
    steps
}

fn system(ca: &LocalCa, env: &TrustEnv, add: bool) -> Step {
    let Some(store) = &env.system else {
        return Step {
            store: "system store".into(),
            outcome: Outcome::Manual {
                why: "carafe knows the system stores of Debian/Ubuntu and Fedora/RHEL only; add the root with your distribution's tool (Arch: trust anchor)".into(),
                commands: vec![format!(
                    "sudo trust anchor {}{}",
                    if add { "--store " } else { "--remove " },
                    ca.paths.root_cert.display()
                )],
            },
        };
    };
    let target = store.dir.join(system_file_name(ca));
    let name = format!("system store {}", store.dir.display());
    let pem = match fs::read(&ca.paths.root_cert) {
        Ok(pem) => pem,
        Err(e) => {
            return failed(
                name,
                format!("cannot read {}: {e}", ca.paths.root_cert.display()),
                vec![],
            );
        }
    };
    let update_line = store.update.as_ref().map(|u| u.join(" "));
    let sudo_commands = |copy: String| {
        let mut c = vec![copy];
        if let Some(u) = &update_line {
            c.push(format!("sudo {u}"));
        }
        c
    };
    let changed = if add {
        if fs::read(&target).is_ok_and(|have| have == pem) {
            false
        } else {
            if let Err(e) = write_anchor(&target, &pem) {
                let copy = format!(
                    "sudo install -m 0644 {} {}",
                    ca.paths.root_cert.display(),
                    target.display()
                );
                return failed(name, io_hint(&target, &e, ca, add), sudo_commands(copy));
            }
            true
        }
    } else {
        match fs::remove_file(&target) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => {
                let rm = format!("sudo rm {}", target.display());
                return failed(name, io_hint(&target, &e, ca, add), sudo_commands(rm));
            }
        }
    };
    if !changed {
        let what = if add {
            "already holds"
        } else {
            "does not hold"
        };
        return Step {
            store: name,
            outcome: Outcome::Unchanged(format!("{what} {}", target.display())),
        };
    }
    let verb = if add { "added" } else { "removed" };
    if let Some(update) = &store.update {
        let status = Command::new(&update[0]).args(&update[1..]).output();
        match status {
            Ok(out) if out.status.success() => {}
            Ok(out) => {
                let err = String::from_utf8_lossy(&out.stderr);
                let first = err.lines().next().unwrap_or("").trim().to_string();
                return failed(
                    name,
                    format!(
                        "{verb} {}, but `{}` failed ({}): {first}",
                        target.display(),
                        update.join(" "),
                        out.status
                    ),
                    vec![format!("sudo {}", update.join(" "))],
                );
            }
            Err(e) => {
                return failed(
                    name,
                    format!(
                        "{verb} {}, but cannot run `{}`: {e}",
                        target.display(),
                        update.join(" ")
                    ),
                    vec![format!("sudo {}", update.join(" "))],
                );
            }
        }
        return Step {
            store: name,
            outcome: Outcome::Done(format!(
                "{verb} {} and ran `{}`",
                target.display(),
                update.join(" ")
            )),
        };
    }
    Step {
        store: name,
        outcome: Outcome::Done(format!("{verb} {}", target.display())),
    }
}

/// Writes the anchor through a temporary sibling and a rename (readable by all: it is public).
fn write_anchor(target: &Path, pem: &[u8]) -> io::Result<()> {
    let tmp = target.with_extension("crt.tmp");
    let _ = fs::remove_file(&tmp);
    super::store::write_new(&tmp, pem, 0o644)?;
    fs::rename(&tmp, target).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn io_hint(path: &Path, err: &io::Error, ca: &LocalCa, add: bool) -> String {
    if err.kind() == io::ErrorKind::PermissionDenied {
        format!(
            "cannot write {}: permission denied; run the commands below, or `sudo env CARAFE_CA_DIR={} carafe cert {}` for the system store",
            path.display(),
            ca.paths.dir.display(),
            if add { "trust" } else { "untrust" }
        )
    } else {
        format!("cannot change {}: {err}", path.display())
    }
}

fn failed(store: String, error: String, commands: Vec<String>) -> Step {
    Step {
        store,
        outcome: Outcome::Failed { error, commands },
    }
}

/// The NSS databases under `home`: Chromium's (also as a snap) and every Firefox profile's
/// (also snap and flatpak), each a directory with a `cert9.db` (the sqlite format; the old
/// `cert8.db` is not written by any supported Firefox).
pub fn nss_databases(home: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in [".pki/nssdb", "snap/chromium/current/.pki/nssdb"] {
        found.push(home.join(dir));
    }
    for profiles in [
        ".mozilla/firefox",
        "snap/firefox/common/.mozilla/firefox",
        ".var/app/org.mozilla.firefox/.mozilla/firefox",
    ] {
        if let Ok(entries) = fs::read_dir(home.join(profiles)) {
            let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            dirs.sort();
            found.extend(dirs);
        }
    }
    found.retain(|d| d.join("cert9.db").is_file());
    found
}

fn nss(ca: &LocalCa, env: &TrustEnv, add: bool) -> Vec<Step> {
    let Some(home) = &env.home else {
        return vec![Step {
            store: "NSS (Chromium, Firefox)".into(),
            outcome: Outcome::Skipped("HOME is not set; no NSS database to look for".into()),
        }];
    };
    let dbs = nss_databases(home);
    if dbs.is_empty() {
        return vec![Step {
            store: "NSS (Chromium, Firefox)".into(),
            outcome: Outcome::Skipped(format!(
                "no NSS database under {} (~/.pki/nssdb, Firefox profiles); run the browser once, then `carafe cert trust` again",
                home.display()
            )),
        }];
    }
    let nick = nss_nickname(ca);
    let root = ca.paths.root_cert.display().to_string();
    let command = |db: &Path| {
        if add {
            format!(
                "certutil -A -d sql:{} -t C,, -n '{nick}' -i {root}",
                db.display()
            )
        } else {
            format!("certutil -D -d sql:{} -n '{nick}'", db.display())
        }
    };
    let Some(certutil) = &env.certutil else {
        return vec![Step {
            store: "NSS (Chromium, Firefox)".into(),
            outcome: Outcome::Manual {
                why: "certutil is not installed: `sudo apt-get install libnss3-tools` (Debian/Ubuntu) or `sudo dnf install nss-tools` (Fedora), then `carafe cert trust` again, or run".into(),
                commands: dbs.iter().map(|d| command(d)).collect(),
            },
        }];
    };
    dbs.iter()
        .map(|db| {
            let store = format!("NSS {}", db.display());
            let sql = format!("sql:{}", db.display());
            let present = Command::new(certutil)
                .args(["-L", "-d", &sql, "-n", &nick])
                .output()
                .is_ok_and(|o| o.status.success());
            let args: Vec<&str> = match (add, present) {
                (true, true) => {
                    return Step {
                        store,
                        outcome: Outcome::Unchanged(format!("already trusts {nick}")),
                    };
                }
                (false, false) => {
                    return Step {
                        store,
                        outcome: Outcome::Unchanged(format!("does not hold {nick}")),
                    };
                }
                (true, false) => vec!["-A", "-d", &sql, "-t", "C,,", "-n", &nick, "-i", &root],
                (false, true) => vec!["-D", "-d", &sql, "-n", &nick],
            };
            match Command::new(certutil).args(&args).output() {
                Ok(out) if out.status.success() => Step {
                    store,
                    outcome: Outcome::Done(format!(
                        "{} {nick}",
                        if add { "added" } else { "removed" }
                    )),
                },
                Ok(out) => failed(
                    store,
                    format!(
                        "certutil failed ({}): {}; close the browser and try again",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                            .lines()
                            .next()
                            .unwrap_or("")
                            .trim()
                    ),
                    vec![command(db)],
                ),
                Err(e) => failed(
                    store,
                    format!("cannot run {}: {e}", certutil.display()),
                    vec![command(db)],
                ),
            }
        })
        .collect()
}

fn macos(ca: &LocalCa, add: bool) -> Step {
    let root = ca.paths.root_cert.display();
    let commands = if add {
        vec![format!(
            "sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {root}"
        )]
    } else {
        vec![format!(
            "sudo security delete-certificate -Z {} /Library/Keychains/System.keychain",
            ca.root_sha1()
        )]
    };
    Step {
        store: "macOS System keychain".into(),
        outcome: Outcome::Manual {
            why: format!(
                "carafe does not change the keychain itself (it asks for your password); run this (Safari and Chrome use it; Firefox does with security.enterprise_roots.enabled){}",
                if add { "" } else { " to remove it" }
            ),
            commands,
        },
    }
}

/// The Windows commands; `root` is the root's path as Windows sees it.
fn windows(ca: &LocalCa, add: bool, root: &str) -> Step {
    let sha1 = ca.root_sha1();
    let commands = if add {
        vec![
            format!("certutil.exe -addstore -f ROOT \"{root}\""),
            format!(
                "powershell.exe -NoProfile -Command \"Import-Certificate -FilePath '{root}' -CertStoreLocation Cert:\\CurrentUser\\Root\""
            ),
        ]
    } else {
        vec![
            format!("certutil.exe -delstore ROOT {sha1}"),
            format!(
                "powershell.exe -NoProfile -Command \"Remove-Item Cert:\\CurrentUser\\Root\\{sha1}\""
            ),
        ]
    };
    Step {
        store: "Windows certificate store".into(),
        outcome: Outcome::Manual {
            why: "carafe does not change the Windows store itself; run one of these (the first as Administrator, for all users; the second for you only). Edge and Chrome use it; Firefox does with security.enterprise_roots.enabled".into(),
            commands,
        },
    }
}

/// The root's path as Windows sees it (`\\wsl.localhost\...`), from `wslpath -w`; the shell
/// form when that is not available.
fn wsl_windows_path(path: &Path) -> String {
    Command::new("wslpath")
        .arg("-w")
        .arg(path)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| format!("$(wslpath -w {})", path.display()))
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
