//! Reading a certificate back: names, validity, CA flag, EKU, fingerprint. Used by the store to
//! decide whether a development certificate can be reused, and to print what is served.

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
        Ok(Self {
            hosts,
            organization: first_attr(Box::new(cert.subject().iter_organization())),
            common_name: first_attr(Box::new(cert.subject().iter_common_name())),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            is_ca: cert.is_ca(),
            server_auth,
            fingerprint: fingerprint(der),
        })
    }

    /// Whether every host in `wanted` is one of this certificate's SANs.
    pub fn covers(&self, wanted: &[Host]) -> bool {
        wanted.iter().all(|h| self.hosts.contains(h))
    }
}
