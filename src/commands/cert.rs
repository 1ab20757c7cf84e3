//! `carafe cert ...`: the openssl commands of the Flask TLS tutorial, replaced.

use crate::certs::generate::self_signed;
use crate::certs::store::{WriteMode, write_pair};
use crate::certs::{CertInfo, Host, local_hosts};
use crate::cli::CertNewArgs;

/// File name `cert new` writes the certificate to (the name Flask tutorials use).
pub const CERT_FILE: &str = "server.crt";
/// File name `cert new` writes the key to.
pub const KEY_FILE: &str = "server.key";

/// `carafe cert new`: a key and a self-signed certificate for the given hosts.
pub fn new(args: &CertNewArgs) -> anyhow::Result<()> {
    let hosts = parse_hosts(&args.hosts)?;
    let hosts = if hosts.is_empty() {
        local_hosts()
    } else {
        hosts
    };
    let generated = self_signed(&hosts, args.days)?;
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
    println!("wrote {} (certificate)", cert_path.display());
    println!(
        "wrote {} (private key, ECDSA P-256, mode 0600)",
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
    println!(
        "serve with: carafe serve --cert {} --key {}",
        cert_path.display(),
        key_path.display()
    );
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
