//! `carafe cert ca`, `cert trust` and `cert untrust`: the local certificate authority.

use crate::certs::ca::{self, CaStatus, LocalCa, PERMITTED_DNS, PERMITTED_IPS};
use crate::certs::trust::{self, Outcome, TrustEnv};

/// `println!` that ignores a closed stdout (`carafe cert ca | head`) instead of panicking.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// `carafe cert ca`: creates the local CA on the first run, shows it on later ones.
pub fn ca() -> anyhow::Result<()> {
    let dir = ca::default_dir()?;
    let (mut ca, status) = ca::open_or_create(&dir)?;
    let renewed = ca::renew_intermediate_if_due(&ca)?;
    if let Some(renewed) = &renewed {
        say!(
            "renewed the intermediate ({}); the old one is kept as {} and {}; the root is unchanged, so nothing needs trusting again",
            renewed.reason,
            renewed.old_cert.display(),
            renewed.old_key.display()
        );
        ca = ca::open(&dir)?;
    }
    match status {
        CaStatus::Created => say!("created the local CA in {}", dir.display()),
        CaStatus::Existing if renewed.is_some() => {
            say!("the local CA in {} (it exists)", dir.display());
        }
        CaStatus::Existing => say!(
            "the local CA in {} (it exists; nothing was changed)",
            dir.display()
        ),
    }
    print_ca(&ca);
    say!("next: carafe cert trust    (then: carafe serve --tls ca)");
    Ok(())
}

/// The user who ran `sudo`, when carafe runs under it and no CA directory was given.
fn sudo_user() -> Option<String> {
    std::env::var_os("CARAFE_CA_DIR")
        .is_none()
        .then(|| std::env::var("SUDO_USER").ok())
        .flatten()
        .filter(|u| !u.is_empty() && u != "root")
}

/// Warns about a key file others can read (copied, restored from a backup, or chmod-ed).
fn warn_if_exposed(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                say!(
                    "warning: {} has mode {mode:04o}, so other users can read it; run: chmod 600 {}",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn print_ca(ca: &LocalCa) {
    let p = &ca.paths;
    say!("root:             {}", p.root_cert.display());
    say!("  subject:        CN={}", ca.root_name());
    say!(
        "  valid:          {} to {}",
        ca.root.not_before.date(),
        ca.root.not_after.date()
    );
    say!("  sha256:         {}", ca.root_fingerprint());
    say!(
        "root key:         {} (mode 0600; kept so a new intermediate needs no new import: whoever reads it can issue certificates that machines trusting this root accept)",
        p.root_key.display()
    );
    say!("intermediate:     {}", p.intermediate_cert.display());
    say!(
        "  valid:          {} to {}",
        ca.intermediate.not_before.date(),
        ca.intermediate.not_after.date()
    );
    say!("  sha256:         {}", ca.intermediate.fingerprint);
    say!(
        "intermediate key: {} (mode 0600)",
        p.intermediate_key.display()
    );
    warn_if_exposed(&p.root_key);
    warn_if_exposed(&p.intermediate_key);
    let mut allowed: Vec<String> = PERMITTED_DNS
        .iter()
        .map(|d| format!("{d}, *.{d}"))
        .collect();
    allowed.extend(PERMITTED_IPS.iter().map(|(a, n)| format!("{a}/{n}")));
    say!(
        "signs only:       {} (name constraints)",
        allowed.join(", ")
    );
}

/// `carafe cert trust` (`add`) and `carafe cert untrust`: one line per store, the commands to
/// run where carafe cannot, and an error when a store that should have changed did not.
pub fn trust(add: bool) -> anyhow::Result<()> {
    let ca = ca::open(&ca::default_dir()?).map_err(|err| match (&err, sudo_user()) {
        // sudo resets HOME, so the CA is looked for in root's home instead of the user's.
        (ca::CaError::NotFound(_), Some(user)) => anyhow::anyhow!(
            "{err} (under sudo the CA of {user} is not found; run `sudo env CARAFE_CA_DIR=/home/{user}/.local/share/carafe/ca carafe cert {}` with its real path)",
            if add { "trust" } else { "untrust" }
        ),
        _ => err.into(),
    })?;
    let env = TrustEnv::detect();
    let steps = if add {
        trust::trust(&ca, &env)
    } else {
        trust::untrust(&ca, &env)
    };
    say!(
        "{} the root {} ({})",
        if add { "trusting" } else { "untrusting" },
        ca.paths.root_cert.display(),
        ca.root_name()
    );
    say!("  sha256: {}", ca.root_fingerprint());
    let mut first_error = None;
    let mut failures = 0;
    for step in &steps {
        let (line, commands) = match &step.outcome {
            Outcome::Done(what) => (what.clone(), &[][..]),
            Outcome::Unchanged(what) => (format!("{what}; nothing to do"), &[][..]),
            Outcome::Skipped(why) => (format!("skipped: {why}"), &[][..]),
            Outcome::Manual { why, commands } => (format!("to do by hand: {why}:"), &commands[..]),
            Outcome::Failed { error, commands } => {
                failures += 1;
                first_error.get_or_insert_with(|| error.clone());
                (format!("FAILED: {error}"), &commands[..])
            }
        };
        say!("{}: {line}", step.store);
        for command in commands {
            say!("    {command}");
        }
    }
    if let Some(error) = first_error {
        anyhow::bail!(
            "{failures} trust store(s) not {}: {error}",
            if add { "updated" } else { "cleaned" }
        );
    }
    if add {
        say!(
            "next: restart the browser (it reads its trust store at start), then carafe serve --tls ca"
        );
    }
    Ok(())
}
