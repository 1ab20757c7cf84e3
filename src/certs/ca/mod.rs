//! The local certificate authority of `carafe cert ca` (DESIGN §3): a root and a
//! name-constrained intermediate, kept in the user's data directory, that sign the development
//! leaves of `serve --tls ca` so one import makes a browser trust every dev certificate.
//!
//! SECURITY:
//! - The intermediate carries a critical nameConstraints extension limiting it to names that
//!   can never be public: `localhost`, `test`, `local`, `internal` and their subdomains, and
//!   loopback and private addresses ([`PERMITTED_DNS`], [`PERMITTED_IPS`]). A leaked
//!   intermediate key cannot sign for `example.com`: browsers, OpenSSL and webpki reject it.
//! - The root key stays on disk (mode 0600, directory 0700) so the intermediate can be
//!   re-issued without a new trust import. Anyone who can read it as this user can mint a
//!   certificate for any name that the machines trusting the root then accept; the root's
//!   pathlen 1 and the intermediate's constraints do not stop a new, unconstrained intermediate.
//!   That is the same trade mkcert and Caddy make; `cert untrust` and deleting the directory
//!   undo it.
//! - CA files are created with `create_new` and the final mode from the first byte, and are
//!   never overwritten: a half-present CA is an error, not a reason to start again.

mod constraints;
mod dir;
mod renew;

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PublicKeyData,
};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::generate::{self, GenerateError, GeneratedCert, random_serial};
use super::store::{KEY_MODE, write_new};
use super::{CertInfo, Host, KeyType, fingerprint, hex};

pub use constraints::{PERMITTED_DNS, PERMITTED_IPS, ca_hosts, name_constraints, permits};
pub use dir::{CaPaths, default_dir};
pub use renew::{RENEW_INTERMEDIATE_BEFORE, RenewedIntermediate, renew_intermediate_if_due};

/// The root certificate, in PEM; this is the file users import.
pub const ROOT_CERT_FILE: &str = "root.crt";
/// The root's private key (mode 0600).
pub const ROOT_KEY_FILE: &str = "root.key";
/// The intermediate certificate, in PEM; served after each leaf.
pub const INTERMEDIATE_CERT_FILE: &str = "intermediate.crt";
/// The intermediate's private key (mode 0600).
pub const INTERMEDIATE_KEY_FILE: &str = "intermediate.key";

/// Validity of the root: long, because replacing it means importing it again everywhere.
pub const ROOT_DAYS: i64 = 3650;
/// Validity of the intermediate: Apple's limit for TLS certificates, which some clients apply
/// to the whole chain.
pub const INTERMEDIATE_DAYS: i64 = 825;

/// The organization of the CA's subjects; a CA directory whose root lacks it is not carafe's.
pub const CA_ORGANIZATION: &str = "carafe local CA";

/// How far in the past notBefore is set (clock skew), as for leaves.
const BACKDATE: Duration = Duration::hours(1);

/// Mode of the CA directory: only the user may list or enter it.
const DIR_MODE: u32 = 0o700;
/// Mode of CA certificates.
const CERT_MODE: u32 = 0o644;

/// Why the local CA could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// No CA yet.
    #[error("no local CA in {}; create one with `carafe cert ca`", .0.display())]
    NotFound(PathBuf),
    /// Some CA files exist, others do not.
    #[error("the local CA in {} is incomplete ({} missing); carafe never overwrites CA files: move the directory away and run `carafe cert ca` again", dir.display(), missing.join(", "))]
    Incomplete {
        /// The CA directory.
        dir: PathBuf,
        /// The missing file names.
        missing: Vec<String>,
    },
    /// A CA file that carafe cannot use.
    #[error("{} is not a usable carafe CA file: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// No data directory could be found.
    #[error(
        "cannot find a data directory for the local CA: set CARAFE_CA_DIR, XDG_DATA_HOME or HOME"
    )]
    NoDataDir,
    /// A name the intermediate's constraints do not allow.
    #[error("the local CA only signs local names (localhost, *.localhost, *.test, *.local, *.internal, loopback and private addresses), not {}; use --tls gen or --cert/--key for it", names.join(", "))]
    NotPermitted {
        /// The names outside the constraints.
        names: Vec<String>,
    },
    /// The intermediate has (all but) expired; `cert ca` replaces it.
    #[error("the local CA's intermediate {} expires on {}; run `carafe cert ca` to issue a new one (the root and its trust stay)", path.display(), date)]
    IntermediateExpired {
        /// The intermediate certificate.
        path: PathBuf,
        /// Its end of validity.
        date: time::Date,
    },
    /// The root has (all but) expired: only a new CA helps.
    #[error("the local CA's root {} expires on {}; move {} away, then run `carafe cert ca` and `carafe cert trust` again", path.display(), date, dir.display())]
    RootExpired {
        /// The root certificate.
        path: PathBuf,
        /// Its end of validity.
        date: time::Date,
        /// The CA directory.
        dir: PathBuf,
    },
    /// Reading or writing failed.
    #[error("cannot access {}: {cause}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// Generation failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
}

impl From<rcgen::Error> for CaError {
    fn from(err: rcgen::Error) -> Self {
        CaError::Generate(GenerateError::Rcgen(err))
    }
}

/// Whether `cert ca` made the CA now or found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaStatus {
    /// Made by this call.
    Created,
    /// Already there; nothing was written.
    Existing,
}

/// A loaded local CA, able to sign leaves.
pub struct LocalCa {
    /// Its files.
    pub paths: CaPaths,
    /// Short identifier of this CA (from the root's public key), used in trust-store names.
    pub id: String,
    /// `user@host` of the subjects (the root's OU).
    pub owner: String,
    /// The root certificate.
    pub root: CertInfo,
    /// The intermediate certificate.
    pub intermediate: CertInfo,
    /// The root, DER.
    pub root_der: CertificateDer<'static>,
    /// The intermediate, DER.
    pub intermediate_der: CertificateDer<'static>,
    intermediate_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa")
            .field("dir", &self.paths.dir)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Opens the CA in `dir`, creating it when no CA file exists yet.
pub fn open_or_create(dir: &Path) -> Result<(LocalCa, CaStatus), CaError> {
    match open(dir) {
        Ok(ca) => Ok((ca, CaStatus::Existing)),
        Err(CaError::NotFound(_)) => {
            create(dir)?;
            Ok((open(dir)?, CaStatus::Created))
        }
        Err(err) => Err(err),
    }
}

/// Opens the CA in `dir`: [`CaError::NotFound`] when none of its files exist.
pub fn open(dir: &Path) -> Result<LocalCa, CaError> {
    let paths = CaPaths::new(dir);
    let missing: Vec<String> = paths
        .all()
        .iter()
        .filter(|p| !p.exists())
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    match missing.len() {
        0 => {}
        4 => return Err(CaError::NotFound(dir.to_path_buf())),
        _ => {
            return Err(CaError::Incomplete {
                dir: dir.to_path_buf(),
                missing,
            });
        }
    }
    let (root_der, _) = read_cert(&paths.root_cert)?;
    let (intermediate_der, intermediate_pem) = read_cert(&paths.intermediate_cert)?;
    let invalid = |path: &Path, reason: &str| CaError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let root = parse(&paths.root_cert, &root_der)?;
    let intermediate = parse(&paths.intermediate_cert, &intermediate_der)?;
    if !root.is_ca || root.organization.as_deref() != Some(CA_ORGANIZATION) {
        return Err(invalid(&paths.root_cert, "not a root made by carafe"));
    }
    if !intermediate.is_ca {
        return Err(invalid(&paths.intermediate_cert, "not a CA certificate"));
    }
    let (_, root_x509) = X509Certificate::from_der(&root_der)
        .map_err(|e| invalid(&paths.root_cert, &e.to_string()))?;
    let (_, inter_x509) = X509Certificate::from_der(&intermediate_der)
        .map_err(|e| invalid(&paths.intermediate_cert, &e.to_string()))?;
    if inter_x509
        .verify_signature(Some(root_x509.public_key()))
        .is_err()
    {
        return Err(invalid(
            &paths.intermediate_cert,
            "not signed by the root in the same directory",
        ));
    }
    let key_pem = fs::read_to_string(&paths.intermediate_key).map_err(|cause| CaError::Io {
        path: paths.intermediate_key.clone(),
        cause,
    })?;
    let key = KeyPair::from_pem(&key_pem)
        .map_err(|e| invalid(&paths.intermediate_key, &e.to_string()))?;
    if key.subject_public_key_info() != inter_x509.public_key().raw {
        return Err(invalid(
            &paths.intermediate_key,
            "does not match intermediate.crt",
        ));
    }
    let id = ca_id(root_x509.public_key().raw);
    let owner = root_x509
        .subject()
        .iter_organizational_unit()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    let issuer = Issuer::from_ca_cert_der(&intermediate_der, key)?;
    Ok(LocalCa {
        paths,
        id,
        owner,
        root,
        intermediate,
        root_der,
        intermediate_der,
        intermediate_pem,
        issuer,
    })
}

fn read_cert(path: &Path) -> Result<(CertificateDer<'static>, String), CaError> {
    let pem = fs::read_to_string(path).map_err(|cause| CaError::Io {
        path: path.to_path_buf(),
        cause,
    })?;
    let der = CertificateDer::from_pem_slice(pem.as_bytes()).map_err(|e| CaError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok((der, pem))
}

fn parse(path: &Path, der: &[u8]) -> Result<CertInfo, CaError> {
    CertInfo::from_der(der).map_err(|e| CaError::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The first 8 hex digits of SHA-256 over the root's SubjectPublicKeyInfo: stable for a CA,
/// different between two machines' CAs.
fn ca_id(spki: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki);
    hex(&digest.as_ref()[..4])
}

/// `user@host`, so two machines' (or users') CAs are told apart in a trust store.
fn owner() -> String {
    let user = ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "user".to_string());
    let host = gethostname::gethostname()
        .into_string()
        .unwrap_or_else(|_| "host".to_string());
    format!("{user}@{host}")
}

fn ca_name(role: &str, owner: &str, id: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, CA_ORGANIZATION);
    dn.push(DnType::OrganizationalUnitName, owner);
    dn.push(DnType::CommonName, format!("carafe {role} {owner} {id}"));
    dn
}

/// Makes the root and intermediate in `dir` (created with mode 0700). Fails if any CA file
/// exists; on a failure half-way, removes what it wrote.
fn create(dir: &Path) -> Result<(), CaError> {
    create_dir(dir)?;
    let owner = owner();
    let now = OffsetDateTime::now_utc();

    let root_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let id = ca_id(&root_key.subject_public_key_info());
    let mut root = CertificateParams::default();
    root.distinguished_name = ca_name("root CA", &owner, &id);
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.not_before = now - BACKDATE;
    root.not_after = now + Duration::days(ROOT_DAYS);
    root.serial_number = Some(random_serial());
    let root_cert = root.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root, &root_key);

    let inter_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let inter = intermediate_params(&owner, &id, now + Duration::days(ROOT_DAYS));
    let inter_cert = inter.signed_by(&inter_key, &root_issuer)?;

    let paths = CaPaths::new(dir);
    let files = [
        (&paths.root_key, root_key.serialize_pem(), KEY_MODE),
        (&paths.intermediate_key, inter_key.serialize_pem(), KEY_MODE),
        (&paths.intermediate_cert, inter_cert.pem(), CERT_MODE),
        (&paths.root_cert, root_cert.pem(), CERT_MODE),
    ];
    let mut written: Vec<&Path> = Vec::new();
    for (path, contents, mode) in &files {
        if let Err(cause) = write_new(path, contents.as_bytes(), *mode) {
            // Only files this call created are removed; one that existed stays untouched.
            for done in written {
                let _ = fs::remove_file(done);
            }
            // Another `cert ca` may have created it meanwhile: an Io error naming the file
            // ("File exists"), and that CA is left as it is.
            return Err(CaError::Io {
                path: path.to_path_buf(),
                cause,
            });
        }
        written.push(path);
    }
    Ok(())
}

/// The intermediate: CA:TRUE pathlen 0, keyCertSign + cRLSign, the name constraints, valid
/// [`INTERMEDIATE_DAYS`] but never past `root_not_after`.
fn intermediate_params(owner: &str, id: &str, root_not_after: OffsetDateTime) -> CertificateParams {
    let now = OffsetDateTime::now_utc();
    let mut inter = CertificateParams::default();
    inter.distinguished_name = ca_name("intermediate CA", owner, id);
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    inter.name_constraints = Some(name_constraints());
    inter.use_authority_key_identifier_extension = true;
    inter.not_before = now - BACKDATE;
    inter.not_after = (now + Duration::days(INTERMEDIATE_DAYS)).min(root_not_after);
    inter.serial_number = Some(random_serial());
    inter
}

/// Creates `dir` (and parents) and sets it to [`DIR_MODE`].
fn create_dir(dir: &Path) -> Result<(), CaError> {
    let io = |cause| CaError::Io {
        path: dir.to_path_buf(),
        cause,
    };
    fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).map_err(io)?;
    }
    Ok(())
}

impl LocalCa {
    /// Signs a development leaf for `hosts` with the intermediate: the properties of
    /// [`generate::self_signed`] plus an authorityKeyIdentifier, valid for `days` but never
    /// past the intermediate. `cert_pem` holds the chain: leaf, then intermediate.
    pub fn issue_leaf(&self, hosts: &[Host], days: u32) -> Result<GeneratedCert, CaError> {
        let refused: Vec<String> = hosts
            .iter()
            .filter(|h| !permits(h))
            .map(Host::to_string)
            .collect();
        if !refused.is_empty() {
            return Err(CaError::NotPermitted { names: refused });
        }
        let now = OffsetDateTime::now_utc();
        if self.intermediate.not_after <= now + Duration::days(1) {
            return Err(CaError::IntermediateExpired {
                path: self.paths.intermediate_cert.clone(),
                date: self.intermediate.not_after.date(),
            });
        }
        let key_type = KeyType::EcdsaP256;
        let mut params = generate::leaf_params(hosts, days, key_type)?;
        params.use_authority_key_identifier_extension = true;
        params.not_after = params.not_after.min(self.intermediate.not_after);
        let key = key_type.generate()?;
        generate::mark_not_ca(&mut params, &key);
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(GeneratedCert {
            cert_pem: format!("{}{}", cert.pem(), self.intermediate_pem),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().clone(),
            key_type,
        })
    }

    /// Whether `chain` (leaf first) was issued by this CA's current intermediate: the leaf's
    /// signature verifies with its key and the next certificate is that intermediate.
    pub fn issued(&self, chain: &[CertificateDer<'_>]) -> bool {
        let (Some(leaf), Some(next)) = (chain.first(), chain.get(1)) else {
            return false;
        };
        let Ok((_, inter)) = X509Certificate::from_der(&self.intermediate_der) else {
            return false;
        };
        next.as_ref() == self.intermediate_der.as_ref()
            && X509Certificate::from_der(leaf)
                .is_ok_and(|(_, l)| l.verify_signature(Some(inter.public_key())).is_ok())
    }

    /// SHA-256 fingerprint of the root.
    pub fn root_fingerprint(&self) -> String {
        fingerprint(&self.root_der)
    }

    /// SHA-1 fingerprint of the root, without separators: what macOS `security` and Windows
    /// `certutil` take to find a certificate.
    pub fn root_sha1(&self) -> String {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.root_der);
        hex(digest.as_ref()).to_ascii_uppercase()
    }

    /// The root's common name.
    pub fn root_name(&self) -> String {
        self.root.common_name.clone().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_opens_and_issues_a_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("ca");
        let (ca, status) = open_or_create(&dir).unwrap();
        assert_eq!(status, CaStatus::Created);
        assert!(ca.root.is_ca && ca.intermediate.is_ca);
        assert!(ca.root_name().contains(&ca.id));
        let before = fs::read(&ca.paths.root_key).unwrap();
        let (again, status) = open_or_create(&dir).unwrap();
        assert_eq!(status, CaStatus::Existing);
        assert_eq!(again.id, ca.id);
        assert_eq!(fs::read(&ca.paths.root_key).unwrap(), before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&dir), 0o700);
            assert_eq!(mode(&ca.paths.root_key), 0o600);
            assert_eq!(mode(&ca.paths.intermediate_key), 0o600);
        }

        let leaf = ca.issue_leaf(&crate::certs::local_hosts(), 365).unwrap();
        let chain: Vec<_> = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(chain.len(), 2);
        assert!(ca.issued(&chain));
        let other = tempfile::tempdir().unwrap();
        let (other_ca, _) = open_or_create(other.path()).unwrap();
        assert!(!other_ca.issued(&chain));
        assert!(matches!(
            ca.issue_leaf(&["example.com".parse().unwrap()], 30),
            Err(CaError::NotPermitted { .. })
        ));
    }

    #[test]
    fn an_incomplete_ca_is_refused_and_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let (ca, _) = open_or_create(tmp.path()).unwrap();
        fs::remove_file(&ca.paths.intermediate_key).unwrap();
        let root_key = fs::read(&ca.paths.root_key).unwrap();
        let err = open_or_create(tmp.path()).unwrap_err();
        assert!(
            err.to_string().contains("intermediate.key missing"),
            "{err}"
        );
        assert_eq!(fs::read(&ca.paths.root_key).unwrap(), root_key);
        assert!(!ca.paths.intermediate_key.exists());
    }
}
