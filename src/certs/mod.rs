//! Certificates: generation with rcgen ([`generate`], of a [`KeyType`]; signing requests in
//! [`csr`]), the `certs/` store that reuses a development certificate and never overwrites a
//! user's file ([`store`]), encrypted key files ([`private_key`]), and reading a certificate
//! back ([`inspect`]) and linting it ([`lint`]). Shared by `serve --tls gen` and `carafe cert`; the TLS
//! listener itself lives in [`crate::tls`].

pub mod ca;
pub mod ca_leaf;
pub mod csr;
pub mod generate;
pub mod inspect;
pub mod key_type;
pub mod lint;
pub mod private_key;
pub mod store;
pub mod trust;

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

pub use generate::{GeneratedCert, MAX_VALIDITY_DAYS};
pub use inspect::CertInfo;
pub use key_type::KeyType;
pub use store::{DevCert, DevCertStatus};

/// A name a certificate is for: a DNS name or an IP address (which becomes an iPAddress SAN,
/// as browsers require).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Host {
    /// A DNS name, lower-case, possibly a `*.` wildcard.
    Dns(String),
    /// An IP address.
    Ip(IpAddr),
}

/// Why a string is not a usable host name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a valid host name or IP address")]
pub struct InvalidHost(pub String);

impl FromStr for Host {
    type Err = InvalidHost;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim().trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = trimmed.parse::<IpAddr>() {
            return Ok(Host::Ip(ip));
        }
        let name = trimmed.trim_end_matches('.').to_ascii_lowercase();
        let labels: Vec<&str> = name.split('.').collect();
        let valid_label = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let ok = name.len() <= 253
            && labels
                .iter()
                .enumerate()
                .all(|(i, l)| (i == 0 && *l == "*" && labels.len() > 2) || valid_label(l));
        if ok {
            Ok(Host::Dns(name))
        } else {
            Err(InvalidHost(s.to_string()))
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Dns(name) => f.write_str(name),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// The names every development certificate covers: `localhost`, `127.0.0.1` and `::1`.
pub fn local_hosts() -> Vec<Host> {
    vec![
        Host::Dns("localhost".into()),
        Host::Ip(IpAddr::from([127, 0, 0, 1])),
        Host::Ip(IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])),
    ]
}

/// The local names plus the machine's host name (when it is a valid DNS name), plus `extra`,
/// without duplicates, in a stable order.
pub fn dev_hosts(extra: &[Host]) -> Vec<Host> {
    let mut hosts = local_hosts();
    if let Ok(name) = gethostname::gethostname().into_string()
        && let Ok(host) = name.parse::<Host>()
    {
        hosts.push(host);
    }
    hosts.extend(extra.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    hosts
}

/// Lower-case hex without separators.
pub fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The SHA-256 fingerprint of a DER certificate, as `AB:CD:...` (the form browsers and
/// `openssl x509 -fingerprint -sha256` show).
pub fn fingerprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts() {
        let cases = [
            ("localhost", Host::Dns("localhost".into())),
            ("Dev.Example.TEST.", Host::Dns("dev.example.test".into())),
            ("*.example.test", Host::Dns("*.example.test".into())),
            ("127.0.0.1", Host::Ip("127.0.0.1".parse().unwrap())),
            ("[::1]", Host::Ip("::1".parse().unwrap())),
            ("192.168.1.20", Host::Ip("192.168.1.20".parse().unwrap())),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Host>(), Ok(want), "{input}");
        }
        for bad in [
            "",
            "a b",
            "-x.test",
            "x..test",
            "*.test",
            "a.*.test",
            "under_score.test",
        ] {
            assert!(bad.parse::<Host>().is_err(), "{bad}");
        }
    }

    #[test]
    fn dev_hosts_always_cover_local_names_once() {
        let hosts = dev_hosts(&["localhost".parse().unwrap(), "app.test".parse().unwrap()]);
        assert_eq!(&hosts[..3], &local_hosts()[..]);
        assert_eq!(
            hosts
                .iter()
                .filter(|h| h.to_string() == "localhost")
                .count(),
            1
        );
        assert_eq!(hosts.last().unwrap().to_string(), "app.test");
    }

    #[test]
    fn fingerprint_is_colon_separated_sha256() {
        let fp = fingerprint(b"abc");
        assert_eq!(
            fp,
            "BA:78:16:BF:8F:01:CF:EA:41:41:40:DE:5D:AE:22:23:B0:03:61:A3:96:17:7A:9C:B4:10:FF:61:F2:00:15:AD"
        );
    }
}
