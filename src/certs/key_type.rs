//! The kinds of key carafe makes for a server certificate, and what each implies for the
//! certificate: the signature algorithm and the keyUsage bits.
//!
//! Only what every browser and TLS stack accepts is offered: ECDSA on P-256 (the default: small,
//! fast handshakes) or P-384, and RSA of 2048 bits or more (for old clients and for CAs that
//! still want RSA). Ed25519 is deliberately absent: no major browser accepts it in a server
//! certificate (see [`ED25519_REFUSED`]).

use std::fmt;

use rcgen::{
    KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_RSA_SHA256,
    RsaKeySize, SignatureAlgorithm,
};

/// Why `--key-type ed25519` is refused, in the words printed to the user.
pub const ED25519_REFUSED: &str = "--key-type ed25519 is refused: browsers (Chrome, Firefox, Safari) reject Ed25519 for TLS server certificates; use ecdsa-p256 (the default), ecdsa-p384 or rsa-2048";

/// A key type for a generated server certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA on NIST P-256 with SHA-256: the default.
    #[default]
    EcdsaP256,
    /// ECDSA on NIST P-384 with SHA-384.
    EcdsaP384,
    /// RSA, 2048-bit modulus, PKCS#1 v1.5 signatures with SHA-256.
    Rsa2048,
    /// RSA, 3072-bit modulus.
    Rsa3072,
    /// RSA, 4096-bit modulus.
    Rsa4096,
}

impl KeyType {
    /// Every key type, in the order `--help` lists them.
    pub const ALL: [KeyType; 5] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// The signature algorithm a key of this type signs certificates and CSRs with.
    pub fn algorithm(self) -> &'static SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &PKCS_ECDSA_P384_SHA384,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &PKCS_RSA_SHA256,
        }
    }

    /// Whether this is an RSA key.
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// The keyUsage of a server certificate for this key. RSA keys also get keyEncipherment,
    /// which TLS 1.2 RSA key exchange needs and which strict validators (and RFC 5246 clients)
    /// expect on an RSA server certificate; ECDSA keys only sign.
    pub fn key_usages(self) -> Vec<KeyUsagePurpose> {
        if self.is_rsa() {
            vec![
                KeyUsagePurpose::DigitalSignature,
                KeyUsagePurpose::KeyEncipherment,
            ]
        } else {
            vec![KeyUsagePurpose::DigitalSignature]
        }
    }

    /// Makes a new random key of this type.
    pub fn generate(self) -> Result<KeyPair, rcgen::Error> {
        let rsa = |size| KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size);
        match self {
            KeyType::EcdsaP256 | KeyType::EcdsaP384 => KeyPair::generate_for(self.algorithm()),
            KeyType::Rsa2048 => rsa(RsaKeySize::_2048),
            KeyType::Rsa3072 => rsa(RsaKeySize::_3072),
            KeyType::Rsa4096 => rsa(RsaKeySize::_4096),
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyType::EcdsaP256 => "ECDSA P-256",
            KeyType::EcdsaP384 => "ECDSA P-384",
            KeyType::Rsa2048 => "RSA 2048-bit",
            KeyType::Rsa3072 => "RSA 3072-bit",
            KeyType::Rsa4096 => "RSA 4096-bit",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_keys_also_encipher_and_ec_keys_only_sign() {
        for kt in KeyType::ALL {
            let usages = kt.key_usages();
            assert!(usages.contains(&KeyUsagePurpose::DigitalSignature));
            assert_eq!(
                usages.contains(&KeyUsagePurpose::KeyEncipherment),
                kt.is_rsa(),
                "{kt}"
            );
        }
    }

    #[test]
    fn generates_keys_for_its_algorithm() {
        for kt in [KeyType::EcdsaP256, KeyType::EcdsaP384, KeyType::Rsa2048] {
            let key = kt.generate().unwrap();
            assert!(key.is_compatible(kt.algorithm()), "{kt}");
        }
    }
}
