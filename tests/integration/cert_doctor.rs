//! `carafe cert csr` (requests for a real CA) and `carafe cert show` (the cert doctor), checked
//! against openssl and against the certificates the seed's openssl commands made.

use std::path::Path;
use std::process::Command;

use crate::harness::{have, run, site_copy, stderr_of};

fn openssl(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        stderr_of(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `cert csr` with a new key writes the key (0600) and a CSR whose signature openssl verifies
/// and whose SANs are the hosts; with an existing encrypted key it signs with that key; it
/// never overwrites a file.
#[test]
fn cert_csr_makes_a_verifiable_request_with_the_sans() {
    let site = site_copy();
    let dir = site.path();
    let out = run(
        &[
            "cert",
            "csr",
            "--key",
            "csr/site.key",
            "--key-type",
            "rsa-2048",
            "--host",
            "www.example.test",
            "--host",
            "example.test",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("wrote csr/site.key (new private key, RSA 2048-bit, mode 0600)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("wrote csr/site.csr (certificate signing request)"),
        "{stdout}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("csr/site.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Again: the CSR exists, so nothing is overwritten.
    let key_before = std::fs::read(dir.join("csr/site.key")).unwrap();
    let again = run(
        &[
            "cert",
            "csr",
            "--key",
            "csr/site.key",
            "--host",
            "www.example.test",
        ],
        dir,
    );
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr_of(&again).contains("already exists"),
        "{}",
        stderr_of(&again)
    );
    assert_eq!(std::fs::read(dir.join("csr/site.key")).unwrap(), key_before);

    // From an existing encrypted key (made by `cert new --passphrase-file`).
    std::fs::write(dir.join("pass"), "x\n").unwrap();
    let new = run(&["cert", "new", "--passphrase-file", "pass"], dir);
    assert!(new.status.success(), "{}", stderr_of(&new));
    let missing = run(
        &[
            "cert",
            "csr",
            "--key",
            "certs/server.key",
            "--host",
            "app.test",
        ],
        dir,
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr_of(&missing).contains("certs/server.key is encrypted"),
        "{}",
        stderr_of(&missing)
    );
    let out = run(
        &[
            "cert",
            "csr",
            "--key",
            "certs/server.key",
            "--passphrase-file",
            "pass",
            "--host",
            "app.test",
            "--host",
            "10.1.2.3",
            "--out",
            "app.csr",
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr_of(&out));

    if !have("openssl") {
        eprintln!("skipping the openssl checks: openssl not installed");
        return;
    }
    let text = openssl(
        dir,
        &["req", "-in", "csr/site.csr", "-verify", "-noout", "-text"],
    );
    assert!(
        text.contains("DNS:www.example.test, DNS:example.test"),
        "{text}"
    );
    assert!(text.contains("CN = www.example.test"), "{text}");
    let text = openssl(
        dir,
        &["req", "-in", "app.csr", "-verify", "-noout", "-text"],
    );
    assert!(text.contains("DNS:app.test, IP Address:10.1.2.3"), "{text}");
    // The CSR carries the public key of the existing key.
    let csr_key = openssl(dir, &["req", "-in", "app.csr", "-noout", "-pubkey"]);
    let key_pub = openssl(
        dir,
        &[
            "pkey",
            "-in",
            "certs/server.key",
            "-passin",
            "file:pass",
            "-pubout",
        ],
    );
    assert_eq!(csr_key, key_pub);
}

/// A14/A15 (the cert doctor): on the seed's certificates — `openssl req -x509` (CN only,
/// CA:TRUE from openssl's default config, 10 years) and `openssl x509 -req -signkey` (an X.509
/// v1 certificate without extensions, 365 days) — `cert show` lists what clients reject, each
/// with the carafe command that makes a good one, and exits 1; on a carafe certificate with its
/// key it reports the match and exits 0.
#[test]
fn cert_show_lints_the_seed_certificates_and_passes_carafes() {
    let site = site_copy();
    let dir = site.path();
    let out = run(&["cert", "new", "--host", "localhost"], dir);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let good = run(
        &[
            "cert",
            "show",
            "certs/server.crt",
            "--key",
            "certs/server.key",
        ],
        dir,
    );
    let stdout = String::from_utf8_lossy(&good.stdout);
    assert_eq!(good.status.code(), Some(0), "{stdout}{}", stderr_of(&good));
    for want in [
        "names (SAN): localhost",
        "key: ECDSA P-256 (256-bit)",
        "signature: ecdsa-with-SHA256",
        "CA: no; serverAuth: yes",
        "private key: certs/server.key matches",
        "note: self-signed",
        "ok: no problems found",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
    assert!(stdout.contains("sha256 fingerprint: "), "{stdout}");

    if !have("openssl") {
        eprintln!("skipping the legacy certificates: openssl not installed");
        return;
    }
    // The Flask tutorial's four commands.
    openssl(
        dir,
        &[
            "genrsa",
            "-des3",
            "-passout",
            "pass:x",
            "-out",
            "server.pass.key",
            "2048",
        ],
    );
    openssl(
        dir,
        &[
            "rsa",
            "-passin",
            "pass:x",
            "-in",
            "server.pass.key",
            "-out",
            "server.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-sha256",
            "-days",
            "365",
            "-in",
            "server.csr",
            "-signkey",
            "server.key",
            "-out",
            "server.crt",
        ],
    );
    let out = run(&["cert", "show", "server.crt", "--key", "server.key"], dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert_eq!(
        stderr_of(&out),
        "carafe: error: server.crt: 2 problems found (listed above)\n"
    );
    for want in [
        "names (SAN): (none)",
        "key: RSA 2048-bit",
        "private key: server.key matches",
        "problem: an X.509 v1 certificate",
        "problem: no subjectAltName (CN=localhost): browsers ignore the CN",
        "fix: carafe cert new --host localhost",
        "note: self-signed",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }

    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "3650",
            "-subj",
            "/CN=dev.example.test",
        ],
    );
    let out = run(&["cert", "show", "ca.crt", "--key", "server.key"], dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for want in [
        "private key: server.key does NOT match",
        "problem: no subjectAltName (CN=dev.example.test)",
        "problem: valid for 3650 days: Apple platforms",
        "problem: marked CA:TRUE",
        "fix: carafe cert new --host dev.example.test",
    ] {
        assert!(stdout.contains(want), "{want}: {stdout}");
    }
    // Over 825 days is a problem; the 398-day note is only for what lies between.
    assert!(!stdout.contains("398 days"), "{stdout}");

    let out = run(&["cert", "show", "server.key"], dir);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("holds a private key, not a certificate"),
        "{}",
        stderr_of(&out)
    );
}

/// Case A14: a CA certificate (`openssl req -x509`, CA:TRUE) given as `--cert` is served with a
/// warning that says why strict clients reject it and what makes a proper one.
#[test]
fn serving_a_ca_certificate_as_the_leaf_warns_why() {
    if !have("openssl") {
        eprintln!("skipping: openssl not installed");
        return;
    }
    let site = site_copy();
    let dir = site.path();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "30",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
    );
    let (crt, key) = (dir.join("ca.crt"), dir.join("ca.key"));
    let server = crate::harness::Carafe::start(
        dir,
        &[
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );
    let warned = crate::harness::wait_until(std::time::Duration::from_secs(5), || {
        server
            .stderr()
            .iter()
            .any(|l| l.contains("is a CA certificate") && l.contains("carafe cert new"))
    });
    assert!(warned, "{:?}", server.stderr());
}
