//! The intermediate's name constraints: which names a leaf of the local CA may carry, as an
//! rcgen extension for signing and as a check carafe makes before signing (so a refused name is
//! a clear error, not a certificate every client rejects).

use std::net::IpAddr;

use rcgen::{CidrSubnet, GeneralSubtree, NameConstraints};

use super::CaError;
use crate::certs::Host;

/// DNS names (and all their subdomains) the intermediate may sign for. Each is reserved and
/// never delegated in public DNS: `localhost` and `test` (RFC 6761), `local` (mDNS, RFC
/// 6762), `internal` (ICANN, 2024, for private use). RFC 5280 §4.2.1.10: a constraint matches
/// the name itself and any name with labels added on the left.
pub const PERMITTED_DNS: &[&str] = &["localhost", "test", "local", "internal"];

/// Address ranges the intermediate may sign for: loopback, and the private ranges of RFC 1918
/// and RFC 4193 (a LAN address lets a phone on the same network reach the dev server).
pub const PERMITTED_IPS: &[(&str, u8)] = &[
    ("127.0.0.0", 8),
    ("10.0.0.0", 8),
    ("172.16.0.0", 12),
    ("192.168.0.0", 16),
    ("::1", 128),
    ("fc00::", 7),
];

/// The intermediate's name constraints (see the module's SECURITY note).
pub fn name_constraints() -> NameConstraints {
    let mut permitted: Vec<GeneralSubtree> = PERMITTED_DNS
        .iter()
        .map(|d| GeneralSubtree::DnsName((*d).to_string()))
        .collect();
    for (addr, prefix) in PERMITTED_IPS {
        // The table above is constant and every entry parses.
        if let Ok(ip) = addr.parse::<IpAddr>() {
            permitted.push(GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                ip, *prefix,
            )));
        }
    }
    NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    }
}

/// Whether the intermediate's constraints allow `host`.
pub fn permits(host: &Host) -> bool {
    match host {
        Host::Dns(name) => PERMITTED_DNS
            .iter()
            .any(|base| name == base || name.ends_with(&format!(".{base}"))),
        Host::Ip(ip) => PERMITTED_IPS.iter().any(|(addr, prefix)| {
            addr.parse::<IpAddr>()
                .is_ok_and(|net| in_subnet(*ip, net, *prefix))
        }),
    }
}

fn in_subnet(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    let (ip, net, bits): (u128, u128, u32) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a).into(), u32::from(b).into(), 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (a.into(), b.into(), 128),
        _ => return false,
    };
    let shift = bits - u32::from(prefix).min(bits);
    let mask = if shift >= 128 { 0 } else { u128::MAX << shift };
    (ip & mask) == (net & mask)
}

/// The names of a CA-signed development leaf: those of `--tls gen` ([`crate::certs::dev_hosts`]) that
/// the constraints allow. The machine's host name is dropped when outside them (a bare
/// `myhost` would make every client reject the whole certificate) and, when it is a single
/// label, replaced by `myhost.local`, its mDNS name. A `--host` outside them is an error.
pub fn ca_hosts(extra: &[Host]) -> Result<Vec<Host>, CaError> {
    let refused: Vec<String> = extra
        .iter()
        .filter(|h| !permits(h))
        .map(Host::to_string)
        .collect();
    if !refused.is_empty() {
        return Err(CaError::NotPermitted { names: refused });
    }
    let mut hosts = Vec::new();
    for host in crate::certs::dev_hosts(extra) {
        if permits(&host) {
            hosts.push(host);
        } else if let Host::Dns(name) = &host
            && !name.contains('.')
            && let Ok(local) = format!("{name}.local").parse::<Host>()
        {
            hosts.push(local);
        }
    }
    let mut seen = std::collections::HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_allow_only_local_names() {
        for ok in [
            "localhost",
            "app.localhost",
            "a.b.test",
            "mybox.local",
            "db.internal",
            "127.0.0.1",
            "127.9.9.9",
            "::1",
            "10.1.2.3",
            "172.31.255.1",
            "192.168.1.20",
            "fd12:3456::1",
        ] {
            assert!(permits(&ok.parse().unwrap()), "{ok}");
        }
        for bad in [
            "example.com",
            "localhost.example.com",
            "nottest",
            "mytest",
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "::2",
            "2001:db8::1",
        ] {
            assert!(!permits(&bad.parse().unwrap()), "{bad}");
        }
    }

    #[test]
    fn ca_hosts_refuses_public_names_and_keeps_local_ones() {
        let err = ca_hosts(&["example.com".parse().unwrap()]).unwrap_err();
        assert!(err.to_string().contains("not example.com"), "{err}");
        let hosts = ca_hosts(&["app.test".parse().unwrap()]).unwrap();
        assert_eq!(&hosts[..3], &crate::certs::local_hosts()[..]);
        assert!(hosts.contains(&"app.test".parse().unwrap()));
        assert!(hosts.iter().all(permits), "{hosts:?}");
    }
}
