//! `carafe cert ...`: the openssl commands of the Flask TLS tutorial, replaced, and the local CA
//! (`cert ca`, `cert trust`, `cert untrust`) that mkcert would otherwise provide.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::OffsetDateTime;

use crate::certs::ca::{self, CaStatus, LocalCa, PERMITTED_DNS, PERMITTED_IPS};
use crate::certs::generate::self_signed_with;
use crate::certs::key_type::ED25519_REFUSED;
use crate::certs::lint::{Severity, lint};
use crate::certs::private_key::{Passphrase, PassphraseSource, encrypt_pkcs8_pem};
use crate::certs::store::{KEY_MODE, WriteMode, write_new, write_pair};
use crate::certs::trust::{self, Outcome, TrustEnv};
use crate::certs::{CertInfo, Host, KeyType, csr, local_hosts};
use crate::cli::{CertCsrArgs, CertNewArgs, CertShowArgs, KeyTypeArg};
use crate::tls::load::{load_private_key, public_key_of};

/// File name `cert new` writes the certificate to (the name Flask tutorials use).
pub const CERT_FILE: &str = "server.crt";
/// File name `cert new` writes the key to.
pub const KEY_FILE: &str = "server.key";

/// Mode of a CSR file: public information.
const CSR_MODE: u32 = 0o644;

/// `carafe cert new`: a key and a self-signed certificate for the given hosts.
pub fn new(args: &CertNewArgs) -> anyhow::Result<()> {
    let key_type = key_type(args.key_type)?;
    let hosts = parse_hosts(&args.hosts)?;
    let hosts = if hosts.is_empty() {
        local_hosts()
    } else {
        hosts
    };
    // Read the passphrase before making anything, so a bad file leaves nothing behind.
    let passphrase = args
        .passphrase_file
        .as_deref()
        .map(read_new_passphrase)
        .transpose()?;
    let signer = if args.ca {
        if key_type != KeyType::EcdsaP256 {
            bail!("--ca leaves are ECDSA P-256 (the local CA's own type); drop --key-type");
        }
        Some(ca::open(&ca::default_dir()?)?)
    } else {
        None
    };
    let mut generated = match &signer {
        Some(ca) => ca.issue_leaf(&hosts, args.days)?,
        None => self_signed_with(&hosts, args.days, key_type)?,
    };
    if let Some(pass) = &passphrase {
        let der =
            rustls::pki_types::PrivatePkcs8KeyDer::from_pem_slice(generated.key_pem.as_bytes())
                .context("the generated key is not PKCS#8")?;
        generated.key_pem = encrypt_pkcs8_pem(der.secret_pkcs8_der(), pass)
            .map_err(|e| anyhow::anyhow!("cannot encrypt the key: {e}"))?;
    }
    let cert_path = args.out.join(CERT_FILE);
    let key_path = args.out.join(KEY_FILE);
    let mode = if args.force {
        WriteMode::Replace
    } else {
        WriteMode::CreateNew
    };
    write_pair(&cert_path, &key_path, &generated, mode)?;
    let info = CertInfo::from_der(&generated.cert_der)?;
    let names: Vec<String> = info.hosts.iter().map(Host::to_string).collect();
    let encrypted = if passphrase.is_some() {
        ", encrypted PKCS#8 (PBKDF2-SHA256, AES-256-CBC)"
    } else {
        ""
    };
    println!("wrote {} (certificate)", cert_path.display());
    println!(
        "wrote {} (private key, {key_type}{encrypted}, mode 0600)",
        key_path.display()
    );
    println!("names: {}", names.join(", "));
    println!(
        "valid: {} to {} ({} days)",
        info.not_before.date(),
        info.not_after.date(),
        args.days
    );
    println!("sha256 fingerprint: {}", info.fingerprint);
    if let Some(ca) = &signer {
        println!(
            "signed by: {} (chain: leaf + intermediate in {})",
            ca.intermediate
                .common_name
                .as_deref()
                .unwrap_or("the local CA"),
            cert_path.display()
        );
    }
    let passphrase_arg = args
        .passphrase_file
        .as_ref()
        .map(|f| format!(" --key-passphrase-file {}", f.display()))
        .unwrap_or_default();
    println!(
        "serve with: carafe serve --cert {} --key {}{passphrase_arg}",
        cert_path.display(),
        key_path.display()
    );
    Ok(())
}

/// `carafe cert csr`: a signing request for a real CA, from an existing key or a new one.
pub fn csr(args: &CertCsrArgs) -> anyhow::Result<()> {
    let hosts = parse_hosts(&args.hosts)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| args.key.with_extension("csr"));
    if out.exists() {
        bail!(
            "{} already exists; carafe never overwrites it: pass another --out or remove it",
            out.display()
        );
    }
    let passphrase = PassphraseSource::from_flag_or_env(args.key_passphrase_file.as_deref());
    let (key, made) = if args.key.exists() {
        if args.key_type.is_some() {
            bail!(
                "{} already exists: --key-type only applies when making a new key (the CSR uses the existing key)",
                args.key.display()
            );
        }
        let der = load_private_key(&args.key, passphrase.as_ref())?;
        let key = rcgen::KeyPair::try_from(&der).map_err(|e| {
            anyhow::anyhow!(
                "the key in {} cannot sign a request ({e}); carafe signs with ECDSA P-256/P-384 and RSA keys",
                args.key.display()
            )
        })?;
        (key, None)
    } else {
        let key_type = key_type(args.key_type.unwrap_or_default())?;
        let key = key_type.generate()?;
        let pem = match &passphrase {
            Some(source) => {
                let pass = match source {
                    PassphraseSource::File(f) => read_new_passphrase(f)?,
                    PassphraseSource::Env => source.load()?,
                };
                encrypt_pkcs8_pem(key.serialized_der(), &pass)
                    .map_err(|e| anyhow::anyhow!("cannot encrypt the key: {e}"))?
            }
            None => key.serialize_pem(),
        };
        create_parent(&args.key)?;
        write_new(&args.key, pem.as_bytes(), KEY_MODE)
            .with_context(|| format!("cannot write {}", args.key.display()))?;
        (key, Some(key_type))
    };
    let request = csr::request(&hosts, &key)?;
    create_parent(&out)?;
    write_new(&out, request.as_bytes(), CSR_MODE)
        .with_context(|| format!("cannot write {}", out.display()))?;
    if let Some(key_type) = made {
        println!(
            "wrote {} (new private key, {key_type}{}, mode 0600)",
            args.key.display(),
            if passphrase.is_some() {
                ", encrypted PKCS#8"
            } else {
                ""
            }
        );
    }
    let names: Vec<String> = hosts.iter().map(Host::to_string).collect();
    println!("wrote {} (certificate signing request)", out.display());
    println!("names: {}", names.join(", "));
    println!(
        "next: send {} to your CA; serve its answer with: carafe serve --cert CERT --key {}",
        out.display(),
        args.key.display()
    );
    Ok(())
}

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

/// The key type asked for, refusing Ed25519 with the reason.
fn key_type(arg: KeyTypeArg) -> anyhow::Result<KeyType> {
    Ok(match arg {
        KeyTypeArg::EcdsaP256 => KeyType::EcdsaP256,
        KeyTypeArg::EcdsaP384 => KeyType::EcdsaP384,
        KeyTypeArg::Rsa2048 => KeyType::Rsa2048,
        KeyTypeArg::Rsa3072 => KeyType::Rsa3072,
        KeyTypeArg::Rsa4096 => KeyType::Rsa4096,
        KeyTypeArg::Ed25519 => bail!("{ED25519_REFUSED}"),
    })
}

/// Reads the passphrase to encrypt a new key with; an empty one is refused, since it would
/// protect nothing while looking protected.
fn read_new_passphrase(path: &Path) -> anyhow::Result<Passphrase> {
    let pass = Passphrase::read_file(path)
        .with_context(|| format!("cannot read passphrase file {}", path.display()))?;
    if pass.as_bytes().is_empty() {
        bail!(
            "passphrase file {} is empty; write the passphrase on its first line",
            path.display()
        );
    }
    Ok(pass)
}

fn create_parent(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    Ok(())
}

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

/// Parses `--host` values, naming the bad one.
pub fn parse_hosts(values: &[String]) -> anyhow::Result<Vec<Host>> {
    values
        .iter()
        .map(|v| {
            v.parse::<Host>()
                .map_err(|_| anyhow::anyhow!("--host {v:?} is not a DNS name or an IP address"))
        })
        .collect()
}
