//! The CA-signed development leaf of `serve --tls ca`, kept in `certs/` next to the `gen` one:
//! reused while it is carafe's, covers the names, has more than
//! [`RENEW_BEFORE`](super::store::RENEW_BEFORE) left and was issued by the current local CA;
//! otherwise issued again. The certificate file holds the chain (leaf, then intermediate) so a client that trusts only the root can verify it.
//!
//! SECURITY: the same rules as [`super::store`]: keys are 0600 from the first byte, and a file
//! carafe did not make (or a key that does not match) is never overwritten.

use std::path::Path;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::Host;
use super::ca::{CaError, LocalCa};
use super::store::{
    DEV_CERT_DAYS, DevCert, DevCertStatus, StoreError, key_matches, read_own_cert, stale_reason,
    store_new,
};

/// File name of the CA-signed certificate chain inside `certs/`.
pub const CA_LEAF_CERT_FILE: &str = "carafe-ca-leaf.crt";
/// File name of its key inside `certs/`.
pub const CA_LEAF_KEY_FILE: &str = "carafe-ca-leaf.key";

/// Why the CA-signed leaf could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum CaLeafError {
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The CA could not sign.
    #[error(transparent)]
    Ca(#[from] CaError),
}

/// Returns the CA-signed development certificate in `dir` for `hosts`, issuing it with `ca`
/// when there is none or the existing one cannot be reused.
pub fn ensure_ca_leaf(dir: &Path, hosts: &[Host], ca: &LocalCa) -> Result<DevCert, CaLeafError> {
    let cert_path = dir.join(CA_LEAF_CERT_FILE);
    let key_path = dir.join(CA_LEAF_KEY_FILE);
    let renew_reason = match (cert_path.exists(), key_path.exists()) {
        (false, false) => None,
        (false, true) => return Err(StoreError::Foreign(key_path).into()),
        (true, key_exists) => {
            let info = read_own_cert(&cert_path)?;
            if key_exists && !key_matches(&cert_path, &key_path) {
                return Err(StoreError::UnmatchedKey {
                    key: key_path,
                    cert: cert_path,
                }
                .into());
            }
            if !key_exists {
                Some(format!("{} was missing", key_path.display()))
            } else if !ca.issued(&read_chain(&cert_path)) {
                Some(format!(
                    "it was not issued by the local CA in {}",
                    ca.paths.dir.display()
                ))
            } else if let Some(reason) = stale_reason(&info, hosts, &cert_path) {
                Some(reason)
            } else {
                return Ok(DevCert {
                    cert_path,
                    key_path,
                    info,
                    status: DevCertStatus::Reused,
                });
            }
        }
    };
    let issued = ca.issue_leaf(hosts, DEV_CERT_DAYS)?;
    Ok(store_new(cert_path, key_path, &issued, renew_reason)?)
}

fn read_chain(path: &Path) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_file_iter(path)
        .map(|it| it.filter_map(Result::ok).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::ca::open_or_create;
    use crate::certs::local_hosts;
    use std::fs;

    #[test]
    fn issues_then_reuses_then_reissues_for_a_new_ca_or_host() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let certs = tmp.path().join("certs");
        let hosts = local_hosts();
        let first = ensure_ca_leaf(&certs, &hosts, &ca).unwrap();
        assert_eq!(first.status, DevCertStatus::Created);
        let pem = fs::read_to_string(&first.cert_path).unwrap();
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2);

        let second = ensure_ca_leaf(&certs, &hosts, &ca).unwrap();
        assert_eq!(second.status, DevCertStatus::Reused);
        assert_eq!(second.info.fingerprint, first.info.fingerprint);

        let mut more = hosts.clone();
        more.push("app.test".parse().unwrap());
        let third = ensure_ca_leaf(&certs, &more, &ca).unwrap();
        assert!(matches!(third.status, DevCertStatus::Renewed(ref r) if r.contains("app.test")));

        let (other, _) = open_or_create(&tmp.path().join("other-ca")).unwrap();
        let fourth = ensure_ca_leaf(&certs, &more, &other).unwrap();
        assert!(
            matches!(fourth.status, DevCertStatus::Renewed(ref r) if r.contains("not issued by")),
            "{:?}",
            fourth.status
        );
    }

    #[test]
    fn never_overwrites_a_foreign_file() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(&tmp.path().join("ca")).unwrap();
        let certs = tmp.path().join("certs");
        fs::create_dir_all(&certs).unwrap();
        fs::write(certs.join(CA_LEAF_KEY_FILE), "mine").unwrap();
        let err = ensure_ca_leaf(&certs, &local_hosts(), &ca).unwrap_err();
        assert!(err.to_string().contains("not made by carafe"), "{err}");
        assert_eq!(
            fs::read_to_string(certs.join(CA_LEAF_KEY_FILE)).unwrap(),
            "mine"
        );
    }
}
