//! A new intermediate before the old one runs out, signed by the root that stayed on disk, so
//! the browsers that trust the root never need a new import (the reason the root key is kept).
//!
//! SECURITY: nothing is lost or overwritten in place. The old intermediate and its key get a
//! second name (`intermediate-until-DATE.crt`/`.key`, a hard link, which fails rather than
//! replacing an existing file), and the new pair is written to temporary files (key mode 0600
//! from the first byte) that are then renamed over the current names.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{Issuer, KeyPair, PKCS_ECDSA_P256_SHA256, PublicKeyData};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::{CERT_MODE, CaError, LocalCa, intermediate_params};
use crate::certs::store::{KEY_MODE, write_new};

/// `carafe cert ca` replaces an intermediate with less than this left (leaves are renewed 30
/// days before their end, and cannot outlive the intermediate).
pub const RENEW_INTERMEDIATE_BEFORE: Duration = Duration::days(60);

/// What [`renew_intermediate_if_due`] did.
#[derive(Debug, Clone)]
pub struct RenewedIntermediate {
    /// Why: when the old one ends.
    pub reason: String,
    /// Where the old certificate is kept.
    pub old_cert: PathBuf,
    /// Where the old key is kept.
    pub old_key: PathBuf,
}

/// Issues a new intermediate with the root when the current one has less than
/// [`RENEW_INTERMEDIATE_BEFORE`] left; `None` when it does not need it. Open the CA again
/// afterwards to use the new one.
pub fn renew_intermediate_if_due(ca: &LocalCa) -> Result<Option<RenewedIntermediate>, CaError> {
    let now = OffsetDateTime::now_utc();
    let left = ca.intermediate.not_after - now;
    if left > RENEW_INTERMEDIATE_BEFORE {
        return Ok(None);
    }
    let paths = &ca.paths;
    if ca.root.not_after - now < RENEW_INTERMEDIATE_BEFORE {
        return Err(CaError::RootExpired {
            path: paths.root_cert.clone(),
            date: ca.root.not_after.date(),
            dir: paths.dir.clone(),
        });
    }
    let invalid = |path: &Path, reason: String| CaError::Invalid {
        path: path.to_path_buf(),
        reason,
    };
    let root_pem = fs::read_to_string(&paths.root_key).map_err(|cause| CaError::Io {
        path: paths.root_key.clone(),
        cause,
    })?;
    let root_key =
        KeyPair::from_pem(&root_pem).map_err(|e| invalid(&paths.root_key, e.to_string()))?;
    let (_, root_x509) = X509Certificate::from_der(&ca.root_der)
        .map_err(|e| invalid(&paths.root_cert, e.to_string()))?;
    if root_key.subject_public_key_info() != root_x509.public_key().raw {
        return Err(invalid(&paths.root_key, "does not match root.crt".into()));
    }
    let root = Issuer::from_ca_cert_der(&ca.root_der, root_key)?;
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let params = intermediate_params(&ca.owner, &ca.id, ca.root.not_after);
    let cert = params.signed_by(&key, &root)?;

    let until = ca.intermediate.not_after.date();
    let keep = |path: &Path| {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let ext = path.extension().unwrap_or_default().to_string_lossy();
        path.with_file_name(format!("{stem}-until-{until}.{ext}"))
    };
    let (old_cert, old_key) = (
        keep(&paths.intermediate_cert),
        keep(&paths.intermediate_key),
    );
    for (from, to) in [
        (&paths.intermediate_cert, &old_cert),
        (&paths.intermediate_key, &old_key),
    ] {
        fs::hard_link(from, to).map_err(|cause| CaError::Io {
            path: to.clone(),
            cause,
        })?;
    }
    let tmp = |path: &Path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        path.with_file_name(format!(".{name}.new-{}", std::process::id()))
    };
    let staged = [
        (&paths.intermediate_key, key.serialize_pem(), KEY_MODE),
        (&paths.intermediate_cert, cert.pem(), CERT_MODE),
    ];
    for (path, contents, mode) in &staged {
        let _ = fs::remove_file(tmp(path));
        write_new(&tmp(path), contents.as_bytes(), *mode).map_err(|cause| CaError::Io {
            path: tmp(path),
            cause,
        })?;
    }
    for (path, _, _) in &staged {
        fs::rename(tmp(path), path).map_err(|cause| CaError::Io {
            path: path.to_path_buf(),
            cause,
        })?;
    }
    let reason = if left.is_negative() {
        format!("it expired on {until}")
    } else {
        format!("it expires on {until}, in {} days", left.whole_days())
    };
    Ok(Some(RenewedIntermediate {
        reason,
        old_cert,
        old_key,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::ca::{open, open_or_create};

    /// Replaces the intermediate with one (same name, signed by the root) ending in `days`.
    fn age_intermediate(ca: &LocalCa, days: i64) {
        let root_key = KeyPair::from_pem(&fs::read_to_string(&ca.paths.root_key).unwrap()).unwrap();
        let root = Issuer::from_ca_cert_der(&ca.root_der, root_key).unwrap();
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = intermediate_params(&ca.owner, &ca.id, ca.root.not_after);
        params.not_after = OffsetDateTime::now_utc() + Duration::days(days);
        let cert = params.signed_by(&key, &root).unwrap();
        fs::write(&ca.paths.intermediate_cert, cert.pem()).unwrap();
        fs::write(&ca.paths.intermediate_key, key.serialize_pem()).unwrap();
    }

    #[test]
    fn a_fresh_intermediate_is_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(tmp.path()).unwrap();
        assert!(renew_intermediate_if_due(&ca).unwrap().is_none());
    }

    #[test]
    fn an_ending_intermediate_is_replaced_under_the_same_root_and_the_old_one_kept() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(tmp.path()).unwrap();
        age_intermediate(&ca, 10);
        let aged = open(tmp.path()).unwrap();
        let old_pem = fs::read(&aged.paths.intermediate_cert).unwrap();
        let root_before = fs::read(&aged.paths.root_cert).unwrap();
        let leaf = aged.issue_leaf(&crate::certs::local_hosts(), 365).unwrap();
        let leaf_info = crate::certs::CertInfo::from_der(&leaf.cert_der).unwrap();
        assert_eq!(leaf_info.not_after, aged.intermediate.not_after);

        let renewed = renew_intermediate_if_due(&aged).unwrap().expect("renewed");
        assert!(renewed.reason.contains("in 9 days") || renewed.reason.contains("in 10 days"));
        assert_eq!(fs::read(&renewed.old_cert).unwrap(), old_pem);
        assert!(renewed.old_key.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&aged.paths.intermediate_key)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let fresh = open(tmp.path()).unwrap();
        assert_eq!(fs::read(&fresh.paths.root_cert).unwrap(), root_before);
        assert_eq!(fresh.id, ca.id);
        let days = (fresh.intermediate.not_after - OffsetDateTime::now_utc()).whole_days();
        assert!((824..=825).contains(&days), "{days}");
        assert!(renew_intermediate_if_due(&fresh).unwrap().is_none());
        let chain = [
            leaf.cert_der.clone(),
            rustls::pki_types::CertificateDer::from(old_pem_der(&old_pem)),
        ];
        assert!(
            !fresh.issued(&chain),
            "leaves of the old intermediate are reissued"
        );
        assert!(fresh.issue_leaf(&crate::certs::local_hosts(), 365).is_ok());
    }

    fn old_pem_der(pem: &[u8]) -> Vec<u8> {
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(pem)
            .unwrap()
            .to_vec()
    }
}
