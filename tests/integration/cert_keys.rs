//! Key types and encrypted keys: every `--key-type` of `carafe cert new` served and verified by
//! independent clients (openssl, Python with strict verification, curl), and the encrypted keys
//! the seed's own openssl commands write loaded with a passphrase file or `CARAFE_KEY_PASSPHRASE`.

use std::path::Path;
use std::process::{Command, Output};

use crate::harness::{Carafe, have, run, site_copy, stderr_of};

/// Runs openssl with `args` in `dir`, asserting success; returns stdout.
fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr_of(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `python3` GETs `url` trusting only `cafile`, with `VERIFY_X509_STRICT` set explicitly (the
/// default of Python 3.13, which rejects CA certificates as leaves and other sloppiness).
fn python_strict_get(url: &str, cafile: &Path, resolve_to: Option<&str>) -> Output {
    let script = r#"
import socket, ssl, sys, urllib.request
url, cafile, ip = sys.argv[1], sys.argv[2], sys.argv[3]
if ip:
    real = socket.getaddrinfo
    socket.getaddrinfo = lambda host, *a, **k: real(ip, *a, **k)
ctx = ssl.create_default_context(cafile=cafile)
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
print(urllib.request.urlopen(url, context=ctx, timeout=20).status)
"#;
    Command::new("python3")
        .args(["-c", script, url])
        .arg(cafile)
        .arg(resolve_to.unwrap_or(""))
        .output()
        .expect("run python3")
}

/// A12, A13, A14: for every key type, `cert new` makes a leaf with the SANs, `CA:FALSE`, the
/// right keyUsage and EKU serverAuth; `openssl verify -x509_strict`, `openssl s_client
/// -verify_return_error`, Python's strict default context and curl (by both names) accept it
/// when served with `--cert/--key`.
#[test]
fn every_key_type_is_served_and_strictly_verified() {
    if !have("openssl") || !have("python3") || !have("curl") {
        eprintln!("skipping: openssl, python3 or curl not installed");
        return;
    }
    let site = site_copy();
    for (key_type, printed, openssl_key) in [
        ("ecdsa-p256", "ECDSA P-256", "ASN1 OID: prime256v1"),
        ("ecdsa-p384", "ECDSA P-384", "ASN1 OID: secp384r1"),
        ("rsa-2048", "RSA 2048-bit", "Public-Key: (2048 bit)"),
        ("rsa-3072", "RSA 3072-bit", "Public-Key: (3072 bit)"),
        ("rsa-4096", "RSA 4096-bit", "Public-Key: (4096 bit)"),
    ] {
        let out = run(
            &[
                "cert",
                "new",
                "--out",
                key_type,
                "--key-type",
                key_type,
                "--host",
                "localhost",
                "--host",
                "dev.example.test",
            ],
            site.path(),
        );
        assert!(out.status.success(), "{key_type}: {}", stderr_of(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(&format!("(private key, {printed}, mode 0600)")),
            "{stdout}"
        );
        let dir = site.path().join(key_type);
        let (crt, key) = (dir.join("server.crt"), dir.join("server.key"));
        let crt_s = crt.to_str().unwrap();

        let text = openssl(site.path(), &["x509", "-noout", "-text", "-in", crt_s]);
        assert!(text.contains("CA:FALSE"), "{key_type}: {text}");
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
        assert!(
            text.contains("DNS:localhost, DNS:dev.example.test"),
            "{text}"
        );
        assert!(text.contains(openssl_key), "{key_type}: {text}");
        let usage = if key_type.starts_with("rsa") {
            "Digital Signature, Key Encipherment"
        } else {
            "Digital Signature\n"
        };
        assert!(text.contains(usage), "{key_type}: {text}");
        // A13: under 825 days, dates as UTCTime (openssl prints both as "... GMT").
        let dates = openssl(site.path(), &["x509", "-noout", "-dates", "-in", crt_s]);
        assert!(
            dates.contains("notBefore=") && dates.contains("GMT"),
            "{dates}"
        );
        openssl(
            site.path(),
            &["verify", "-x509_strict", "-CAfile", crt_s, crt_s],
        );

        let server = Carafe::start(
            site.path(),
            &["--cert", crt_s, "--key", key.to_str().unwrap()],
        );
        let port = server.addr.port();
        let s_client = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "openssl s_client -connect 127.0.0.1:{port} -servername localhost -verify_return_error -verify_hostname localhost -CAfile {crt_s} </dev/null"
            ))
            .output()
            .unwrap();
        let s_out = String::from_utf8_lossy(&s_client.stdout);
        assert!(
            s_client.status.success() && s_out.contains("Verify return code: 0 (ok)"),
            "{key_type}: {s_out}{}",
            stderr_of(&s_client)
        );

        let py = python_strict_get(&format!("https://localhost:{port}/"), &crt, None);
        assert!(
            py.status.success() && String::from_utf8_lossy(&py.stdout).trim() == "200",
            "{key_type}: python: {}",
            stderr_of(&py)
        );
        for (host, resolve) in [("localhost", true), ("dev.example.test", true)] {
            let mut curl = Command::new("curl");
            curl.args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                crt_s,
            ]);
            if resolve {
                curl.args(["--resolve", &format!("{host}:{port}:127.0.0.1")]);
            }
            let out = curl
                .arg(format!("https://{host}:{port}/"))
                .output()
                .unwrap();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout),
                "200",
                "{key_type} {host}: {}",
                stderr_of(&out)
            );
        }
    }
}

/// A14: Ed25519 is refused, and the message says browsers reject it.
#[test]
fn ed25519_is_refused_because_browsers_reject_it() {
    let site = site_copy();
    let out = run(&["cert", "new", "--key-type", "ed25519"], site.path());
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains(
            "browsers (Chrome, Firefox, Safari) reject Ed25519 for TLS server certificates"
        ),
        "{err}"
    );
    assert!(!site.path().join("certs/server.key").exists());
}

/// `cert new --passphrase-file` writes encrypted PKCS#8 that OpenSSL 3 reads with the same
/// passphrase file, and that `carafe serve --key-passphrase-file` serves.
#[tokio::test]
async fn cert_new_with_passphrase_writes_a_key_openssl_and_serve_unlock() {
    let site = site_copy();
    std::fs::write(site.path().join("pass.txt"), "correct horse\n").unwrap();
    let out = run(
        &["cert", "new", "--passphrase-file", "pass.txt"],
        site.path(),
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("encrypted PKCS#8"), "{stdout}");
    assert!(
        stdout.contains("--key-passphrase-file pass.txt"),
        "{stdout}"
    );
    let key = site.path().join("certs/server.key");
    let pem = std::fs::read_to_string(&key).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
        "{pem}"
    );

    if have("openssl") {
        openssl(
            site.path(),
            &[
                "pkey",
                "-in",
                "certs/server.key",
                "-passin",
                "file:pass.txt",
                "-noout",
            ],
        );
        let text = openssl(site.path(), &["asn1parse", "-in", "certs/server.key"]);
        assert!(
            text.contains("PBKDF2")
                && text.contains("hmacWithSHA256")
                && text.contains("aes-256-cbc"),
            "{text}"
        );
    } else {
        eprintln!("skipping the openssl half: openssl not installed");
    }

    let crt = site.path().join("certs/server.crt");
    let server = Carafe::start(
        site.path(),
        &[
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
            "--key-passphrase-file",
            site.path().join("pass.txt").to_str().unwrap(),
        ],
    );
    let c = crate::harness::client(&std::fs::read(&crt).unwrap(), server.addr, false);
    let resp = c.get(server.url("/")).send().await.unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
}

/// Runs `carafe serve --check` with the pair and extra arguments/environment.
fn check(dir: &Path, crt: &str, key: &str, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(crate::harness::bin());
    cmd.args(["serve", "--root"])
        .arg(dir)
        .args(["--port", "0", "--check", "--cert", crt, "--key", key])
        .args(extra)
        .current_dir(dir)
        .env_remove("PORT")
        .env_remove("CARAFE_KEY_PASSPHRASE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run carafe")
}

/// A15 (encrypted keys): the keys of the seed's commands — `openssl genrsa -des3`, `openssl
/// genpkey -aes256` (PKCS#8), `openssl rsa -traditional -aes128` and `-des3` (legacy
/// `Proc-Type`, as OpenSSL 1.1's `genrsa -des3` wrote), and an
/// `openssl ec -aes256` SEC1 key — load with `--key-passphrase-file` and with
/// `CARAFE_KEY_PASSPHRASE`; a wrong or missing passphrase is one line and exit status 1.
#[test]
fn seed_encrypted_keys_load_with_a_passphrase_and_explain_mistakes() {
    if !have("openssl") {
        eprintln!("skipping: openssl not installed");
        return;
    }
    let site = site_copy();
    let dir = site.path();
    std::fs::write(dir.join("pass"), "x\n").unwrap();
    std::fs::write(dir.join("wrong"), "y\n").unwrap();
    openssl(
        dir,
        &[
            "genrsa", "-des3", "-passout", "pass:x", "-out", "des3.key", "2048",
        ],
    );
    openssl(
        dir,
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-aes256",
            "-pass",
            "pass:x",
            "-out",
            "pkcs8.key",
        ],
    );
    openssl(dir, &["genrsa", "-out", "plain.key", "2048"]);
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "plain.key",
            "-traditional",
            "-aes128",
            "-passout",
            "pass:x",
            "-out",
            "legacy.key",
        ],
    );
    // What OpenSSL 1.1's `genrsa -des3` wrote (the Flask tutorial's era): legacy DES-EDE3-CBC.
    openssl(
        dir,
        &[
            "rsa",
            "-in",
            "plain.key",
            "-traditional",
            "-des3",
            "-passout",
            "pass:x",
            "-out",
            "legacy-des3.key",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-genkey",
            "-name",
            "prime256v1",
            "-noout",
            "-out",
            "ec.key",
        ],
    );
    openssl(
        dir,
        &[
            "ec",
            "-in",
            "ec.key",
            "-aes256",
            "-passout",
            "pass:x",
            "-out",
            "ec-enc.key",
        ],
    );
    let legacy = std::fs::read_to_string(dir.join("legacy.key")).unwrap();
    assert!(
        legacy.contains("Proc-Type: 4,ENCRYPTED") && legacy.contains("DEK-Info: AES-128-CBC"),
        "{legacy}"
    );

    let des3 = std::fs::read_to_string(dir.join("legacy-des3.key")).unwrap();
    assert!(des3.contains("DEK-Info: DES-EDE3-CBC,"), "{des3}");
    for key in [
        "des3.key",
        "pkcs8.key",
        "legacy.key",
        "legacy-des3.key",
        "ec-enc.key",
    ] {
        let crt = format!("{key}.crt");
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-x509",
                "-key",
                key,
                "-passin",
                "pass:x",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost",
                "-days",
                "30",
                "-out",
                &crt,
            ],
        );
        let ok = check(dir, &crt, key, &["--key-passphrase-file", "pass"], &[]);
        assert!(ok.status.success(), "{key}: {}", stderr_of(&ok));
        assert!(
            String::from_utf8_lossy(&ok.stdout).contains("load and match"),
            "{key}"
        );
        let ok = check(dir, &crt, key, &[], &[("CARAFE_KEY_PASSPHRASE", "x")]);
        assert!(ok.status.success(), "{key} (env): {}", stderr_of(&ok));

        for (extra, env, want) in [
            (
                vec!["--key-passphrase-file", "wrong"],
                vec![],
                format!("carafe: error: wrong passphrase for {key}\n"),
            ),
            (
                vec![],
                vec![("CARAFE_KEY_PASSPHRASE", "nope")],
                format!("carafe: error: wrong passphrase for {key}\n"),
            ),
            (
                vec![],
                vec![],
                format!(
                    "carafe: error: {key} is encrypted; pass --key-passphrase-file FILE or set CARAFE_KEY_PASSPHRASE\n"
                ),
            ),
        ] {
            let out = check(dir, &crt, key, &extra, &env);
            assert_eq!(out.status.code(), Some(1), "{key} {extra:?} {env:?}");
            assert_eq!(stderr_of(&out), want, "{key} {extra:?} {env:?}");
        }
    }

    // And really served, from the Flask tutorial's own `genrsa -des3` key.
    let abs = |name: &str| dir.join(name).to_str().unwrap().to_string();
    let (crt, key, pass) = (abs("des3.key.crt"), abs("des3.key"), abs("pass"));
    let server = Carafe::start(
        dir,
        &[
            "--cert",
            &crt,
            "--key",
            &key,
            "--key-passphrase-file",
            &pass,
        ],
    );
    assert!(server.stdout().iter().any(|l| l.contains("(supplied)")));
}

/// `[tls] key_passphrase_file` in carafe.toml (relative to the file) unlocks the key; a flag
/// would win over it.
#[test]
fn config_file_names_the_passphrase_file() {
    let site = site_copy();
    let dir = site.path();
    std::fs::write(dir.join("pass"), "x\n").unwrap();
    let out = run(
        &["cert", "new", "--out", "tls", "--passphrase-file", "pass"],
        dir,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    std::fs::write(
        dir.join("carafe.toml"),
        "[tls]\ncert = \"tls/server.crt\"\nkey = \"tls/server.key\"\nkey_passphrase_file = \"pass\"\n",
    )
    .unwrap();
    let out = run(
        &[
            "serve",
            "--root",
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--check",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let effective = String::from_utf8_lossy(&out.stdout);
    assert!(
        effective.contains("key_passphrase_file = ") && effective.contains("load and match"),
        "{effective}"
    );
    std::fs::write(dir.join("wrong"), "y\n").unwrap();
    let out = run(
        &[
            "serve",
            "--root",
            dir.to_str().unwrap(),
            "--port",
            "0",
            "--check",
            "--key-passphrase-file",
            "wrong",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("wrong passphrase for"),
        "{}",
        stderr_of(&out)
    );
}
