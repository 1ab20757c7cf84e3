//! `carafe cert show`: the cert doctor.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;

use crate::certs::lint::{Severity, lint};
use crate::certs::private_key::PassphraseSource;
use crate::certs::{CertInfo, Host};
use crate::cli::CertShowArgs;
use crate::tls::load::{load_private_key, public_key_of};

/// `carafe cert show`: what a certificate is, whether a key matches it, and what clients will
/// reject. Problems make the command fail (exit 1), so it can gate a deploy.
pub fn show(args: &CertShowArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read certificate file {}", args.file.display()))?;
    let chain = read_chain(&args.file, &bytes)?;
    let info = CertInfo::from_der(&chain[0])
        .with_context(|| format!("cannot parse the certificate in {}", args.file.display()))?;
    let now = OffsetDateTime::now_utc();
    let mut findings = lint(&info, now);

    let mut out = std::io::stdout().lock();
    let file = args.file.display();
    let chain_note = match chain.len() {
        1 => String::new(),
        n => format!(" (first of {n} certificates)"),
    };
    let names: Vec<String> = info.hosts.iter().map(Host::to_string).collect();
    let days = (info.not_after - info.not_before).whole_days();
    let left = (info.not_after - now).whole_days();
    let _ = writeln!(out, "certificate: {file}{chain_note}");
    let _ = writeln!(out, "subject: {}", info.subject);
    let _ = writeln!(
        out,
        "names (SAN): {}",
        if names.is_empty() {
            "(none)".to_string()
        } else {
            names.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "issuer: {}{}",
        info.issuer,
        if info.self_issued {
            " (self-signed)"
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "valid: {} to {} ({days} days; {})",
        utc(info.not_before),
        utc(info.not_after),
        if left >= 0 {
            format!("{left} left")
        } else {
            format!("expired {} days ago", -left)
        }
    );
    let _ = writeln!(out, "key: {}", info.public_key);
    let _ = writeln!(out, "signature: {}", info.signature_algorithm);
    let _ = writeln!(
        out,
        "CA: {}; serverAuth: {}",
        if info.is_ca { "yes" } else { "no" },
        if info.server_auth { "yes" } else { "no" }
    );
    let _ = writeln!(out, "sha256 fingerprint: {}", info.fingerprint);
    if let Some(key) = &args.key {
        let passphrase = PassphraseSource::from_flag_or_env(args.key_passphrase_file.as_deref());
        let der = load_private_key(key, passphrase.as_ref())?;
        let spki = public_key_of(key, der)?;
        if spki == info.spki_der {
            let _ = writeln!(out, "private key: {} matches", key.display());
        } else {
            let _ = writeln!(out, "private key: {} does NOT match", key.display());
            findings.insert(
                0,
                crate::certs::lint::Finding {
                    severity: Severity::Problem,
                    message: format!(
                        "the private key {} does not belong to this certificate: the TLS handshake would fail",
                        key.display()
                    ),
                    fix: Some(
                        "pass the key that was made together with this certificate".into(),
                    ),
                },
            );
        }
    }
    for finding in &findings {
        let _ = writeln!(out, "{finding}");
    }
    let problems = findings
        .iter()
        .filter(|f| f.severity == Severity::Problem)
        .count();
    if problems == 0 {
        let _ = writeln!(out, "ok: no problems found");
        return Ok(());
    }
    let _ = out.flush();
    bail!(
        "{file}: {problems} problem{} found (listed above)",
        if problems == 1 { "" } else { "s" }
    )
}

/// `2026-01-31 12:00 UTC`.
fn utc(t: OffsetDateTime) -> String {
    format!("{} {:02}:{:02} UTC", t.date(), t.hour(), t.minute())
}

/// The certificates in a PEM (or single DER) file, with a clear error when there are none.
fn read_chain(path: &Path, bytes: &[u8]) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not valid PEM", path.display()))?;
    if !chain.is_empty() {
        return Ok(chain);
    }
    if bytes.first() == Some(&0x30) && CertInfo::from_der(bytes).is_ok() {
        return Ok(vec![CertificateDer::from(bytes.to_vec())]);
    }
    if crate::certs::private_key::is_encrypted(bytes)
        || rustls::pki_types::PrivateKeyDer::from_pem_slice(bytes).is_ok()
    {
        bail!(
            "{} holds a private key, not a certificate; pass the certificate, and the key with --key",
            path.display()
        );
    }
    bail!(
        "no certificate in {}: expected PEM with -----BEGIN CERTIFICATE----- (or DER)",
        path.display()
    )
}
