//! Stores carafe does not change itself: the macOS System keychain and the Windows store
//! (also from WSL). Each is a step with the exact commands for the user to run.

use std::path::Path;
use std::process::Command;

use super::{Outcome, Step};
use crate::certs::ca::LocalCa;

pub(super) fn macos(ca: &LocalCa, add: bool) -> Step {
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
pub(super) fn windows(ca: &LocalCa, add: bool, root: &str) -> Step {
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
pub(super) fn wsl_windows_path(path: &Path) -> String {
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
