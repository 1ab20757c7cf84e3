//! Certificate signing requests (PKCS#10, RFC 2986) for a real CA: what `openssl req -new`
//! made in the Flask tutorial. Every name goes into the requested subjectAltName (CAs copy the
//! SANs; browsers ignore the CN), the first name is also the CN, and serverAuth is requested.

use rcgen::{ExtendedKeyUsagePurpose, KeyPair};

use super::Host;
use super::generate::{GenerateError, subject_params};

/// Makes a PEM CSR for `hosts`, signed with `key`.
pub fn request(hosts: &[Host], key: &KeyPair) -> Result<String, GenerateError> {
    // No organization: a CA validates and fills in the subject itself, and a made-up O would
    // only be dropped (or, by an OV CA, questioned).
    let mut params = subject_params(hosts, "")?;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    Ok(params.serialize_request(key)?.pem()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::KeyType;
    use x509_parser::prelude::FromDer;

    #[test]
    fn request_carries_every_name_as_a_san() {
        let key = KeyType::EcdsaP256.generate().unwrap();
        let hosts: Vec<Host> = vec![
            "www.example.test".parse().unwrap(),
            "10.0.0.1".parse().unwrap(),
        ];
        let pem = request(&hosts, &key).unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE REQUEST-----"));
        let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
            .map(|d: rustls::pki_types::CertificateSigningRequestDer<'_>| d.as_ref().to_vec())
            .unwrap();
        let (_, csr) =
            x509_parser::certification_request::X509CertificationRequest::from_der(&der).unwrap();
        let exts: Vec<_> = csr.requested_extensions().into_iter().flatten().collect();
        let text = format!("{exts:?}");
        assert!(text.contains("www.example.test"), "{text}");
        assert_eq!(
            csr.certification_request_info.subject.to_string(),
            "CN=www.example.test"
        );
    }
}
