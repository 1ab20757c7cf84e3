//! Mistakes at startup: one line on stderr that says what and what to do, exit status 1, and
//! nothing bound.

use std::path::Path;

use crate::harness::{run, site_copy, stderr_of};

/// Runs `carafe serve --root ROOT ARGS` expecting a startup failure; returns stderr.
fn fails(root: &Path, args: &[&str]) -> String {
    let mut full = vec!["serve", "--root", root.to_str().unwrap(), "--port", "0"];
    full.extend_from_slice(args);
    let out = run(&full, root);
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(err.starts_with("carafe: error: "), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("listening on"),
        "{args:?}: bound before failing"
    );
    err
}

fn write_pair(dir: &Path, name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".into()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (c, k) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&c, cert.pem()).unwrap();
    std::fs::write(&k, key.serialize_pem()).unwrap();
    (c.to_str().unwrap().into(), k.to_str().unwrap().into())
}

#[test]
fn port_in_use() {
    let site = site_copy();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let root = site.path().to_str().unwrap();
    let out = run(&["serve", "--root", root, "--port", &port], site.path());
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port}: the address is already in use"
        )),
        "{err}"
    );
}

/// Case A16: a missing, unreadable (mode 000) or directory `--key`/`--cert` stops startup
/// before binding, naming the file and the OS error.
#[test]
fn missing_unreadable_or_directory_cert_files() {
    let site = site_copy();
    let (crt, key) = write_pair(site.path(), "a");
    let missing = site.path().join("nope.crt");
    let missing = missing.to_str().unwrap();
    let err = fails(site.path(), &["--cert", missing, "--key", &key]);
    assert!(
        err.contains(&format!(
            "cannot read certificate file {missing}: No such file"
        )),
        "{err}"
    );

    let dir = site.path().join("templates");
    let err = fails(
        site.path(),
        &["--cert", &crt, "--key", dir.to_str().unwrap()],
    );
    assert!(
        err.contains("cannot read key file") && err.contains("directory"),
        "{err}"
    );

    #[cfg(unix)]
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o000)).unwrap();
        let err = fails(site.path(), &["--cert", &crt, "--key", &key]);
        assert!(err.contains("Permission denied"), "{err}");
    }
}

#[cfg(unix)]
fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Case A15: a mismatched pair names both files; swapped arguments say which holds what.
#[test]
fn mismatched_swapped_and_empty_files() {
    let site = site_copy();
    let (crt_a, key_a) = write_pair(site.path(), "a");
    let (_crt_b, key_b) = write_pair(site.path(), "b");
    let err = fails(site.path(), &["--cert", &crt_a, "--key", &key_b]);
    assert!(
        err.contains(&format!(
            "the private key {key_b} does not match the certificate {crt_a}"
        )),
        "{err}"
    );
    let err = fails(site.path(), &["--cert", &key_a, "--key", &crt_a]);
    assert!(err.contains("the two arguments are swapped"), "{err}");

    let empty = site.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let err = fails(
        site.path(),
        &["--cert", empty.to_str().unwrap(), "--key", &key_a],
    );
    assert!(err.contains("no certificate in"), "{err}");
}

#[test]
fn template_syntax_error_names_file_and_line() {
    let site = site_copy();
    std::fs::write(
        site.path().join("templates/bad.html"),
        "{% extends \"_base.html\" %}\n{{ foo }\n",
    )
    .unwrap();
    let err = fails(site.path(), &[]);
    assert!(
        err.contains("templates/bad.html line 2: syntax error"),
        "{err}"
    );
}

#[test]
fn bad_platform_port_and_host() {
    let site = site_copy();
    let root = site.path().to_str().unwrap();
    let out = std::process::Command::new(crate::harness::bin())
        .args(["serve", "--root", root])
        .env("PORT", "web")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("$PORT is \"web\""),
        "{}",
        stderr_of(&out)
    );

    let err = fails(site.path(), &["--host", "not a host"]);
    assert!(err.contains("--host \"not a host\""), "{err}");
}

#[test]
fn legacy_encrypted_key_leaf_order_and_mount_overlap() {
    let site = site_copy();
    let (crt, _key) = write_pair(site.path(), "a");
    // The form `openssl genrsa -des3` writes (OpenSSL 1.1, the Flask tutorial).
    let legacy = site.path().join("legacy.key");
    std::fs::write(
        &legacy,
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: DES-EDE3-CBC,0123456789ABCDEF\n\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n",
    )
    .unwrap();
    let err = fails(
        site.path(),
        &["--cert", &crt, "--key", legacy.to_str().unwrap()],
    );
    assert!(
        err.contains(
            "legacy.key is encrypted; pass --key-passphrase-file FILE or set CARAFE_KEY_PASSPHRASE"
        ),
        "{err}"
    );

    // A chain with the intermediate first: the key matches certificate #2.
    let (crt_b, key_b) = write_pair(site.path(), "b");
    let reversed = site.path().join("reversed.pem");
    let chain = std::fs::read_to_string(&crt).unwrap() + &std::fs::read_to_string(&crt_b).unwrap();
    std::fs::write(&reversed, chain).unwrap();
    let err = fails(
        site.path(),
        &["--cert", reversed.to_str().unwrap(), "--key", &key_b],
    );
    assert!(
        err.contains("belongs to certificate #2") && err.contains("leaf"),
        "{err}"
    );

    std::fs::create_dir_all(site.path().join("src")).unwrap();
    let err = fails(site.path(), &["--mount", "/static/js=src"]);
    assert!(err.contains("overlaps /static"), "{err}");

    let out = run(
        &["serve", "--root", "/definitely/not/here", "--port", "0"],
        site.path(),
    );
    let err = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        err.matches("No such file").count(),
        1,
        "OS error printed once: {err}"
    );
}

#[test]
fn unknown_config_key_is_named_with_a_suggestion() {
    let site = site_copy();
    std::fs::write(site.path().join("carafe.toml"), "[server]\nprot = 9000\n").unwrap();
    let err = fails(site.path(), &[]);
    let file = site.path().join("carafe.toml");
    assert_eq!(
        err.trim_end(),
        format!(
            "carafe: error: {}: unknown key `server.prot`; did you mean `server.port`?",
            file.display()
        )
    );
    std::fs::write(
        site.path().join("carafe.toml"),
        "[server]\nport = \"web\"\n",
    )
    .unwrap();
    let err = fails(site.path(), &[]);
    assert!(
        err.contains(
            "carafe.toml line 2: `server.port`: invalid type: string \"web\", expected u16"
        ),
        "{err}"
    );
}

#[test]
fn route_to_a_missing_template_is_an_error() {
    let site = site_copy();
    std::fs::write(
        site.path().join("carafe.toml"),
        "[routes]\n\"/join\" = \"singup.html\"\n",
    )
    .unwrap();
    let err = fails(site.path(), &[]);
    assert!(
        err.contains("route /join renders singup.html, which is not in templates/"),
        "{err}"
    );
}
