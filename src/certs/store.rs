//! The `certs/` store: the development certificate of `serve --tls gen`, and safe writing of
//! certificate/key pairs for `carafe cert new`.
//!
//! SECURITY: keys are created with mode 0600 from the first byte (`create_new` + mode, never
//! `File::create` then chmod). A file carafe did not make is never overwritten: a development
//! certificate is recognised by the organization carafe writes into its subject, and its key
//! must match it. Replacements go through a temporary file and a rename, so a crash leaves the
//! old file or the new one, never half of one.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime};

use super::generate::{self, CARAFE_ORGANIZATION, GenerateError, GeneratedCert};
use super::{CertInfo, Host};

/// File name of the development certificate inside `certs/`.
pub const DEV_CERT_FILE: &str = "carafe-dev.crt";
/// File name of the development key inside `certs/`.
pub const DEV_KEY_FILE: &str = "carafe-dev.key";
/// Validity of a development certificate.
pub const DEV_CERT_DAYS: u32 = 365;
/// A development certificate with less than this left is renewed at start.
pub const RENEW_BEFORE: Duration = Duration::days(30);

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_MODE: u32 = 0o644;

/// What happened to the development certificate at start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DevCertStatus {
    /// None existed; one was made.
    Created,
    /// The existing one covers the names and has time left.
    Reused,
    /// The existing one (carafe's own) was replaced, for this reason.
    Renewed(String),
}

/// The development certificate in use.
#[derive(Debug, Clone)]
pub struct DevCert {
    /// Path of the certificate.
    pub cert_path: PathBuf,
    /// Path of the key.
    pub key_path: PathBuf,
    /// What the certificate says.
    pub info: CertInfo,
    /// Created, reused or renewed.
    pub status: DevCertStatus,
}

/// Why the store could not provide or write a certificate.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file carafe did not make is in the way.
    #[error("{} exists but was not made by carafe, and carafe never overwrites it; move it away, or serve it with --cert/--key", .0.display())]
    Foreign(PathBuf),
    /// A key that does not belong to carafe's certificate.
    #[error("{} does not match {}; carafe will not overwrite a key it cannot account for; delete both files to get a new pair", .key.display(), .cert.display())]
    UnmatchedKey {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },
    /// A file exists and `--force` was not given.
    #[error("{} already exists; pass --force to replace it, or --out to write elsewhere", .0.display())]
    Exists(PathBuf),
    /// Reading or writing failed.
    #[error("cannot write {}: {cause}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        cause: io::Error,
    },
    /// Generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
}

/// Returns the development certificate in `dir` for `hosts`: reused when it is carafe's, covers
/// every host and has more than [`RENEW_BEFORE`] left; otherwise made (or remade) and written.
pub fn ensure_dev_cert(dir: &Path, hosts: &[Host]) -> Result<DevCert, StoreError> {
    let cert_path = dir.join(DEV_CERT_FILE);
    let key_path = dir.join(DEV_KEY_FILE);
    let renew_reason = match (cert_path.exists(), key_path.exists()) {
        (false, false) => None,
        (false, true) => return Err(StoreError::Foreign(key_path)),
        (true, key_exists) => {
            let info = read_own_cert(&cert_path)?;
            if key_exists && !key_matches(&cert_path, &key_path) {
                return Err(StoreError::UnmatchedKey {
                    key: key_path,
                    cert: cert_path,
                });
            }
            if !key_exists {
                Some(format!("{} was missing", key_path.display()))
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
    let generated = generate::self_signed(hosts, DEV_CERT_DAYS)?;
    store_new(cert_path, key_path, &generated, renew_reason)
}

/// Why carafe's own certificate at `cert_path` (parsed as `info`) must be made again for
/// `hosts`, if it must: a name missing, fewer than [`RENEW_BEFORE`] left, or the DER encoding
/// older carafe versions wrote.
pub(crate) fn stale_reason(info: &CertInfo, hosts: &[Host], cert_path: &Path) -> Option<String> {
    let left = info.not_after - OffsetDateTime::now_utc();
    if !info.covers(hosts) {
        let missing: Vec<String> = hosts
            .iter()
            .filter(|h| !info.hosts.contains(h))
            .map(Host::to_string)
            .collect();
        Some(format!("it does not cover {}", missing.join(", ")))
    } else if left < RENEW_BEFORE {
        Some(format!("it expires in {} days", left.whole_days().max(0)))
    } else if encodes_explicit_ca_false(cert_path) {
        Some("it was made by an older carafe with a CA:FALSE encoding strict clients reject".into())
    } else {
        None
    }
}

/// Writes a freshly made certificate: as new files when there were none (`renew_reason` is
/// `None`), else replacing carafe's own old pair atomically, for that reason.
pub(crate) fn store_new(
    cert_path: PathBuf,
    key_path: PathBuf,
    generated: &GeneratedCert,
    renew_reason: Option<String>,
) -> Result<DevCert, StoreError> {
    let info = CertInfo::from_der(&generated.cert_der).map_err(|e| StoreError::Io {
        path: cert_path.clone(),
        cause: io::Error::other(e),
    })?;
    let status = match renew_reason {
        None => {
            write_pair(&cert_path, &key_path, generated, WriteMode::CreateNew)?;
            DevCertStatus::Created
        }
        Some(reason) => {
            write_pair(&cert_path, &key_path, generated, WriteMode::Replace)?;
            DevCertStatus::Renewed(reason)
        }
    };
    Ok(DevCert {
        cert_path,
        key_path,
        info,
        status,
    })
}

/// Reads a certificate that must be carafe's own.
pub(crate) fn read_own_cert(path: &Path) -> Result<CertInfo, StoreError> {
    let foreign = || StoreError::Foreign(path.to_path_buf());
    let der = CertificateDer::from_pem_file(path).map_err(|_| foreign())?;
    let info = CertInfo::from_der(&der).map_err(|_| foreign())?;
    if info.organization.as_deref() != Some(CARAFE_ORGANIZATION) {
        return Err(foreign());
    }
    Ok(info)
}

/// Whether the certificate's basicConstraints spells out `cA FALSE` (a DER violation older
/// carafe versions wrote; see [`generate::mark_not_ca`]).
fn encodes_explicit_ca_false(path: &Path) -> bool {
    const EXPLICIT_FALSE: [u8; 5] = [0x30, 0x03, 0x01, 0x01, 0x00];
    let Ok(der) = CertificateDer::from_pem_file(path) else {
        return false;
    };
    x509_parser::parse_x509_certificate(&der).is_ok_and(|(_, cert)| {
        cert.extensions().iter().any(|e| {
            e.oid == x509_parser::oid_registry::OID_X509_EXT_BASIC_CONSTRAINTS
                && e.value == EXPLICIT_FALSE
        })
    })
}

pub(crate) fn key_matches(cert_path: &Path, key_path: &Path) -> bool {
    crate::tls::load::load_certified_key(cert_path, key_path).is_ok()
}

/// Whether [`write_pair`] may replace existing files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Fail with [`StoreError::Exists`] if either file exists.
    CreateNew,
    /// Replace existing files atomically.
    Replace,
}

/// Writes a certificate (mode 0644) and its key (mode 0600), creating the directory.
pub fn write_pair(
    cert_path: &Path,
    key_path: &Path,
    cert: &GeneratedCert,
    mode: WriteMode,
) -> Result<(), StoreError> {
    for path in [cert_path, key_path] {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|cause| StoreError::Io {
                path: dir.to_path_buf(),
                cause,
            })?;
        }
    }
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source: io::Error| {
            if source.kind() == io::ErrorKind::AlreadyExists {
                StoreError::Exists(path)
            } else {
                StoreError::Io {
                    path,
                    cause: source,
                }
            }
        }
    };
    match mode {
        WriteMode::CreateNew => {
            for path in [cert_path, key_path] {
                if path.exists() {
                    return Err(StoreError::Exists(path.to_path_buf()));
                }
            }
            write_new(key_path, cert.key_pem.as_bytes(), KEY_MODE).map_err(io_err(key_path))?;
            if let Err(err) = write_new(cert_path, cert.cert_pem.as_bytes(), CERT_MODE) {
                // Leave nothing half-written behind: the key we just made is useless alone.
                let _ = fs::remove_file(key_path);
                return Err(io_err(cert_path)(err));
            }
        }
        WriteMode::Replace => {
            replace(key_path, cert.key_pem.as_bytes(), KEY_MODE).map_err(io_err(key_path))?;
            replace(cert_path, cert.cert_pem.as_bytes(), CERT_MODE).map_err(io_err(cert_path))?;
        }
    }
    Ok(())
}

/// Creates `path` (failing if it exists) with `mode` from the start, and syncs it: a key is
/// never readable by others, not even for a moment.
pub fn write_new(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// Replaces `path` atomically: write a temporary sibling, then rename over.
fn replace(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    write_new(&tmp, contents, mode)?;
    fs::rename(&tmp, path).inspect_err(|_| {
        let _ = fs::remove_file(&tmp);
    })
}

/// Whether a PEM file holds a private key (any encoding rustls reads).
pub fn holds_private_key(path: &Path) -> bool {
    PrivateKeyDer::from_pem_file(path).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::local_hosts;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn renews_a_certificate_with_the_old_explicit_ca_false_encoding() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("certs");
        let hosts = local_hosts();
        // What carafe wrote before: rcgen's ExplicitNoCa, `cA FALSE` spelled out.
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.subject_alt_names = hosts
            .iter()
            .map(|h| match h {
                Host::Dns(n) => rcgen::SanType::DnsName(n.clone().try_into().unwrap()),
                Host::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            })
            .collect();
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, CARAFE_ORGANIZATION);
        params.is_ca = rcgen::IsCa::ExplicitNoCa;
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(DEV_CERT_FILE), cert.pem()).unwrap();
        fs::write(dir.join(DEV_KEY_FILE), key.serialize_pem()).unwrap();
        assert!(encodes_explicit_ca_false(&dir.join(DEV_CERT_FILE)));

        let renewed = ensure_dev_cert(&dir, &hosts).unwrap();
        assert!(
            matches!(renewed.status, DevCertStatus::Renewed(ref r) if r.contains("older carafe")),
            "{:?}",
            renewed.status
        );
        assert!(!encodes_explicit_ca_false(&dir.join(DEV_CERT_FILE)));
        let again = ensure_dev_cert(&dir, &hosts).unwrap();
        assert_eq!(again.status, DevCertStatus::Reused);
    }

    #[test]
    fn creates_then_reuses_then_renews_for_new_host() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("certs");
        let hosts = local_hosts();
        let first = ensure_dev_cert(&dir, &hosts).unwrap();
        assert_eq!(first.status, DevCertStatus::Created);
        #[cfg(unix)]
        assert_eq!(mode(&first.key_path), 0o600);

        let second = ensure_dev_cert(&dir, &hosts).unwrap();
        assert_eq!(second.status, DevCertStatus::Reused);
        assert_eq!(second.info.fingerprint, first.info.fingerprint);

        let mut more = hosts.clone();
        more.push("app.test".parse().unwrap());
        let third = ensure_dev_cert(&dir, &more).unwrap();
        assert!(matches!(third.status, DevCertStatus::Renewed(ref r) if r.contains("app.test")));
        assert_ne!(third.info.fingerprint, first.info.fingerprint);
        #[cfg(unix)]
        assert_eq!(mode(&third.key_path), 0o600);
    }

    #[test]
    fn never_overwrites_a_foreign_certificate_or_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        // A foreign but valid certificate (not carafe's organization).
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        let key = rcgen::KeyPair::generate().unwrap();
        let foreign = params.self_signed(&key).unwrap().pem();
        fs::write(dir.join(DEV_CERT_FILE), &foreign).unwrap();
        let err = ensure_dev_cert(dir, &local_hosts()).unwrap_err();
        assert!(matches!(err, StoreError::Foreign(ref p) if p.ends_with(DEV_CERT_FILE)));
        assert_eq!(
            fs::read_to_string(dir.join(DEV_CERT_FILE)).unwrap(),
            foreign
        );

        fs::remove_file(dir.join(DEV_CERT_FILE)).unwrap();
        fs::write(dir.join(DEV_KEY_FILE), "my key").unwrap();
        let err = ensure_dev_cert(dir, &local_hosts()).unwrap_err();
        assert!(matches!(err, StoreError::Foreign(ref p) if p.ends_with(DEV_KEY_FILE)));
        assert_eq!(
            fs::read_to_string(dir.join(DEV_KEY_FILE)).unwrap(),
            "my key"
        );
    }

    #[test]
    fn write_pair_refuses_existing_files_unless_replacing() {
        let tmp = tempfile::tempdir().unwrap();
        let (c, k) = (tmp.path().join("server.crt"), tmp.path().join("server.key"));
        let a = generate::self_signed(&local_hosts(), 30).unwrap();
        write_pair(&c, &k, &a, WriteMode::CreateNew).unwrap();
        let b = generate::self_signed(&local_hosts(), 30).unwrap();
        let err = write_pair(&c, &k, &b, WriteMode::CreateNew).unwrap_err();
        assert!(matches!(err, StoreError::Exists(_)));
        assert_eq!(fs::read_to_string(&k).unwrap(), a.key_pem);
        write_pair(&c, &k, &b, WriteMode::Replace).unwrap();
        assert_eq!(fs::read_to_string(&k).unwrap(), b.key_pem);
        #[cfg(unix)]
        assert_eq!(mode(&k), 0o600);
    }
}
