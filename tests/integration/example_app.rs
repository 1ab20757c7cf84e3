//! `examples/signup.rs` — the Flask app ported to the library API — served over HTTPS on an
//! ephemeral port in this process, exercised with a client that trusts only the generated
//! certificate. The example's own routes and validation are compiled into this test, so the
//! test runs exactly the code the example runs.

use std::time::Duration;

use clap::Parser;
use reqwest::{StatusCode, header};

use crate::harness::{client, site_copy};

#[allow(dead_code, unreachable_pub)]
#[path = "../../examples/signup.rs"]
mod signup_example;

struct Running {
    site: tempfile::TempDir,
    client: reqwest::Client,
    port: u16,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start() -> Running {
    let site = site_copy();
    let root = site.path().to_str().unwrap().to_string();
    let cli =
        carafe::cli::ServeCli::try_parse_from(["signup", "--root", &root, "--tls", "gen"]).unwrap();
    let mut config =
        carafe::config::ServeConfig::from_parts(&cli.serve, None, None, &|_| None).unwrap();
    config.site.mounts.push(signup_example::js_mount().unwrap());
    let app = carafe::App::load(config).unwrap();
    let router = signup_example::routes(app.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(app.serve_on(listener, router));
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    Running {
        client: client(&pem, addr, false),
        port: addr.port(),
        site,
        task,
    }
}

async fn post(app: &Running, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        app.client
            .post(app.url("/signup"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send(),
    )
    .await
    .unwrap()
    .unwrap();
    let status = resp.status();
    assert_eq!(
        resp.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    (status, resp.text().await.unwrap())
}

#[tokio::test]
async fn valid_signup_renders_thanks_with_the_name() {
    let app = start().await;
    let (status, body) = post(
        &app,
        &[
            ("name", "Ana <Lima>"),
            ("email", "ana@example.test"),
            ("password", "correct horse"),
            ("confirm", "correct horse"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Thanks, Ana &lt;Lima&gt;!"), "{body}");
    assert!(
        body.contains("class=\"site-header\""),
        "the layout wraps it"
    );
}

#[tokio::test]
async fn invalid_signup_rerenders_the_form_with_errors() {
    let app = start().await;
    let (status, body) = post(
        &app,
        &[
            ("name", " "),
            ("email", "ana@\"x"),
            ("password", "short"),
            ("confirm", "other"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "Please enter your name.",
        "Please enter a valid email address.",
        "Password must be at least 8 characters.",
        "Passwords do not match.",
    ] {
        assert!(body.contains(message), "{message} not in {body}");
    }
    // The email is kept, escaped; the password is not echoed.
    assert!(body.contains("value=\"ana@&#34;x\""), "{body}");
    assert!(!body.contains("short"));

    let (status, body) = post(&app, &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Please enter your email address."));
    assert!(body.contains("Please confirm your password."));
}

#[tokio::test]
async fn the_rest_of_the_site_and_the_js_mount_still_serve() {
    let app = start().await;
    let get = |path: &'static str| {
        let req = app.client.get(app.url(path));
        async move { req.send().await.unwrap() }
    };
    let resp = get("/signup").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("id=\"signup-form\""));
    assert!(body.contains("<p class=\"field-error\" id=\"name-error\" aria-live=\"polite\"></p>"));

    let resp = get("/js/signup.js").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        resp.bytes().await.unwrap(),
        std::fs::read(app.site.path().join("static/js/signup.js")).unwrap()
    );
    assert_eq!(get("/").await.status(), StatusCode::OK);
    assert_eq!(get("/nope").await.status(), StatusCode::NOT_FOUND);
    let resp = app.client.delete(app.url("/signup")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}
