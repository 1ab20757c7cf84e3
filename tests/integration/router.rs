//! Behind a Heroku-style router (cases A19, A20, A21): plain HTTP on `$PORT`, trusted
//! `X-Forwarded-*`, `--force-https`, HSTS, request ids. The test stands in for the router: a
//! plain HTTP client that adds the headers a router adds.

use std::time::{Duration, Instant};

use crate::harness::{Carafe, http_get, site_copy, wait_until};

/// A site with a page that shows what templates see of the request.
fn site() -> tempfile::TempDir {
    let site = site_copy();
    std::fs::write(
        site.path().join("templates/req.html"),
        "{{ request.scheme }}|{{ request.host }}|{{ request.remote_addr }}|{{ request.id }}",
    )
    .unwrap();
    std::fs::create_dir_all(site.path().join("templates/docs")).unwrap();
    std::fs::write(site.path().join("templates/docs/index.html"), "docs").unwrap();
    site
}

/// carafe as a platform starts it: `$PORT` set, no TLS option.
fn router_mode(site: &tempfile::TempDir, args: &[&str]) -> Carafe {
    Carafe::start_exact(site.path(), args, &[("PORT", "0")])
}

const APP: (&str, &str) = ("Host", "app.example");

#[tokio::test]
async fn port_env_binds_all_interfaces_with_plain_http_within_a_second() {
    let site = site();
    let start = Instant::now();
    let server = router_mode(&site, &[]);
    let started = start.elapsed();
    assert!(started < Duration::from_secs(2), "took {started:?}");
    assert_eq!(server.scheme, "http");
    assert!(server.addr.ip().is_unspecified(), "{}", server.addr);
    let out = server.stdout().join("\n");
    assert!(
        out.contains("(from $PORT; precedence: --port > $PORT > carafe.toml > default)"),
        "{out}"
    );
    assert!(
        out.contains("behind a router: plain HTTP, trusting X-Forwarded-* from 1 proxy hop(s), keep-alive 100s"),
        "{out}"
    );
    let resp = http_get(server.addr, "/", &[]).await;
    assert_eq!(resp.status, 200);
}

#[test]
fn port_flag_beats_port_env_and_says_so() {
    let site = site();
    let server = Carafe::start_exact(site.path(), &["--port", "0"], &[("PORT", "1")]);
    assert!(
        server.stdout().iter().any(|l| l.contains(
            "(from --port or CARAFE_PORT; precedence: --port > $PORT > carafe.toml > default)"
        )),
        "{:?}",
        server.stdout()
    );
}

#[test]
fn tls_gen_with_port_env_warns() {
    let site = site();
    let server = router_mode(&site, &["--tls", "gen"]);
    assert_eq!(server.scheme, "https");
    assert!(
        wait_until(Duration::from_secs(5), || server
            .stderr()
            .iter()
            .any(|l| l.contains("$PORT is set") && l.contains("TLS is on"))),
        "{:?}",
        server.stderr()
    );
}

#[tokio::test]
async fn force_https_follows_the_first_forwarded_proto_and_never_loops() {
    let site = site();
    let server = router_mode(&site, &["--force-https", "--health-path", "/healthz"]);
    let path = "/docs/?a=1";

    let https = http_get(server.addr, path, &[APP, ("X-Forwarded-Proto", "https")]).await;
    assert_eq!(https.status, 200);

    let http = http_get(server.addr, path, &[APP, ("X-Forwarded-Proto", "http")]).await;
    assert_eq!(http.status, 308);
    assert_eq!(
        http.header("location"),
        Some("https://app.example/docs/?a=1")
    );

    for list in ["https, http", "https,https"] {
        let resp = http_get(server.addr, path, &[APP, ("X-Forwarded-Proto", list)]).await;
        assert_eq!(resp.status, 200, "{list}");
    }
    // A direct hit without a forwarded proto is served as is (documented), never redirected.
    let direct = http_get(server.addr, path, &[APP]).await;
    assert_eq!(direct.status, 200);
    // The health check is exempt from the redirect.
    let health = http_get(
        server.addr,
        "/healthz",
        &[APP, ("X-Forwarded-Proto", "http")],
    )
    .await;
    assert_eq!(health.status, 200);
    assert_eq!(health.body, "ok\n");
    // The port the router saw is not carried into the https URL; the host from the router is.
    let forwarded = http_get(
        server.addr,
        "/signup",
        &[
            ("Host", "internal:5000"),
            ("X-Forwarded-Host", "www.example"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", "80"),
        ],
    )
    .await;
    assert_eq!(
        forwarded.header("location"),
        Some("https://www.example/signup")
    );
    // Templates build https URLs when the router says https.
    let page = http_get(server.addr, "/req", &[APP, ("X-Forwarded-Proto", "https")]).await;
    assert!(page.body.starts_with("https|app.example|"), "{}", page.body);
}

#[tokio::test]
async fn forwarded_headers_are_ignored_without_proxy_trust() {
    let site = site();
    let server = Carafe::start(site.path(), &["--tls", "off", "--force-https"]);
    let headers = [
        APP,
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-For", "6.6.6.6"),
        ("X-Forwarded-Host", "evil.example"),
    ];
    let resp = http_get(server.addr, "/req", &headers).await;
    assert_eq!(
        resp.status, 200,
        "a client-sent X-Forwarded-Proto is ignored"
    );
    assert!(
        resp.body.starts_with("http|app.example|127.0.0.1|"),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn client_address_is_the_nth_forwarded_for_entry_from_the_right() {
    let site = site();
    let xff = [
        APP,
        ("X-Forwarded-For", "1.1.1.1, 2.2.2.2"),
        ("X-Forwarded-Proto", "https"),
    ];
    let one = router_mode(&site, &[]);
    let resp = http_get(one.addr, "/req", &xff).await;
    assert!(
        resp.body.starts_with("https|app.example|2.2.2.2|"),
        "{}",
        resp.body
    );
    let access = |server: &Carafe| {
        server
            .stdout()
            .into_iter()
            .find(|l| l.contains("path=/req"))
    };
    assert!(wait_until(Duration::from_secs(5), || access(&one).is_some()));
    assert!(access(&one).unwrap().contains("client=2.2.2.2"));
    drop(one);

    let two = router_mode(&site, &["--trust-proxy", "2"]);
    let resp = http_get(two.addr, "/req", &xff).await;
    assert!(
        resp.body.starts_with("https|app.example|1.1.1.1|"),
        "{}",
        resp.body
    );
}

#[tokio::test]
async fn hsts_only_when_enabled_and_only_on_https_to_non_local_hosts() {
    let site = site();
    let plain = router_mode(&site, &[]);
    let resp = http_get(plain.addr, "/", &[APP, ("X-Forwarded-Proto", "https")]).await;
    assert_eq!(resp.header("strict-transport-security"), None);
    drop(plain);

    let server = router_mode(&site, &["--hsts"]);
    let https = http_get(server.addr, "/", &[APP, ("X-Forwarded-Proto", "https")]).await;
    assert_eq!(
        https.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let http = http_get(server.addr, "/", &[APP, ("X-Forwarded-Proto", "http")]).await;
    assert_eq!(http.header("strict-transport-security"), None);
    for host in [
        "localhost",
        "localhost:5000",
        "dev.localhost",
        "127.0.0.1",
        "[::1]",
    ] {
        let resp = http_get(
            server.addr,
            "/",
            &[("Host", host), ("X-Forwarded-Proto", "https")],
        )
        .await;
        assert_eq!(resp.header("strict-transport-security"), None, "{host}");
    }
    drop(server);

    let custom = router_mode(&site, &["--hsts", "600", "--hsts-include-subdomains"]);
    let resp = http_get(custom.addr, "/", &[APP, ("X-Forwarded-Proto", "https")]).await;
    assert_eq!(
        resp.header("strict-transport-security"),
        Some("max-age=600; includeSubDomains")
    );
}

#[tokio::test]
async fn request_ids_are_kept_when_valid_made_otherwise_and_logged() {
    let site = site();
    let server = router_mode(&site, &[]);
    let incoming = "0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e";
    let resp = http_get(server.addr, "/req", &[APP, ("X-Request-Id", incoming)]).await;
    assert_eq!(resp.header("x-request-id"), Some(incoming));
    assert!(
        resp.body.ends_with(&format!("|{incoming}")),
        "{}",
        resp.body
    );
    assert!(wait_until(Duration::from_secs(5), || server
        .stdout()
        .iter()
        .any(|l| l.contains(&format!("request_id={incoming}")))));

    for bad in ["short", "has spaces in it, which is not allowed"] {
        let resp = http_get(server.addr, "/req", &[APP, ("X-Request-Id", bad)]).await;
        let made = resp.header("x-request-id").unwrap();
        assert_ne!(made, bad);
        assert_eq!(made.len(), 32);
        assert!(resp.body.ends_with(made), "{}", resp.body);
    }
    let a = http_get(server.addr, "/", &[]).await;
    let b = http_get(server.addr, "/", &[]).await;
    assert_ne!(a.header("x-request-id"), b.header("x-request-id"));
}

#[tokio::test]
async fn health_checks_answer_200_and_are_not_logged_by_default() {
    let site = site();
    let server = router_mode(&site, &["--health-path", "/healthz"]);
    let resp = http_get(server.addr, "/healthz", &[]).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, "ok\n");
    http_get(server.addr, "/", &[]).await;
    assert!(wait_until(Duration::from_secs(5), || server
        .stdout()
        .iter()
        .any(|l| l.contains("path=/ "))));
    assert!(!server.stdout().iter().any(|l| l.contains("/healthz")));
    drop(server);

    let logged = router_mode(&site, &["--health-path", "/healthz", "--log-health"]);
    http_get(logged.addr, "/healthz", &[]).await;
    assert!(wait_until(Duration::from_secs(5), || logged
        .stdout()
        .iter()
        .any(|l| l.contains("path=/healthz"))));
}
