//! Pages and static files of the bundled site over HTTPS.

use reqwest::{Method, StatusCode, Version, header};

use crate::harness::{Carafe, dev_client, raw_https, site_copy};

#[tokio::test]
async fn serves_pages_over_h2_and_http11_with_layout() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--tls", "gen"]);
    for (http1_only, version) in [(false, Version::HTTP_2), (true, Version::HTTP_11)] {
        let client = dev_client(site.path(), &server, http1_only);
        for (path, title) in [("/", "<title>carafe"), ("/signup", "<title>Sign up")] {
            let resp = client.get(server.url(path)).send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            assert_eq!(resp.version(), version, "{path}");
            assert_eq!(
                resp.headers()[header::CONTENT_TYPE],
                "text/html; charset=utf-8"
            );
            let body = resp.text().await.unwrap();
            assert!(body.contains(title), "{path}: {body}");
            // The layout (_base.html) wraps the page, and assets are linked through url_for.
            assert!(body.contains("class=\"site-header\""), "{path}");
            assert!(body.contains("href=\"/static/css/site.css\""), "{path}");
        }
    }
    let body = dev_client(site.path(), &server, false)
        .get(server.url("/signup"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for field in [
        "id=\"name\"",
        "id=\"email\"",
        "id=\"password\"",
        "id=\"confirm\"",
    ] {
        assert!(body.contains(field), "{field}");
    }
    assert!(body.contains("src=\"/static/js/signup.js\""));
}

#[tokio::test]
async fn static_assets_have_their_content_types() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    for (path, ctype, file) in [
        ("/static/css/site.css", "text/css", "static/css/site.css"),
        (
            "/static/js/signup.js",
            "text/javascript",
            "static/js/signup.js",
        ),
    ] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        assert!(
            resp.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(ctype),
            "{path}: {:?}",
            resp.headers()[header::CONTENT_TYPE]
        );
        assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
        let body = resp.bytes().await.unwrap();
        assert_eq!(body, std::fs::read(site.path().join(file)).unwrap());
    }
}

#[tokio::test]
async fn missing_pages_and_partials_get_the_404_template() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    for path in [
        "/nope",
        "/_base",
        "/_base.html",
        "/404",
        "/static/nope.css",
        "/static/",
    ] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.contains("Page not found"), "{path}: {body}");
        assert!(!body.contains("{% block"), "{path}: template source leaked");
    }
}

#[tokio::test]
async fn html_suffix_redirects_permanently() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    let resp = client
        .get(server.url("/signup.html?ref=nav"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(resp.headers()[header::LOCATION], "/signup?ref=nav");
}

#[tokio::test]
async fn traversal_sent_as_is_gets_no_file() {
    let site = site_copy();
    std::fs::write(site.path().join("secret.txt"), "TOP-SECRET").unwrap();
    let server = Carafe::start(site.path(), &[]);
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    for path in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/../../Cargo.toml",
        "/../secret.txt",
        "/static/%00/x",
        "/weird_%c3%28_path",
    ] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        let response = raw_https(server.addr, &pem, request.as_bytes()).await;
        let status = response.lines().next().unwrap_or_default().to_string();
        assert!(
            status.starts_with("HTTP/1.1 404") || status.starts_with("HTTP/1.1 400"),
            "{path}: {status}"
        );
        assert!(!response.contains("TOP-SECRET"), "{path}");
        assert!(!response.contains("[package]"), "{path}");
    }
    // The server is still healthy afterwards.
    let resp = dev_client(site.path(), &server, true)
        .get(server.url("/"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn head_has_get_headers_and_no_body() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    for http1_only in [true, false] {
        let client = dev_client(site.path(), &server, http1_only);
        for path in ["/", "/signup", "/static/css/site.css", "/nope"] {
            let get = client.get(server.url(path)).send().await.unwrap();
            let head = client.head(server.url(path)).send().await.unwrap();
            assert_eq!(head.status(), get.status(), "{path}");
            for name in [
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
                header::LAST_MODIFIED,
                header::CACHE_CONTROL,
            ] {
                assert_eq!(
                    head.headers().get(&name),
                    get.headers().get(&name),
                    "{path} {name}"
                );
            }
            let get_len: usize = get.headers()[header::CONTENT_LENGTH]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(get.bytes().await.unwrap().len(), get_len, "{path}");
            assert!(head.bytes().await.unwrap().is_empty(), "{path}");
        }
    }
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    for (method, path) in [
        (Method::POST, "/signup"),
        (Method::PUT, "/"),
        (Method::DELETE, "/static/css/site.css"),
    ] {
        let resp = client
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(
            resp.status(),
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
        assert_eq!(resp.headers()[header::ALLOW], "GET, HEAD");
    }
}

#[tokio::test]
async fn access_log_has_one_line_per_request_on_stdout() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    let body = client
        .get(server.url("/signup?x=1"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    client.get(server.url("/nope")).send().await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let lines = loop {
        let lines: Vec<String> = server
            .stdout()
            .into_iter()
            .filter(|l| l.contains(" request "))
            .collect();
        if lines.len() >= 2 || std::time::Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("method=GET path=/signup?x=1 status=200"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(&format!("bytes={}", body.len())),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("duration_ms=") && lines[0].contains("HTTP/2.0"));
    assert!(lines[1].contains("path=/nope status=404"), "{}", lines[1]);
    assert!(server.stderr().iter().all(|l| !l.contains(" request ")));
}

#[tokio::test]
async fn http11_without_exactly_one_host_is_400() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &[]);
    let pem = std::fs::read(site.path().join("certs/carafe-dev.crt")).unwrap();
    for request in [
        "GET / HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n",
    ] {
        let response = raw_https(server.addr, &pem, request.as_bytes()).await;
        assert!(
            response.starts_with("HTTP/1.1 400"),
            "{request:?}: {response}"
        );
    }
    let ok = raw_https(
        server.addr,
        &pem,
        b"GET / HTTP/1.0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert!(
        ok.starts_with("HTTP/1.0 200") || ok.starts_with("HTTP/1.1 200"),
        "{ok}"
    );
}
