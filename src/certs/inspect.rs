//! Reading a certificate back: names, validity, CA flag, EKU, key, signature, fingerprint. Used
//! by the store to decide whether a development certificate can be reused, to print what is
//! served, and by `carafe cert show` ([`super::lint`]).

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{Host, fingerprint};

/// What carafe needs to know about a certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// DNS and IP SANs, in certificate order.
    pub hosts: Vec<Host>,
    /// The subject's organization (O), if any.
    pub organization: Option<String>,
    /// The subject's common name (CN), if any.
    pub common_name: Option<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// basicConstraints CA:TRUE.
    pub is_ca: bool,
    /// EKU includes serverAuth (or there is no EKU, which allows any use).
    pub server_auth: bool,
    /// SHA-256 fingerprint, `AB:CD:...`.
    pub fingerprint: String,
    /// The subject, as `CN=..., O=...`.
    pub subject: String,
    /// The issuer, as `CN=..., O=...`.
    pub issuer: String,
    /// Subject and issuer are the same name (a self-signed certificate, as `openssl req -x509`
    /// and `carafe cert new` make).
    pub self_issued: bool,
    /// The public key's type and size.
    pub public_key: PublicKeyKind,
    /// The DER SubjectPublicKeyInfo, to compare with a private key's.
    pub spki_der: Vec<u8>,
    /// The signature algorithm, by name (e.g. `ecdsa-with-SHA256`).
    pub signature_algorithm: String,
    /// The signature uses SHA-1, which browsers reject.
    pub sha1_signature: bool,
    /// The X.509 version: 1 (no extensions at all, what `openssl x509 -req` makes without
    /// `-extfile`) or 3.
    pub version: u32,
}

/// A certificate's public key type and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyKind {
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// ECDSA on a named curve.
    Ec {
        /// `P-256`, `P-384`, `P-521`, or the curve's OID.
        curve: String,
        /// Field size in bits.
        bits: usize,
    },
    /// Ed25519.
    Ed25519,
    /// Anything else, by algorithm OID.
    Other(String),
}

impl std::fmt::Display for PublicKeyKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PublicKeyKind::Rsa(bits) => write!(f, "RSA {bits}-bit"),
            PublicKeyKind::Ec { curve, bits } => write!(f, "ECDSA {curve} ({bits}-bit)"),
            PublicKeyKind::Ed25519 => f.write_str("Ed25519"),
            PublicKeyKind::Other(oid) => write!(f, "unknown ({oid})"),
        }
    }
}

/// Signature algorithm OIDs and their names (RFC 4055, RFC 5758, RFC 8410).
const SIGNATURE_NAMES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.4", "md5WithRSAEncryption"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
    ("1.3.101.112", "Ed25519"),
];

/// Signature algorithms on SHA-1 (or weaker), which browsers have rejected since 2017.
const WEAK_SIGNATURES: &[&str] = &[
    "1.2.840.113549.1.1.5",
    "1.2.840.113549.1.1.4",
    "1.2.840.10045.4.1",
    "1.2.840.10040.4.3",
];

fn public_key_kind(cert: &X509Certificate<'_>) -> PublicKeyKind {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => PublicKeyKind::Rsa(rsa.key_size()),
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .unwrap_or_default();
            let curve = match curve.as_str() {
                "1.2.840.10045.3.1.7" => "P-256".to_string(),
                "1.3.132.0.34" => "P-384".to_string(),
                "1.3.132.0.35" => "P-521".to_string(),
                _ => curve,
            };
            PublicKeyKind::Ec {
                curve,
                bits: point.key_size(),
            }
        }
        _ if algorithm == "1.3.101.112" => PublicKeyKind::Ed25519,
        _ => PublicKeyKind::Other(algorithm),
    }
}

/// Why a certificate could not be read.
#[derive(Debug, thiserror::Error)]
#[error("not a valid X.509 certificate: {0}")]
pub struct InspectError(String);

impl CertInfo {
    /// Parses a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, InspectError> {
        let (_, cert) = X509Certificate::from_der(der).map_err(|e| InspectError(e.to_string()))?;
        let mut hosts = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::DNSName(dns) => hosts.push(Host::Dns(dns.to_ascii_lowercase())),
                    GeneralName::IPAddress(bytes) => {
                        if let Ok(b) = <[u8; 4]>::try_from(*bytes) {
                            hosts.push(Host::Ip(IpAddr::from(b)));
                        } else if let Ok(b) = <[u8; 16]>::try_from(*bytes) {
                            hosts.push(Host::Ip(IpAddr::from(b)));
                        }
                    }
                    _ => {}
                }
            }
        }
        let first_attr = |mut it: Box<dyn Iterator<Item = _> + '_>| {
            it.next()
                .and_then(|a: &x509_parser::x509::AttributeTypeAndValue<'_>| a.as_str().ok())
                .map(str::to_owned)
        };
        let server_auth = match cert.extended_key_usage() {
            Ok(Some(eku)) => eku.value.server_auth || eku.value.any,
            Ok(None) => true,
            Err(_) => false,
        };
        let signature_oid = cert.signature_algorithm.algorithm.to_id_string();
        Ok(Self {
            hosts,
            organization: first_attr(Box::new(cert.subject().iter_organization())),
            common_name: first_attr(Box::new(cert.subject().iter_common_name())),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            is_ca: cert.is_ca(),
            server_auth,
            fingerprint: fingerprint(der),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            self_issued: cert.subject().as_raw() == cert.issuer().as_raw(),
            public_key: public_key_kind(&cert),
            spki_der: cert.public_key().raw.to_vec(),
            signature_algorithm: SIGNATURE_NAMES
                .iter()
                .find(|(oid, _)| *oid == signature_oid)
                .map_or_else(|| signature_oid.clone(), |(_, name)| (*name).to_string()),
            sha1_signature: WEAK_SIGNATURES.contains(&signature_oid.as_str()),
            version: cert.version().0 + 1,
        })
    }

    /// Whether every host in `wanted` is one of this certificate's SANs.
    pub fn covers(&self, wanted: &[Host]) -> bool {
        wanted.iter().all(|h| self.hosts.contains(h))
    }
}
