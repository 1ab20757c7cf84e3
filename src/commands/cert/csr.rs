//! `carafe cert csr`: a certificate signing request for a real CA.

use anyhow::{Context, bail};

use super::{CSR_MODE, create_parent, key_type, parse_hosts, read_new_passphrase};
use crate::certs::private_key::{PassphraseSource, encrypt_pkcs8_pem};
use crate::certs::store::{KEY_MODE, write_new};
use crate::certs::{Host, csr};
use crate::cli::CertCsrArgs;
use crate::tls::load::load_private_key;

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
