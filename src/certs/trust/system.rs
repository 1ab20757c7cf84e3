//! The Linux system store: the root as a `.crt` in the anchor directory, then the
//! distribution's update command (`update-ca-certificates`, `update-ca-trust extract`).

use std::fs;
use std::io;
use std::path::Path;
use std::process::Command;

use super::{Outcome, Step, TrustEnv, system_file_name};
use crate::certs::ca::LocalCa;

pub(super) fn system(ca: &LocalCa, env: &TrustEnv, add: bool) -> Step {
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
    crate::certs::store::write_new(&tmp, pem, 0o644)?;
    fs::rename(&tmp, target).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

fn io_hint(path: &Path, err: &io::Error, ca: &LocalCa, add: bool) -> String {
    if err.kind() == io::ErrorKind::PermissionDenied {
        format!(
            "cannot write {}: permission denied; run the sudo commands printed with this step, or `sudo env CARAFE_CA_DIR={} carafe cert {}` for the system store",
            path.display(),
            ca.paths.dir.display(),
            if add { "trust" } else { "untrust" }
        )
    } else {
        format!("cannot change {}: {err}", path.display())
    }
}

pub(super) fn failed(store: String, error: String, commands: Vec<String>) -> Step {
    Step {
        store,
        outcome: Outcome::Failed { error, commands },
    }
}
