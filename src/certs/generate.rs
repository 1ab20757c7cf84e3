//! Certificate generation with rcgen (aws-lc-rs backend, the same provider rustls uses).
//!
//! A development leaf is what browsers and strict clients accept (DESIGN §3): ECDSA P-256 by
//! default (or another [`KeyType`]), every name as a SAN (IP addresses as iPAddress SANs — browsers ignore the CN), `CA:FALSE`,
//! digitalSignature (plus keyEncipherment for RSA), EKU serverAuth, notBefore an hour in the past (clock skew), and at most
//! [`MAX_VALIDITY_DAYS`] of validity (Apple's limit).

use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    PublicKeyData, SanType, SerialNumber,
};
use rustls::pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::Host;
use super::key_type::KeyType;

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
    /// The kind of key.
    pub key_type: KeyType,
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

/// Makes a self-signed leaf certificate for `hosts`, valid for `days`, with an ECDSA P-256 key.
pub fn self_signed(hosts: &[Host], days: u32) -> Result<GeneratedCert, GenerateError> {
    self_signed_with(hosts, days, KeyType::EcdsaP256)
}

/// Makes a self-signed leaf certificate for `hosts`, valid for `days`, with a new key of
/// `key_type`.
pub fn self_signed_with(
    hosts: &[Host],
    days: u32,
    key_type: KeyType,
) -> Result<GeneratedCert, GenerateError> {
    let mut params = leaf_params(hosts, days, key_type)?;
    let key = key_type.generate()?;
    mark_not_ca(&mut params, &key);
    mark_issuer(&mut params, &key);
    let cert = params.self_signed(&key)?;
    Ok(GeneratedCert {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        cert_der: cert.der().clone(),
        key_type,
    })
}

/// The parameters of a development leaf for `hosts`, valid for `days` from now, for a key of
/// `key_type` (see the module docs); shared by the self-signed leaf and the one the local CA
/// signs. The caller marks it [`mark_not_ca`] once the key exists.
pub(crate) fn leaf_params(
    hosts: &[Host],
    days: u32,
    key_type: KeyType,
) -> Result<CertificateParams, GenerateError> {
    if days > MAX_VALIDITY_DAYS {
        return Err(GenerateError::TooLong(days));
    }
    if days == 0 {
        return Err(GenerateError::TooShort);
    }
    let mut params = subject_params(hosts, CARAFE_ORGANIZATION)?;
    params.key_usages = key_type.key_usages();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - BACKDATE;
    params.not_after = now + Duration::days(i64::from(days));
    params.serial_number = Some(random_serial());
    Ok(params)
}

/// Parameters naming `hosts`: every one as a SAN (what browsers check), the first also as the
/// CN (what people read), and `organization` as O. Shared by leaves and CSRs.
pub(crate) fn subject_params(
    hosts: &[Host],
    organization: &str,
) -> Result<CertificateParams, GenerateError> {
    let first = hosts.first().ok_or(GenerateError::NoHosts)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    if !organization.is_empty() {
        dn.push(DnType::OrganizationName, organization);
    }
    dn.push(DnType::CommonName, first.to_string());
    params.distinguished_name = dn;
    params.subject_alt_names = hosts
        .iter()
        .map(|h| match h {
            Host::Dns(name) => Ok(SanType::DnsName(name.clone().try_into()?)),
            Host::Ip(ip) => Ok(SanType::IpAddress(*ip)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    Ok(params)
}

/// Marks a leaf `CA:FALSE` in valid DER, with a subject key identifier.
///
/// rcgen's `IsCa::ExplicitNoCa` writes the `cA` flag's default value (`FALSE`) explicitly,
/// which DER forbids: strict parsers such as Python's `cryptography` (and so sslyze) reject the
/// whole certificate. DER's `CA:FALSE` is an empty basicConstraints sequence, written here as
/// a critical extension, as public CAs do.
pub fn mark_not_ca(params: &mut CertificateParams, key: &impl PublicKeyData) {
    const BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
    const SUBJECT_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 14];
    params.is_ca = IsCa::NoCa;
    let mut basic = CustomExtension::from_oid_content(BASIC_CONSTRAINTS, vec![0x30, 0x00]);
    basic.set_criticality(true);
    // RFC 7093 §2 method 1: the leftmost 160 bits of the SHA-256 of the public key.
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key.der_bytes());
    let mut ski = vec![0x04, 20];
    ski.extend_from_slice(&digest.as_ref()[..20]);
    params.custom_extensions.push(basic);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            SUBJECT_KEY_IDENTIFIER,
            ski,
        ));
}

/// Adds an authority key identifier naming `issuer_key` (for a self-signed leaf, its own key,
/// as `openssl req -x509` does): strict verifiers (Python's `cryptography`, used by sslyze)
/// require it on every certificate that is not a root.
pub fn mark_issuer(params: &mut CertificateParams, issuer_key: &impl PublicKeyData) {
    const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, issuer_key.der_bytes());
    // SEQUENCE { [0] IMPLICIT OCTET STRING keyIdentifier }
    let mut aki = vec![0x30, 22, 0x80, 20];
    aki.extend_from_slice(&digest.as_ref()[..20]);
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            AUTHORITY_KEY_IDENTIFIER,
            aki,
        ));
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
        // basicConstraints is present, critical, and DER-valid (an empty sequence, not an
        // explicit `cA FALSE`, which strict parsers reject).
        let (_, x509) = x509_parser::parse_x509_certificate(&cert.cert_der).unwrap();
        let basic = x509.basic_constraints().unwrap().expect("basicConstraints");
        assert!(basic.critical && !basic.value.ca);
        let ext = x509
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "2.5.29.19")
            .unwrap();
        assert_eq!(ext.value, [0x30, 0x00]);
        assert!(
            x509.extensions()
                .iter()
                .any(|e| e.oid.to_id_string() == "2.5.29.14")
        );
        assert_eq!(info.organization.as_deref(), Some(CARAFE_ORGANIZATION));
        let now = OffsetDateTime::now_utc();
        assert!(info.not_before < now - Duration::minutes(30));
        let days = (info.not_after - now).whole_days();
        assert!((364..=365).contains(&days), "{days}");
        assert!(cert.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn rsa_leaf_also_has_key_encipherment() {
        let cert = self_signed_with(&local_hosts(), 30, KeyType::Rsa2048).unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(&cert.cert_der).unwrap();
        let ku = x509.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && ku.key_encipherment());
        assert!(!x509.is_ca());
        let p256 = self_signed(&local_hosts(), 30).unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(&p256.cert_der).unwrap();
        let ku = x509.key_usage().unwrap().unwrap().value;
        assert!(ku.digital_signature() && !ku.key_encipherment());
    }

    #[test]
    fn refuses_validity_over_825_days() {
        let err = self_signed(&local_hosts(), 3650).unwrap_err();
        assert!(err.to_string().contains("825"), "{err}");
        assert!(self_signed(&local_hosts(), 825).is_ok());
    }
}
