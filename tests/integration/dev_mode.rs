//! Development mode (`--dev`, DESIGN §6): case A17 (changes picked up without a restart), case
//! A18 in the browser (file, line, expression, source), live reload over SSE, the injected
//! script, no static cache.

use std::path::Path;
use std::time::Duration;

use reqwest::{StatusCode, header};

use crate::harness::{Carafe, dev_client, site_copy};

async fn get(client: &reqwest::Client, server: &Carafe, path: &str) -> (StatusCode, String) {
    let resp = client.get(server.url(path)).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

fn write(root: &Path, name: &str, text: &str) {
    std::fs::write(root.join("templates").join(name), text).unwrap();
}

#[tokio::test]
async fn a17_template_changes_show_on_the_next_request() {
    let site = site_copy();
    let root = site.path();
    write(root, "_part.html", "part-v1");
    write(
        root,
        "_layout.html",
        "base-v1 {% block body %}{% endblock %}",
    );
    write(root, "page.html", "page-v1");
    write(
        root,
        "composed.html",
        "{% extends \"_layout.html\" %}{% block body %}{% include \"_part.html\" %}{% endblock %}",
    );
    let server = Carafe::start(root, &["--dev"]);
    let client = dev_client(root, &server, false);
    let (client, server) = (&client, &server);
    let page = |text: &'static str| async move {
        let (status, body) = get(client, server, "/page").await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.starts_with(text), "{body}");
    };
    page("page-v1").await;

    // In-place write.
    write(root, "page.html", "page-v2");
    page("page-v2").await;

    // Write a temporary file, then rename it over the template.
    write(root, ".page.html.tmp", "page-v3");
    std::fs::rename(
        root.join("templates/.page.html.tmp"),
        root.join("templates/page.html"),
    )
    .unwrap();
    page("page-v3").await;

    // A partial and a base layout.
    let (_, body) = get(client, server, "/composed").await;
    assert!(body.starts_with("base-v1 part-v1"), "{body}");
    write(root, "_part.html", "part-v2");
    write(
        root,
        "_layout.html",
        "base-v2 {% block body %}{% endblock %}",
    );
    let (_, body) = get(client, server, "/composed").await;
    assert!(body.starts_with("base-v2 part-v2"), "{body}");

    // Delete: the 404 page; recreate: back.
    std::fs::remove_file(root.join("templates/page.html")).unwrap();
    let (status, body) = get(client, server, "/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"), "{body}");
    write(root, "page.html", "page-v4");
    page("page-v4").await;

    // A new page is routable at once.
    write(root, "fresh.html", "fresh-v1");
    let (status, body) = get(client, server, "/fresh").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("fresh-v1"));
}

#[tokio::test]
async fn a18_dev_error_page_shows_file_line_expression_and_source() {
    let site = site_copy();
    let root = site.path();
    write(
        root,
        "page.html",
        "<h1>Page</h1>\n<p>Hello,\n{{ user.nmae }}</p>\n",
    );
    write(root, "err.html", "{% if undefined_flag %}x{% endif %}");
    let server = Carafe::start(root, &["--dev", "--strict"]);
    let client = dev_client(root, &server, false);

    let (status, body) = get(&client, &server, "/page").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("templates/page.html line 3"), "{body}");
    assert!(
        body.contains("<code class=\"expr\">user.nmae</code>"),
        "{body}"
    );
    assert!(body.contains("   2 | &lt;p&gt;Hello,"), "{body}");
    assert!(
        body.contains("EventSource"),
        "the error page reloads itself"
    );

    let (status, body) = get(&client, &server, "/err").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("templates/err.html line 1"), "{body}");
    assert!(body.contains("undefined_flag"), "{body}");

    // A syntax error made while the server runs.
    write(root, "bad.html", "<p>\n{{ foo }\n");
    let (status, body) = get(&client, &server, "/bad").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("templates/bad.html line 2"), "{body}");
    assert!(body.contains("syntax error"), "{body}");

    // Fixed: the page recovers with no restart.
    write(
        root,
        "page.html",
        "<h1>Page</h1>\n<p>Hello,\n{{ request.path }}</p>\n",
    );
    let (status, body) = get(&client, &server, "/page").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("/page</p>"), "{body}");
}

#[tokio::test]
async fn live_reload_script_is_injected_into_html_only_with_correct_length() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--dev"]);
    let client = dev_client(site.path(), &server, true);
    let resp = client.get(server.url("/")).send().await.unwrap();
    let len: usize = resp.headers()[header::CONTENT_LENGTH]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = resp.text().await.unwrap();
    assert_eq!(len, body.len());
    assert!(body.contains("/__carafe/reload"));
    assert!(
        body.trim_end().ends_with("</script>\n</body>\n</html>"),
        "{body}"
    );
    let head = client.head(server.url("/")).send().await.unwrap();
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH].to_str().unwrap(),
        len.to_string()
    );

    let css = client
        .get(server.url("/static/css/site.css"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!css.contains("EventSource"));

    // Production: no script, no endpoint.
    let prod = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &prod, false);
    let (_, body) = get(&client, &prod, "/").await;
    assert!(!body.contains("EventSource"));
    let (status, _) = get(&client, &prod, "/__carafe/reload").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn reload_event_is_sent_when_a_watched_file_changes() {
    let site = site_copy();
    let root = site.path();
    std::fs::create_dir(root.join("data")).unwrap();
    std::fs::write(root.join("data/site.json"), "{}").unwrap();
    let server = Carafe::start(root, &["--dev"]);
    let client = dev_client(root, &server, false);
    let mut events = client
        .get(server.url("/__carafe/reload"))
        .send()
        .await
        .unwrap();
    assert_eq!(events.headers()[header::CONTENT_TYPE], "text/event-stream");
    let hello = tokio::time::timeout(Duration::from_secs(5), events.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&hello).contains("event: hello"));
    for (i, file) in ["templates/index.html", "static/css/site.css"]
        .iter()
        .enumerate()
    {
        let path = root.join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{text}\n")).unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let mut seen = String::new();
        while !seen.contains("event: reload") {
            let chunk = tokio::time::timeout_at(deadline, events.chunk())
                .await
                .unwrap_or_else(|_| panic!("no reload after editing {file}: {seen:?}"))
                .unwrap()
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains(&format!("data: {}", i + 1)), "{seen}");
    }
}

#[tokio::test]
async fn static_files_are_read_fresh_in_dev_mode() {
    let site = site_copy();
    let server = Carafe::start(site.path(), &["--dev"]);
    let client = dev_client(site.path(), &server, false);
    let (_, before) = get(&client, &server, "/static/css/site.css").await;
    std::fs::write(site.path().join("static/css/site.css"), "body{color:red}").unwrap();
    let (_, after) = get(&client, &server, "/static/css/site.css").await;
    assert_ne!(before, after);
    assert_eq!(after, "body{color:red}");
}

// Multi-threaded: the client's connection must keep being driven while this test blocks in
// `wait_exit`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_reload_stream_does_not_hold_up_shutdown() {
    let site = site_copy();
    let mut server = Carafe::start(site.path(), &["--dev"]);
    let client = dev_client(site.path(), &server, false);
    let mut events = client
        .get(server.url("/__carafe/reload"))
        .send()
        .await
        .unwrap();
    let hello = tokio::time::timeout(Duration::from_secs(5), events.chunk())
        .await
        .unwrap()
        .unwrap();
    assert!(hello.is_some());
    let started = std::time::Instant::now();
    server.signal("TERM");
    let status = server.wait_exit(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn data_file_changes_show_on_the_next_request() {
    let site = site_copy();
    let root = site.path();
    std::fs::create_dir(root.join("data")).unwrap();
    std::fs::write(root.join("data/site.toml"), "title = \"one\"\n").unwrap();
    write(root, "t.html", "{{ data.site.title }}");
    let server = Carafe::start(root, &["--dev"]);
    let client = dev_client(root, &server, false);
    assert!(
        get(&client, &server, "/t")
            .await
            .1
            .starts_with("one<script>")
    );
    std::fs::write(root.join("data/site.toml"), "title = \"two\"\n").unwrap();
    assert!(
        get(&client, &server, "/t")
            .await
            .1
            .starts_with("two<script>")
    );
    // A broken data file is an error page in dev mode, naming the file; fixing it recovers.
    std::fs::write(root.join("data/site.toml"), "title = \n").unwrap();
    let (status, body) = get(&client, &server, "/t").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(body.contains("site.toml"), "{body}");
    std::fs::write(root.join("data/site.toml"), "title = \"three\"\n").unwrap();
    assert!(
        get(&client, &server, "/t")
            .await
            .1
            .starts_with("three<script>")
    );
}
