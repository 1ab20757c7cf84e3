//! Loading a certificate chain and private key from PEM files, with one typed error per
//! mistake people actually make: a missing or unreadable file, a directory, swapped
//! `--cert`/`--key`, an encrypted key without (or with the wrong) passphrase, a key that belongs
//! to another certificate.
//!
//! PEM is read with rustls-pki-types' `PemObject` (not the unmaintained rustls-pemfile). Keys
//! may be PKCS#8, PKCS#1 (`openssl genrsa`) or SEC1 (`openssl ecparam -genkey`, with or
//! without its leading `EC PARAMETERS` block); CRLF line endings are fine. Encrypted keys
//! (PKCS#8 and the legacy `Proc-Type: 4,ENCRYPTED` form) are decrypted by
//! [`crate::certs::private_key`] with the passphrase from a [`PassphraseSource`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;

use super::config::crypto_provider;
use crate::certs::private_key::{
    self, KeyDecodeError, PASSPHRASE_ENV, PassphraseError, PassphraseSource,
};

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read (missing, permissions, a directory).
    #[error("cannot read {what} file {}: {cause}", path.display())]
    Io {
        /// `certificate` or `key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// `--cert` and `--key` are the wrong way round.
    #[error("--cert {} holds a private key and --key {} holds a certificate: the two arguments are swapped", .cert.display(), .key.display())]
    Swapped {
        /// The file given as `--cert`.
        cert: PathBuf,
        /// The file given as `--key`.
        key: PathBuf,
    },
    /// The certificate file holds a key instead.
    #[error("no certificate in {}: it holds a private key; pass the certificate (-----BEGIN CERTIFICATE-----) as --cert", .0.display())]
    CertFileHoldsKey(PathBuf),
    /// The key file holds certificates only.
    #[error("no private key in {}: it holds a certificate; pass the private key as --key", .0.display())]
    KeyFileHoldsCert(PathBuf),
    /// No certificate at all.
    #[error("no certificate in {}: expected PEM with -----BEGIN CERTIFICATE-----", .0.display())]
    NoCertificate(PathBuf),
    /// No key at all.
    #[error("no private key in {}: expected PEM with -----BEGIN PRIVATE KEY----- (or RSA/EC PRIVATE KEY)", .0.display())]
    NoPrivateKey(PathBuf),
    /// The key is encrypted and no passphrase was given.
    #[error("{} is encrypted; pass --key-passphrase-file FILE or set {PASSPHRASE_ENV}", .0.display())]
    EncryptedKeyNeedsPassphrase(PathBuf),
    /// The passphrase does not decrypt the key.
    #[error("wrong passphrase for {}", .0.display())]
    WrongPassphrase(PathBuf),
    /// The key is encrypted with something carafe cannot decrypt, or is damaged.
    #[error("cannot decrypt {}: {detail}; write a decrypted copy with `openssl pkey -in {} -out server.key` and pass that", path.display(), path.display())]
    UndecryptableKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The passphrase could not be read.
    #[error(transparent)]
    Passphrase(#[from] PassphraseError),
    /// Malformed PEM.
    #[error("{} is not valid PEM: {detail}", path.display())]
    BadPem {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        detail: String,
    },
    /// The key type is not usable for TLS.
    #[error("the key in {} cannot be used for TLS ({detail}); carafe serves ECDSA P-256/P-384 and RSA 2048-8192-bit keys, and `carafe cert new` makes one", path.display())]
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        detail: String,
    },
    /// The key belongs to a later certificate of the chain: the leaf must come first.
    #[error("the private key {} belongs to certificate #{position} in {}, not the first; put the server (leaf) certificate first, then its intermediates", .key.display(), .cert.display())]
    LeafNotFirst {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// 1-based position of the matching certificate.
        position: usize,
    },
    /// The key does not belong to the certificate.
    #[error("the private key {} does not match the certificate {}; pass the key that was made together with this certificate", .key.display(), .cert.display())]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
}

/// Reads `cert` (a PEM chain, leaf first) and an unencrypted `key`, checks that they belong
/// together, and returns them ready for rustls.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<Arc<CertifiedKey>, LoadError> {
    load_certified_key_with(cert, key, None)
}

/// Like [`load_certified_key`], decrypting an encrypted `key` with the passphrase from
/// `passphrase`.
pub fn load_certified_key_with(
    cert: &Path,
    key: &Path,
    passphrase: Option<&PassphraseSource>,
) -> Result<Arc<CertifiedKey>, LoadError> {
    let cert_bytes = read("certificate", cert)?;
    let key_bytes = read("key", key)?;

    let mut chain = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem(cert, e))?;
    // A DER certificate (`openssl x509 -outform DER`): one certificate, no PEM armour.
    if chain.is_empty()
        && cert_bytes.first() == Some(&0x30)
        && x509_parser::parse_x509_certificate(&cert_bytes).is_ok()
    {
        chain.push(CertificateDer::from(cert_bytes.clone()));
    }

    if chain.is_empty() {
        let cert_holds_key = PrivateKeyDer::from_pem_slice(&cert_bytes).is_ok()
            || private_key::is_encrypted(&cert_bytes);
        let key_holds_cert = has_certificate(&key_bytes);
        return Err(match (cert_holds_key, key_holds_cert) {
            (true, true) => LoadError::Swapped {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
            },
            (true, false) => LoadError::CertFileHoldsKey(cert.to_path_buf()),
            _ => LoadError::NoCertificate(cert.to_path_buf()),
        });
    }
    let private_key = decode_private_key(key, &key_bytes, passphrase)?;

    let provider = crypto_provider();
    let signing_key = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|e| LoadError::UnsupportedKey {
            path: key.to_path_buf(),
            detail: match small_rsa_bits(&chain[0]) {
                Some(bits) => format!(
                    "it is a {bits}-bit RSA key; TLS needs at least 2048 bits (`carafe cert new --key-type rsa-2048` makes one)"
                ),
                None => e.to_string(),
            },
        })?;
    let public_key = signing_key.public_key().map(|k| k.into_owned());
    let certified = CertifiedKey::new(chain, signing_key);
    // rustls compares keys through webpki, which cannot parse X.509 v1 certificates (what
    // `openssl x509 -req -signkey` makes): compare the public keys directly before calling
    // that a mismatch.
    let same_spki = public_key.as_ref().is_some_and(|spki| {
        x509_parser::parse_x509_certificate(&certified.cert[0])
            .is_ok_and(|(_, leaf)| leaf.tbs_certificate.subject_pki.raw == spki.as_ref())
    });
    match certified.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(Arc::new(certified))
        }
        Err(_) if same_spki => Ok(Arc::new(certified)),
        Err(_) => {
            let position = public_key.and_then(|spki| {
                certified.cert.iter().skip(1).position(|c| {
                    rustls::server::ParsedCertificate::try_from(c)
                        .is_ok_and(|p| p.subject_public_key_info() == spki)
                })
            });
            Err(match position {
                Some(i) => LoadError::LeafNotFirst {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                    position: i + 2,
                },
                None => LoadError::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                },
            })
        }
    }
}

/// Reads a private key file (PKCS#8, PKCS#1 or SEC1; encrypted ones with `passphrase`).
pub fn load_private_key(
    path: &Path,
    passphrase: Option<&PassphraseSource>,
) -> Result<PrivateKeyDer<'static>, LoadError> {
    let bytes = read("key", path)?;
    decode_private_key(path, &bytes, passphrase)
}

/// The SubjectPublicKeyInfo (DER) of a private key, to compare with a certificate's.
pub fn public_key_of(path: &Path, key: PrivateKeyDer<'static>) -> Result<Vec<u8>, LoadError> {
    let unsupported = |detail: String| LoadError::UnsupportedKey {
        path: path.to_path_buf(),
        detail,
    };
    let signing_key = crypto_provider()
        .key_provider
        .load_private_key(key)
        .map_err(|e| unsupported(e.to_string()))?;
    signing_key
        .public_key()
        .map(|spki| spki.as_ref().to_vec())
        .ok_or_else(|| unsupported("its public key cannot be derived".into()))
}

fn decode_private_key(
    path: &Path,
    bytes: &[u8],
    passphrase: Option<&PassphraseSource>,
) -> Result<PrivateKeyDer<'static>, LoadError> {
    // An encrypted key may not even parse as PEM (the legacy `Proc-Type` form has headers),
    // so recognise it first.
    if private_key::is_encrypted(bytes) {
        let passphrase = passphrase.map(PassphraseSource::load).transpose()?;
        return private_key::decrypt_pem(bytes, passphrase.as_ref()).map_err(|e| match e {
            KeyDecodeError::NeedsPassphrase => {
                LoadError::EncryptedKeyNeedsPassphrase(path.to_path_buf())
            }
            KeyDecodeError::WrongPassphrase => LoadError::WrongPassphrase(path.to_path_buf()),
            other => LoadError::UndecryptableKey {
                path: path.to_path_buf(),
                detail: other.to_string(),
            },
        });
    }
    match PrivateKeyDer::from_pem_slice(bytes) {
        Ok(k) => Ok(k),
        Err(pem::Error::NoItemsFound) if has_certificate(bytes) => {
            Err(LoadError::KeyFileHoldsCert(path.to_path_buf()))
        }
        Err(pem::Error::NoItemsFound) => Err(LoadError::NoPrivateKey(path.to_path_buf())),
        Err(e) => Err(bad_pem(path, e)),
    }
}

/// The key size of an RSA certificate under 2048 bits (which aws-lc refuses to load).
fn small_rsa_bits(leaf: &CertificateDer<'_>) -> Option<usize> {
    use x509_parser::public_key::PublicKey;
    let (_, cert) = x509_parser::parse_x509_certificate(leaf).ok()?;
    match cert.public_key().parsed().ok()? {
        PublicKey::RSA(rsa) if rsa.key_size() < 2048 => Some(rsa.key_size()),
        _ => None,
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|cause| LoadError::Io {
        what,
        path: path.to_path_buf(),
        cause,
    })
}

fn bad_pem(path: &Path, err: pem::Error) -> LoadError {
    LoadError::BadPem {
        path: path.to_path_buf(),
        detail: err.to_string(),
    }
}

fn has_certificate(bytes: &[u8]) -> bool {
    CertificateDer::pem_slice_iter(bytes).any(|c| c.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::{generate::self_signed, local_hosts};

    fn pair(dir: &Path, name: &str) -> (PathBuf, PathBuf, String, String) {
        let g = self_signed(&local_hosts(), 30).unwrap();
        let (c, k) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, &g.cert_pem).unwrap();
        std::fs::write(&k, &g.key_pem).unwrap();
        (c, k, g.cert_pem, g.key_pem)
    }

    #[test]
    fn loads_a_matching_pair_with_crlf() {
        let tmp = tempfile::tempdir().unwrap();
        let (c, k, cert_pem, key_pem) = pair(tmp.path(), "a");
        assert!(load_certified_key(&c, &k).is_ok());
        std::fs::write(&c, cert_pem.replace('\n', "\r\n")).unwrap();
        std::fs::write(&k, key_pem.replace('\n', "\r\n")).unwrap();
        assert!(load_certified_key(&c, &k).is_ok());
    }

    #[test]
    fn explains_each_mistake() {
        let tmp = tempfile::tempdir().unwrap();
        let (c1, k1, ..) = pair(tmp.path(), "a");
        let (_c2, k2, ..) = pair(tmp.path(), "b");
        let missing = tmp.path().join("missing.key");
        let enc = tmp.path().join("enc.key");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let empty = tmp.path().join("empty.pem");
        std::fs::write(&empty, "hello\n").unwrap();

        let msg = |c: &Path, k: &Path| load_certified_key(c, k).unwrap_err().to_string();
        assert!(msg(&c1, &k2).contains("does not match"));
        assert!(msg(&k1, &c1).contains("swapped"));
        assert!(msg(&k1, &k1).contains("holds a private key"));
        assert!(msg(&c1, &c1).contains("holds a certificate"));
        assert!(msg(&c1, &enc).ends_with(
            "enc.key is encrypted; pass --key-passphrase-file FILE or set CARAFE_KEY_PASSPHRASE"
        ));
        assert!(msg(&empty, &k1).contains("no certificate in"));
        assert!(msg(&c1, &empty).contains("no private key in"));
        let m = msg(&c1, &missing);
        assert!(
            m.contains("missing.key") && m.contains("No such file"),
            "{m}"
        );
        let m = msg(&c1, tmp.path());
        assert!(m.contains("cannot read key file"), "{m}");
    }
}
