//! carafe.toml end to end: `[routes]`, `[mounts]`, `[headers]`, `[server]`, and
//! `carafe serve --check`.

use reqwest::StatusCode;

use crate::harness::{Carafe, dev_client, run, site_copy};

const CONFIG: &str = r#"
[server]
port = 1  # overridden by --port 0 in the harness

[mounts]
"/js" = "static/js"

[routes]
"/join" = "signup.html"

[headers]
"/**" = { X-Frame-Options = "DENY" }
"/static/**" = { Cache-Control = "public, max-age=60" }

[context]
site_name = "Demo"
"#;

#[tokio::test]
async fn routes_mounts_and_headers_from_the_file_apply() {
    let site = site_copy();
    std::fs::write(site.path().join("carafe.toml"), CONFIG).unwrap();
    let server = Carafe::start(site.path(), &[]);
    assert!(
        server
            .stdout()
            .iter()
            .any(|l| l.starts_with("carafe: config ") && l.ends_with("carafe.toml")),
        "{:?}",
        server.stdout()
    );
    let client = dev_client(site.path(), &server, false);
    let resp = client.get(server.url("/join")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert!(resp.text().await.unwrap().contains("id=\"signup-form\""));

    let resp = client
        .get(server.url("/js/signup.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["x-frame-options"], "DENY");
    assert_eq!(resp.headers()["cache-control"], "no-cache");
    let resp = client
        .get(server.url("/static/js/signup.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["cache-control"], "public, max-age=60");
}

#[test]
fn check_prints_effective_settings_and_exits_zero() {
    let site = site_copy();
    std::fs::write(site.path().join("carafe.toml"), CONFIG).unwrap();
    let root = site.path().to_str().unwrap();
    let out = run(
        &["serve", "--root", root, "--check", "--port", "9443"],
        site.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "port = 9443  # flag or CARAFE_* variable",
        "bind = \"127.0.0.1\"  # default",
        "mode = \"gen\"  # default",
        "\"/join\" = \"signup.html\"",
        "\"/js\" = \"static/js\"",
        "# config keys: [\"site_name\"]",
        "# certificates: ",
        "carafe: check ok",
    ] {
        assert!(stdout.contains(want), "{want:?} not in:\n{stdout}");
    }
    assert!(!stdout.contains("listening on"));
    // Nothing written: no certificate made by a check.
    assert!(!site.path().join("certs/carafe-dev.crt").exists());

    // A broken template fails the check with the file and line.
    std::fs::write(site.path().join("templates/bad.html"), "\n{{ x }\n").unwrap();
    let out = run(&["serve", "--root", root, "--check"], site.path());
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("templates/bad.html line 2"), "{err}");
}

/// `carafe serve --check` in `root` with extra environment variables; stdout.
fn check_with_env(root: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = std::process::Command::new(crate::harness::bin());
    cmd.args(["serve", "--check", "--root", root.to_str().unwrap()])
        .args(args)
        .env_remove("PORT")
        .env_remove("CARAFE_PORT")
        .env_remove("CARAFE_SHUTDOWN_TIMEOUT");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn precedence_is_flag_then_env_then_platform_port_then_file_then_default() {
    let site = site_copy();
    std::fs::write(
        site.path().join("carafe.toml"),
        "[server]\nport = 7000\nshutdown_timeout = 5\n",
    )
    .unwrap();
    // (flags, environment, expected line)
    type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        (
            &["--port", "9001"],
            &[("CARAFE_PORT", "9002"), ("PORT", "9003")],
            "port = 9001  # flag or CARAFE_* variable",
        ),
        (
            &[],
            &[("CARAFE_PORT", "9002"), ("PORT", "9003")],
            "port = 9002  # flag or CARAFE_* variable",
        ),
        (&[], &[("PORT", "9003")], "port = 9003  # $PORT"),
        (&[], &[], "port = 7000  # carafe.toml"),
        (
            &["--shutdown-timeout", "7"],
            &[("CARAFE_SHUTDOWN_TIMEOUT", "6")],
            "shutdown_timeout = 7  # flag or CARAFE_* variable",
        ),
        (
            &[],
            &[("CARAFE_SHUTDOWN_TIMEOUT", "6")],
            "shutdown_timeout = 6  # flag or CARAFE_* variable",
        ),
        (&[], &[], "shutdown_timeout = 5  # carafe.toml"),
    ];
    for (args, env, want) in cases {
        let out = check_with_env(site.path(), args, env);
        assert!(
            out.contains(want),
            "{args:?} {env:?}: {want:?} not in\n{out}"
        );
    }
    std::fs::remove_file(site.path().join("carafe.toml")).unwrap();
    let out = check_with_env(site.path(), &[], &[]);
    assert!(out.contains("port = 8443  # default"), "{out}");
    assert!(out.contains("shutdown_timeout = 25  # default"), "{out}");
}
