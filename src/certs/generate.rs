//! Certificate generation with rcgen (aws-lc-rs backend, the same provider rustls uses).
//!
//! A development leaf is what browsers and strict clients accept (DESIGN §3): ECDSA P-256, every
//! name as a SAN (IP addresses as iPAddress SANs — browsers ignore the CN), `CA:FALSE`,
//! digitalSignature, EKU serverAuth, notBefore an hour in the past (clock skew), and at most
//! [`MAX_VALIDITY_DAYS`] of validity (Apple's limit).

use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::Host;

/// Longest validity browsers accept for a TLS server certificate (Apple: 825 days).
pub const MAX_VALIDITY_DAYS: u32 = 825;

/// How far in the past notBefore is set, so a client whose clock is a little behind still
/// accepts a certificate made a moment ago.
const BACKDATE: Duration = Duration::hours(1);

/// The organization carafe writes into the subject of every certificate it makes; the store
/// uses it to recognise its own files and never overwrite anyone else's.
pub const CARAFE_ORGANIZATION: &str = "carafe development certificate";

/// A freshly generated certificate and its key.
#[derive(Debug, Clone)]
pub struct GeneratedCert {
    /// PEM of the certificate.
    pub cert_pem: String,
    /// PEM (PKCS#8) of the private key.
    pub key_pem: String,
    /// DER of the certificate.
    pub cert_der: CertificateDer<'static>,
}

/// Why a certificate could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The requested validity exceeds what browsers accept.
    #[error(
        "a validity of {0} days is refused: browsers reject server certificates valid for more than {MAX_VALIDITY_DAYS} days; use --days {MAX_VALIDITY_DAYS} or less (397 is what public CAs issue)"
    )]
    TooLong(u32),
    /// Zero days.
    #[error("--days must be at least 1")]
    TooShort,
    /// No names.
    #[error("a certificate needs at least one host name")]
    NoHosts,
    /// rcgen failed.
    #[error("certificate generation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
}

/// Makes a self-signed leaf certificate for `hosts`, valid for `days`.
pub fn self_signed(hosts: &[Host], days: u32) -> Result<GeneratedCert, GenerateError> {
    let params = leaf_params(hosts, days)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let cert = params.self_signed(&key)?;
    Ok(GeneratedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().clone(),
    })
}

/// The parameters of a development leaf for `hosts`, valid for `days` from now (see the module
/// docs); shared by the self-signed leaf and the one the local CA signs.
pub(crate) fn leaf_params(hosts: &[Host], days: u32) -> Result<CertificateParams, GenerateError> {
    if days > MAX_VALIDITY_DAYS {
        return Err(GenerateError::TooLong(days));
    }
    if days == 0 {
        return Err(GenerateError::TooShort);
    }
    let first = hosts.first().ok_or(GenerateError::NoHosts)?;

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, CARAFE_ORGANIZATION);
    dn.push(DnType::CommonName, first.to_string());
    params.distinguished_name = dn;
    params.subject_alt_names = hosts
        .iter()
        .map(|h| match h {
            Host::Dns(name) => Ok(SanType::DnsName(name.clone().try_into()?)),
            Host::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
    params.serial_number = Some(random_serial());
    Ok(params)
}

/// A random positive 128-bit serial (RFC 5280 §4.1.2.2: unique, at most 20 octets).
pub(crate) fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    // The system RNG failing is not recoverable; a fixed serial would still be valid.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{inspect::CertInfo, local_hosts};

    #[test]
    fn leaf_has_the_properties_browsers_require() {
        let mut hosts = local_hosts();
        hosts.push("dev.example.test".parse().unwrap());
        let cert = self_signed(&hosts, 365).unwrap();
        let info = CertInfo::from_der(&cert.cert_der).unwrap();
        assert_eq!(info.hosts, hosts);
        assert!(!info.is_ca);
        assert!(info.server_auth);
        assert_eq!(info.organization.as_deref(), Some(CARAFE_ORGANIZATION));
        let now = OffsetDateTime::now_utc();
        assert!(info.not_before < now - Duration::minutes(30));
        let days = (info.not_after - now).whole_days();
        assert!((364..=365).contains(&days), "{days}");
        assert!(cert.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn refuses_validity_over_825_days() {
        let err = self_signed(&local_hosts(), 3650).unwrap_err();
        assert!(err.to_string().contains("825"), "{err}");
        assert!(self_signed(&local_hosts(), 825).is_ok());
    }
}
