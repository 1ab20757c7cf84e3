//! The "cert doctor": what browsers and strict clients reject in a server certificate, each
//! finding with the reason and the carafe command that makes a good one.
//!
//! The rules are the ones that break real setups, most of them made by the openssl commands of
//! the Flask tutorial (`openssl req -x509` / `openssl x509 -req -signkey`): a CN without a SAN
//! (browsers have ignored the CN since Chrome 58 and RFC 6125), `CA:TRUE` from openssl's default
//! `v3_ca` section (webpki/rustls and Python 3.13's `VERIFY_X509_STRICT` reject a CA as a
//! leaf), an X.509 v1 certificate from `openssl x509 -req`, validity over Apple's 825 days, small RSA keys, SHA-1, a missing serverAuth EKU, and
//! dates.

use std::fmt;

use time::OffsetDateTime;

use super::MAX_VALIDITY_DAYS;
use super::inspect::{CertInfo, PublicKeyKind};

/// Most days Apple and Chrome accept for a publicly trusted certificate (CA/B Forum, 2020).
pub const PUBLIC_MAX_VALIDITY_DAYS: i64 = 398;

/// Smallest RSA modulus browsers accept.
pub const MIN_RSA_BITS: usize = 2048;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing; clients still accept the certificate.
    Note,
    /// Browsers or strict clients reject the certificate.
    Problem,
}

/// One thing wrong (or worth knowing) about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// What is wrong and why it matters.
    pub message: String,
    /// The command that makes a certificate without this problem, when there is one.
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.severity {
            Severity::Problem => "problem",
            Severity::Note => "note",
        };
        write!(f, "{tag}: {}", self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, "; fix: {fix}")?;
        }
        Ok(())
    }
}

/// Lints `info` as a TLS server certificate at time `now`.
pub fn lint(info: &CertInfo, now: OffsetDateTime) -> Vec<Finding> {
    let fix = Some(fix_command(info));
    let problem = |message: String| Finding {
        severity: Severity::Problem,
        message,
        fix: fix.clone(),
    };
    let mut findings = Vec::new();

    if info.version < 3 {
        findings.push(problem(format!(
            "an X.509 v{} certificate (what `openssl x509 -req` makes without -extfile): it has no extensions, so no SAN, and rustls/webpki-based clients reject it outright",
            info.version
        )));
    }
    if info.hosts.is_empty() {
        let cn = info
            .common_name
            .as_deref()
            .map_or_else(String::new, |cn| format!(" (CN={cn})"));
        findings.push(problem(format!(
            "no subjectAltName{cn}: browsers ignore the CN and reject the certificate (ERR_CERT_COMMON_NAME_INVALID); every name must be a SAN"
        )));
    }
    let days = (info.not_after - info.not_before).whole_days();
    if days > i64::from(MAX_VALIDITY_DAYS) {
        findings.push(problem(format!(
            "valid for {days} days: Apple platforms (Safari, macOS, iOS) reject TLS server certificates valid for more than {MAX_VALIDITY_DAYS} days"
        )));
    } else if days > PUBLIC_MAX_VALIDITY_DAYS {
        findings.push(Finding {
            severity: Severity::Note,
            message: format!(
                "valid for {days} days: more than the {PUBLIC_MAX_VALIDITY_DAYS} days Apple and Chrome allow for publicly trusted certificates; fine for a self-signed or private-CA one"
            ),
            fix: None,
        });
    }
    if info.is_ca {
        findings.push(problem(
            "marked CA:TRUE (openssl's default for `req -x509`): rustls/webpki-based clients and Python 3.13's strict verification reject a CA certificate used as a server certificate".into(),
        ));
    }
    match &info.public_key {
        PublicKeyKind::Rsa(bits) if *bits < MIN_RSA_BITS => findings.push(problem(format!(
            "RSA key of {bits} bits: browsers and OpenSSL (security level 1 and up) reject RSA keys under {MIN_RSA_BITS} bits"
        ))),
        PublicKeyKind::Ed25519 => findings.push(problem(
            "Ed25519 key: browsers (Chrome, Firefox, Safari) reject Ed25519 for TLS server certificates".into(),
        )),
        _ => {}
    }
    if !info.server_auth {
        findings.push(problem(
            "its extendedKeyUsage lacks serverAuth: browsers and TLS clients refuse it for HTTPS"
                .into(),
        ));
    }
    if info.sha1_signature {
        findings.push(problem(format!(
            "signed with {}: browsers have rejected SHA-1 signatures since 2017",
            info.signature_algorithm
        )));
    }
    if info.not_after < now {
        findings.push(problem(format!(
            "expired on {}: every client rejects it",
            info.not_after.date()
        )));
    }
    if info.not_before > now {
        findings.push(problem(format!(
            "not valid before {}: clients reject it until then (is a clock wrong?)",
            info.not_before.date()
        )));
    }
    if info.self_issued {
        findings.push(Finding {
            severity: Severity::Note,
            message: "self-signed: clients trust it only after it is imported as a trusted certificate (or passed as --cacert/cafile); fine for development".into(),
            fix: None,
        });
    }
    findings
}

/// `carafe cert new` for the names this certificate was meant for: its SANs, else its CN, else
/// a placeholder.
fn fix_command(info: &CertInfo) -> String {
    let mut names: Vec<String> = info.hosts.iter().map(ToString::to_string).collect();
    if names.is_empty() {
        names.push(
            info.common_name
                .clone()
                .filter(|cn| cn.parse::<super::Host>().is_ok())
                .unwrap_or_else(|| "example.test".into()),
        );
    }
    let hosts: Vec<String> = names.iter().map(|n| format!("--host {n}")).collect();
    format!("carafe cert new {}", hosts.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::generate::self_signed;
    use crate::certs::local_hosts;

    #[test]
    fn a_carafe_certificate_has_only_the_self_signed_note() {
        let cert = self_signed(&local_hosts(), 365).unwrap();
        let info = CertInfo::from_der(&cert.cert_der).unwrap();
        let findings = lint(&info, OffsetDateTime::now_utc());
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].severity, Severity::Note);
        assert!(findings[0].message.starts_with("self-signed"));
    }

    #[test]
    fn a_cn_only_ca_certificate_for_ten_years_has_each_problem() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "legacy.test");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.not_before = OffsetDateTime::now_utc() - time::Duration::days(4000);
        params.not_after = OffsetDateTime::now_utc() - time::Duration::days(1);
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.self_signed(&key).unwrap();
        let info = CertInfo::from_der(cert.der()).unwrap();
        let findings = lint(&info, OffsetDateTime::now_utc());
        let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
        for want in [
            "no subjectAltName (CN=legacy.test)",
            "more than 825 days",
            "CA:TRUE",
            "lacks serverAuth",
            "expired on",
            "note: self-signed",
        ] {
            assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:#?}");
        }
        assert!(
            text[0].ends_with("fix: carafe cert new --host legacy.test"),
            "{}",
            text[0]
        );
    }
}
