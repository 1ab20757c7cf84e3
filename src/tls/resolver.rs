//! The certificates a TLS listener serves, chosen per handshake by the client's SNI name, and
//! replaceable while the server runs ([`Certificates::reload`]).
//!
//! Selection, as nginx's `server_name` and Caddy do it: an exact DNS name in a certificate's
//! subjectAltName wins, then a wildcard SAN (`*.example.test` covers `app.example.test`, one
//! label only), then the default — the first certificate given — for clients that send no SNI
//! (IP-address URLs) or a name nothing covers.
//!
//! Reload swaps the whole set at once behind a lock held only to clone an `Arc`, so a
//! handshake sees either the old set or the new one, never a mix; connections already open keep
//! the certificate they were served with. A set that fails to load (a half-written file, a key
//! that does not match yet) is refused and the old one stays.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

use super::load::LoadError;
use crate::certs::private_key::PassphraseSource;
use crate::certs::{CertInfo, Host};

/// One certificate as loaded: the files it came from, its parsed leaf, and what rustls serves.
#[derive(Debug, Clone)]
pub struct LoadedCert {
    /// The certificate chain file.
    pub cert_path: PathBuf,
    /// The private key file.
    pub key_path: PathBuf,
    /// The leaf, parsed (names, validity, fingerprint).
    pub info: CertInfo,
    /// Chain and signing key.
    pub key: Arc<CertifiedKey>,
}

/// Loads `cert` and `key` ([`super::load_certified_key_with`], decrypting the key with
/// `passphrase` when it is encrypted) and parses the leaf.
pub fn load_leaf(
    cert: &std::path::Path,
    key: &std::path::Path,
    passphrase: Option<&PassphraseSource>,
) -> Result<LoadedCert, LoadError> {
    let certified = super::load_certified_key_with(cert, key, passphrase)?;
    let info = CertInfo::from_der(&certified.cert[0]).map_err(|err| LoadError::BadPem {
        path: cert.to_path_buf(),
        detail: format!("the certificate cannot be parsed: {err}"),
    })?;
    Ok(LoadedCert {
        cert_path: cert.to_path_buf(),
        key_path: key.to_path_buf(),
        info,
        key: certified,
    })
}

/// Loads one certificate pair: the function [`Certificates`] calls at start and on reload.
pub type Loader =
    dyn Fn(&std::path::Path, &std::path::Path) -> Result<LoadedCert, LoadError> + Send + Sync;

/// An immutable set of certificates with its SNI index.
#[derive(Debug)]
struct CertSet {
    certs: Vec<LoadedCert>,
    exact: HashMap<String, usize>,
    /// `*.example.test` stored as `example.test`.
    wildcard: HashMap<String, usize>,
}

impl CertSet {
    fn new(certs: Vec<LoadedCert>) -> Self {
        let mut exact = HashMap::new();
        let mut wildcard = HashMap::new();
        for (i, cert) in certs.iter().enumerate() {
            for host in &cert.info.hosts {
                let Host::Dns(name) = host else { continue };
                let name = name.to_ascii_lowercase();
                // The first certificate naming a host keeps it, as the first `server` in nginx.
                match name.strip_prefix("*.") {
                    Some(parent) => wildcard.entry(parent.to_string()).or_insert(i),
                    None => exact.entry(name).or_insert(i),
                };
            }
        }
        Self {
            certs,
            exact,
            wildcard,
        }
    }

    fn pick(&self, server_name: Option<&str>) -> &LoadedCert {
        let index = server_name.and_then(|name| {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            self.exact.get(&name).copied().or_else(|| {
                name.split_once('.')
                    .and_then(|(_, parent)| self.wildcard.get(parent).copied())
            })
        });
        &self.certs[index.unwrap_or(0)]
    }
}

/// The served certificates: a default and any number chosen by SNI, reloadable.
pub struct Certificates {
    pairs: Vec<(PathBuf, PathBuf)>,
    loader: Box<Loader>,
    current: RwLock<Arc<CertSet>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificates")
            .field("pairs", &self.pairs)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads every `(cert, key)` pair with `loader`; the first is the default. Fails on the
    /// first pair that does not load.
    pub fn load(
        pairs: Vec<(PathBuf, PathBuf)>,
        loader: Box<Loader>,
    ) -> Result<Arc<Self>, LoadError> {
        let set = load_all(&pairs, &loader)?;
        Ok(Arc::new(Self {
            pairs,
            loader,
            current: RwLock::new(Arc::new(set)),
        }))
    }

    /// The certificates now served, in the order given (the first is the default).
    pub fn loaded(&self) -> Vec<LoadedCert> {
        self.snapshot().certs.clone()
    }

    /// The certificate files, to watch for changes.
    pub fn files(&self) -> impl Iterator<Item = &PathBuf> {
        self.pairs.iter().flat_map(|(c, k)| [c, k])
    }

    /// Loads every pair again and, if all load, serves the new set to new handshakes. On error
    /// the old set stays and the error says which file is wrong.
    pub fn reload(&self) -> Result<Vec<LoadedCert>, LoadError> {
        let set = load_all(&self.pairs, &self.loader)?;
        let loaded = set.certs.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(set);
        Ok(loaded)
    }

    fn snapshot(&self) -> Arc<CertSet> {
        // Held only to clone the Arc; a panic elsewhere cannot leave the set half-written.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

fn load_all(pairs: &[(PathBuf, PathBuf)], loader: &Loader) -> Result<CertSet, LoadError> {
    let certs = pairs
        .iter()
        .map(|(cert, key)| loader(cert, key))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CertSet::new(certs))
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.snapshot().pick(hello.server_name()).key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certs::generate::self_signed;

    fn cert(dir: &std::path::Path, name: &str, hosts: &[&str]) -> (PathBuf, PathBuf) {
        let hosts: Vec<Host> = hosts.iter().map(|h| h.parse().unwrap()).collect();
        let g = self_signed(&hosts, 30).unwrap();
        let (c, k) = (
            dir.join(format!("{name}.crt")),
            dir.join(format!("{name}.key")),
        );
        std::fs::write(&c, &g.cert_pem).unwrap();
        std::fs::write(&k, &g.key_pem).unwrap();
        (c, k)
    }

    fn loader() -> Box<Loader> {
        Box::new(|cert, key| load_leaf(cert, key, None))
    }

    fn served(certs: &Certificates, name: Option<&str>) -> String {
        certs.snapshot().pick(name).cert_path.display().to_string()
    }

    #[test]
    fn sni_picks_exact_then_wildcard_then_the_default() {
        let tmp = tempfile::tempdir().unwrap();
        let a = cert(tmp.path(), "a", &["a.test", "localhost"]);
        let b = cert(tmp.path(), "b", &["b.test", "*.apps.test"]);
        let certs = Certificates::load(vec![a, b], loader()).unwrap();
        let (a, b) = (
            tmp.path().join("a.crt").display().to_string(),
            tmp.path().join("b.crt").display().to_string(),
        );
        assert_eq!(served(&certs, Some("a.test")), a);
        assert_eq!(served(&certs, Some("B.Test.")), b);
        assert_eq!(served(&certs, Some("x.apps.test")), b);
        // A wildcard covers one label only.
        assert_eq!(served(&certs, Some("y.x.apps.test")), a);
        assert_eq!(served(&certs, Some("apps.test")), a);
        assert_eq!(served(&certs, Some("other.test")), a);
        assert_eq!(served(&certs, None), a);
    }

    #[test]
    fn a_broken_reload_keeps_the_old_certificates() {
        let tmp = tempfile::tempdir().unwrap();
        let a = cert(tmp.path(), "a", &["a.test"]);
        let certs = Certificates::load(vec![a.clone()], loader()).unwrap();
        let before = certs.loaded()[0].info.fingerprint.clone();
        // A key from another certificate: refused, the old pair keeps serving.
        let other = cert(tmp.path(), "other", &["a.test"]);
        std::fs::copy(&other.1, &a.1).unwrap();
        let err = certs.reload().unwrap_err().to_string();
        assert!(err.contains("does not match"), "{err}");
        assert_eq!(certs.loaded()[0].info.fingerprint, before);
        // Both files replaced: the new certificate is served.
        std::fs::copy(&other.0, &a.0).unwrap();
        let now = certs.reload().unwrap();
        assert_ne!(now[0].info.fingerprint, before);
        assert_eq!(certs.loaded()[0].info.fingerprint, now[0].info.fingerprint);
    }
}
