//! Encrypted private key files, read and written, so nobody has to run the "strip the
//! passphrase" step of the Flask tutorial (`openssl rsa -in server.pass.key -out server.key`).
//!
//! Two encodings are read:
//! - PKCS#8 `ENCRYPTED PRIVATE KEY` (RFC 5958 + PBES2 from RFC 8018: PBKDF2 or scrypt with
//!   AES-CBC or 3DES), what OpenSSL 3 writes (`openssl genpkey -aes256`, `openssl pkcs8 -topk8`);
//!   decrypted by the RustCrypto `pkcs8` crate.
//! - The legacy OpenSSL PEM form (`Proc-Type: 4,ENCRYPTED` + `DEK-Info: CIPHER,IV`), what
//!   `openssl genrsa -des3` (1.1) and `openssl rsa -traditional -aes256` write. Its key is
//!   OpenSSL's `EVP_BytesToKey` with MD5, one iteration, and the first 8 bytes of the IV as salt:
//!   a weak derivation, which is why carafe only reads this form and writes PKCS#8.
//!
//! After decryption the plaintext must be DER: a wrong passphrase shows up as bad CBC padding,
//! or (one time in 256) as good padding around garbage, and both are reported as
//! [`KeyDecodeError::WrongPassphrase`].

use std::fmt;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use cbc::cipher::{BlockDecryptMut, KeyIvInit, block_padding::Pkcs7};
use md5::{Digest, Md5};
use pkcs8::der::pem::LineEnding;
use rustls::pki_types::PrivateKeyDer;

/// The environment variable that may hold a key passphrase (never a command-line option:
/// command lines are visible to every user in `ps`).
pub const PASSPHRASE_ENV: &str = "CARAFE_KEY_PASSPHRASE";

/// PBKDF2-HMAC-SHA256 iterations for keys carafe encrypts: OWASP's 2023 recommendation for
/// this PRF. Unlocking then costs a fraction of a second once per start, while each guess of
/// an attacker holding the file costs the same.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// A key passphrase. Its `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Passphrase(Vec<u8>);

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// A passphrase from its bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes of the passphrase.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Reads a passphrase file: its first line, without the line ending (as `openssl -passin
    /// file:F` does), so `echo secret > F` works.
    pub fn read_file(path: &Path) -> std::io::Result<Self> {
        let bytes = std::fs::read(path)?;
        let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Self(line.to_vec()))
    }
}

/// Where a key passphrase comes from. Resolved when the key is read, so the secret is held
/// only as long as the decryption takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassphraseSource {
    /// The first line of this file (`--key-passphrase-file`, `[tls] key_passphrase_file`).
    File(PathBuf),
    /// The [`PASSPHRASE_ENV`] environment variable.
    Env,
}

/// Why a passphrase could not be had.
#[derive(Debug, thiserror::Error)]
pub enum PassphraseError {
    /// The passphrase file could not be read.
    #[error("cannot read passphrase file {}: {cause}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        cause: std::io::Error,
    },
    /// The environment variable is not set (or not UTF-8).
    #[error("{PASSPHRASE_ENV} is not set")]
    EnvMissing,
}

impl PassphraseSource {
    /// The passphrase source a command line gives: the file when one is named, else the
    /// environment variable when it is set, else none.
    pub fn from_flag_or_env(file: Option<&Path>) -> Option<Self> {
        match file {
            Some(path) => Some(Self::File(path.to_path_buf())),
            None if std::env::var_os(PASSPHRASE_ENV).is_some() => Some(Self::Env),
            None => None,
        }
    }

    /// Reads the passphrase.
    pub fn load(&self) -> Result<Passphrase, PassphraseError> {
        match self {
            Self::File(path) => Passphrase::read_file(path).map_err(|cause| PassphraseError::Io {
                path: path.clone(),
                cause,
            }),
            Self::Env => std::env::var(PASSPHRASE_ENV)
                .map(Passphrase::new)
                .map_err(|_| PassphraseError::EnvMissing),
        }
    }
}

/// Why an encrypted key could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDecodeError {
    /// The key is encrypted and no passphrase was given.
    #[error("the key is encrypted and no passphrase was given")]
    NeedsPassphrase,
    /// Decryption failed: bad padding or no DER inside.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A cipher or key derivation carafe does not implement.
    #[error("unsupported key encryption: {0}")]
    Unsupported(String),
    /// The file is not a well-formed encrypted key.
    #[error("malformed encrypted key: {0}")]
    Malformed(String),
}

/// Whether `bytes` hold an encrypted private key in either PEM form.
pub fn is_encrypted(bytes: &[u8]) -> bool {
    let text = String::from_utf8_lossy(bytes);
    text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
}

/// Decrypts the first encrypted private key in the PEM `bytes`.
pub fn decrypt_pem(
    bytes: &[u8],
    passphrase: Option<&Passphrase>,
) -> Result<PrivateKeyDer<'static>, KeyDecodeError> {
    let text = String::from_utf8_lossy(bytes);
    let block = pem_blocks(&text)
        .into_iter()
        .find(|b| b.label == "ENCRYPTED PRIVATE KEY" || b.header("Proc-Type").is_some())
        .ok_or_else(|| KeyDecodeError::Malformed("no encrypted key block".into()))?;
    let passphrase = passphrase.ok_or(KeyDecodeError::NeedsPassphrase)?;
    if block.label == "ENCRYPTED PRIVATE KEY" {
        decrypt_pkcs8(&block.der, passphrase)
    } else {
        decrypt_legacy(&block, passphrase)
    }
}

/// Encrypts a PKCS#8 DER key as an `ENCRYPTED PRIVATE KEY` PEM: PBES2 with
/// PBKDF2-HMAC-SHA256 ([`PBKDF2_ITERATIONS`]) and AES-256-CBC, random salt and IV. This is what
/// OpenSSL 3 writes by default and what every TLS stack that reads encrypted keys accepts.
pub fn encrypt_pkcs8_pem(pkcs8_der: &[u8], passphrase: &Passphrase) -> Result<String, String> {
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    aws_lc_rs::rand::fill(&mut salt).map_err(|_| "the system random generator failed")?;
    aws_lc_rs::rand::fill(&mut iv).map_err(|_| "the system random generator failed")?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(PBKDF2_ITERATIONS, &salt, &iv)
            .map_err(|e| e.to_string())?;
    let info = pkcs8::PrivateKeyInfo::try_from(pkcs8_der).map_err(|e| e.to_string())?;
    let doc = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|e| e.to_string())?;
    let pem = doc
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| e.to_string())?;
    Ok(pem.to_string())
}

fn decrypt_pkcs8(
    der: &[u8],
    passphrase: &Passphrase,
) -> Result<PrivateKeyDer<'static>, KeyDecodeError> {
    use pkcs8::pkcs5;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der)
        .map_err(|e| KeyDecodeError::Malformed(e.to_string()))?;
    let doc = info.decrypt(passphrase.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(
            e @ (pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs5::Error::NoPbes1CryptSupport
            | pkcs5::Error::AlgorithmParametersInvalid { .. }),
        ) => KeyDecodeError::Unsupported(e.to_string()),
        _ => KeyDecodeError::WrongPassphrase,
    })?;
    // A lucky padding byte around garbage still fails here.
    pkcs8::PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|_| KeyDecodeError::WrongPassphrase)?;
    Ok(PrivateKeyDer::Pkcs8(doc.as_bytes().to_vec().into()))
}

/// The ciphers of the legacy `DEK-Info` header: name, key length, IV length.
const LEGACY_CIPHERS: &[(&str, usize, usize)] = &[
    ("DES-EDE3-CBC", 24, 8),
    ("AES-128-CBC", 16, 16),
    ("AES-192-CBC", 24, 16),
    ("AES-256-CBC", 32, 16),
];

fn decrypt_legacy(
    block: &PemBlock,
    passphrase: &Passphrase,
) -> Result<PrivateKeyDer<'static>, KeyDecodeError> {
    let dek = block
        .header("DEK-Info")
        .ok_or_else(|| KeyDecodeError::Malformed("no DEK-Info header".into()))?;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or_else(|| KeyDecodeError::Malformed(format!("DEK-Info {dek:?}")))?;
    let cipher = cipher.trim().to_ascii_uppercase();
    let &(_, key_len, iv_len) = LEGACY_CIPHERS
        .iter()
        .find(|(name, ..)| *name == cipher)
        .ok_or_else(|| {
            KeyDecodeError::Unsupported(format!(
                "cipher {cipher} (carafe reads DES-EDE3-CBC and AES-128/192/256-CBC)"
            ))
        })?;
    let iv = hex_decode(iv_hex.trim())
        .filter(|iv| iv.len() == iv_len)
        .ok_or_else(|| KeyDecodeError::Malformed(format!("DEK-Info IV {iv_hex:?}")))?;
    let key = evp_bytes_to_key(passphrase.as_bytes(), &iv[..8], key_len);
    let mut buf = block.der.clone();
    let plain = match cipher.as_str() {
        "DES-EDE3-CBC" => cbc_decrypt::<des::TdesEde3>(&key, &iv, &mut buf),
        "AES-128-CBC" => cbc_decrypt::<aes::Aes128>(&key, &iv, &mut buf),
        "AES-192-CBC" => cbc_decrypt::<aes::Aes192>(&key, &iv, &mut buf),
        _ => cbc_decrypt::<aes::Aes256>(&key, &iv, &mut buf),
    }
    .ok_or(KeyDecodeError::WrongPassphrase)?;
    if !is_der_sequence(plain) {
        return Err(KeyDecodeError::WrongPassphrase);
    }
    let plain = plain.to_vec();
    match block.label.as_str() {
        "RSA PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs1(plain.into())),
        "EC PRIVATE KEY" => Ok(PrivateKeyDer::Sec1(plain.into())),
        "PRIVATE KEY" => Ok(PrivateKeyDer::Pkcs8(plain.into())),
        other => Err(KeyDecodeError::Unsupported(format!("PEM block {other:?}"))),
    }
}

/// CBC decryption with PKCS#7 padding in place; `None` when the padding is wrong (which is
/// what a wrong passphrase almost always gives).
fn cbc_decrypt<'b, C>(key: &[u8], iv: &[u8], buf: &'b mut [u8]) -> Option<&'b [u8]>
where
    C: cbc::cipher::BlockDecryptMut + cbc::cipher::BlockCipher + cbc::cipher::KeyInit,
    cbc::Decryptor<C>: KeyIvInit + BlockDecryptMut,
{
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    decryptor.decrypt_padded_mut::<Pkcs7>(buf).ok()
}

/// OpenSSL's `EVP_BytesToKey` with MD5 and one iteration: `D_i = MD5(D_{i-1} || pass || salt)`,
/// concatenated until there are `len` bytes.
fn evp_bytes_to_key(passphrase: &[u8], salt: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 16);
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut md5 = Md5::new();
        md5.update(&prev);
        md5.update(passphrase);
        md5.update(salt);
        prev = md5.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

/// Whether `bytes` are exactly one DER SEQUENCE (tag, definite length, nothing after).
fn is_der_sequence(bytes: &[u8]) -> bool {
    let (Some(&0x30), Some(&first)) = (bytes.first(), bytes.get(1)) else {
        return false;
    };
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || bytes.len() < 2 + n {
            return false;
        }
        let len = bytes[2..2 + n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, 2 + n)
    };
    header + len == bytes.len()
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// One PEM block, with the RFC 1421 headers the legacy encrypted form carries.
#[derive(Debug)]
struct PemBlock {
    label: String,
    headers: Vec<(String, String)>,
    der: Vec<u8>,
}

impl PemBlock {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Every PEM block in `text` whose base64 decodes (CRLF line endings are fine).
#[allow(clippy::type_complexity)] // one local tuple, named in the comment below
fn pem_blocks(text: &str) -> Vec<PemBlock> {
    let mut blocks = Vec::new();
    // The block being read: its label, headers and base64 body so far.
    let mut current: Option<(String, Vec<(String, String)>, String)> = None;
    for line in text.lines().map(str::trim) {
        if let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        {
            current = Some((label.to_string(), Vec::new(), String::new()));
        } else if line.starts_with("-----END ") {
            if let Some((label, headers, body)) = current.take()
                && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body)
            {
                blocks.push(PemBlock {
                    label,
                    headers,
                    der,
                });
            }
        } else if let Some((_, headers, body)) = current.as_mut() {
            match line.split_once(':') {
                Some((k, v)) if body.is_empty() => {
                    headers.push((k.trim().to_string(), v.trim().to_string()));
                }
                _ => body.push_str(line),
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evp_bytes_to_key_matches_openssl() {
        // `openssl enc -des-ede3-cbc -k x -S 0102030405060708 -P -md md5`
        let key = evp_bytes_to_key(b"x", &[1, 2, 3, 4, 5, 6, 7, 8], 24);
        assert_eq!(
            crate::certs::hex(&key),
            "df39ded3e3f345cebb53bf088aac6d3e3056c591d7268aa6"
        );
    }

    #[test]
    fn recognises_a_der_sequence() {
        assert!(is_der_sequence(&[0x30, 0x02, 0x05, 0x00]));
        assert!(is_der_sequence(&[0x30, 0x81, 0x01, 0x00]));
        assert!(!is_der_sequence(&[0x30, 0x03, 0x05, 0x00]));
        assert!(!is_der_sequence(&[0x04, 0x00]));
        assert!(!is_der_sequence(&[]));
    }

    #[test]
    fn passphrase_file_drops_the_line_ending_only() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("pass");
        for (content, want) in [
            ("x\n", "x"),
            ("x\r\n", "x"),
            ("two words", "two words"),
            (" spaced \nsecond line\n", " spaced "),
        ] {
            std::fs::write(&f, content).unwrap();
            assert_eq!(
                Passphrase::read_file(&f).unwrap().as_bytes(),
                want.as_bytes()
            );
        }
        assert_eq!(format!("{:?}", Passphrase::new("secret")), "Passphrase(..)");
    }

    #[test]
    fn pkcs8_round_trip_and_wrong_passphrase() {
        let key = rcgen::KeyPair::generate().unwrap();
        let pass = Passphrase::new("correct horse");
        let pem = encrypt_pkcs8_pem(key.serialized_der(), &pass).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(is_encrypted(pem.as_bytes()));
        let der = decrypt_pem(pem.as_bytes(), Some(&pass)).unwrap();
        assert_eq!(der.secret_der(), key.serialized_der());
        assert_eq!(
            decrypt_pem(pem.as_bytes(), Some(&Passphrase::new("nope"))).unwrap_err(),
            KeyDecodeError::WrongPassphrase
        );
        assert_eq!(
            decrypt_pem(pem.as_bytes(), None).unwrap_err(),
            KeyDecodeError::NeedsPassphrase
        );
    }
}
