//! NSS databases (Chromium on Linux, Firefox): found under HOME and changed with `certutil`
//! (`libnss3-tools`), or the `certutil` commands printed when it is missing.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Outcome, Step, TrustEnv, failed, nss_nickname};
use crate::certs::ca::LocalCa;

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

pub(super) fn nss(ca: &LocalCa, env: &TrustEnv, add: bool) -> Vec<Step> {
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
