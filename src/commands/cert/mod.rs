//! `carafe cert ...`: the openssl commands of the Flask TLS tutorial, replaced, and the local CA
//! (`cert ca`, `cert trust`, `cert untrust`) that mkcert would otherwise provide.
//!
//! One module per subcommand: [`new`] here, [`csr`], [`show`], and [`ca`] (`cert ca`,
//! `cert trust`, `cert untrust`).

mod ca;
mod csr;
mod show;

use std::path::Path;

use anyhow::{Context, bail};
use rustls::pki_types::pem::PemObject;

use crate::certs::ca as local_ca;
use crate::certs::generate::self_signed_with;
use crate::certs::key_type::ED25519_REFUSED;
use crate::certs::private_key::{Passphrase, encrypt_pkcs8_pem};
use crate::certs::store::{WriteMode, write_pair};
use crate::certs::{CertInfo, Host, KeyType, local_hosts};
use crate::cli::{CertNewArgs, KeyTypeArg};

pub use ca::{ca, trust};
pub use csr::csr;
pub use show::show;

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
        Some(local_ca::open(&local_ca::default_dir()?)?)
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
