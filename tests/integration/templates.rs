//! The template context (DESIGN §2), autoescaping, the undefined policy, and template errors in
//! production (case A18): the 500 page without source, one log line with file, line and
//! expression.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::harness::{Carafe, dev_client, site_copy};

const CONTEXT_PAGE: &str = "\
method={{ request.method }}
path={{ request.path }}
q={{ request.args.q }}
qs={{ request.query_string }}
scheme={{ request.scheme }}
host={{ request.host }}
remote={{ request.remote_addr }}
config={{ config.site_name }}/{{ config.owner.name }}
app={{ env.APP_NAME }}
secret=[{{ env.SECRET_TOKEN }}]
env_in_config=[{{ config.env }}]
team={{ data.team[0].name }}
nav={{ data.nav | join(\",\") }}
site={{ data.site.title }}
css={{ static_url(\"css/site.css\") }}
";

fn context_site() -> tempfile::TempDir {
    let site = site_copy();
    let p = site.path();
    std::fs::write(p.join("templates/ctx.html"), CONTEXT_PAGE).unwrap();
    std::fs::create_dir(p.join("data")).unwrap();
    std::fs::write(p.join("data/team.json"), r#"[{"name": "Ana"}]"#).unwrap();
    std::fs::write(p.join("data/nav.yaml"), "- home\n- signup\n").unwrap();
    std::fs::write(p.join("data/site.toml"), "title = \"Carafe & co\"\n").unwrap();
    std::fs::write(
        p.join("carafe.toml"),
        "[context]\nsite_name = \"Demo\"\nowner = { name = \"Bo\" }\nenv = [\"APP_NAME\"]\n",
    )
    .unwrap();
    site
}

fn line<'a>(body: &'a str, key: &str) -> &'a str {
    body.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in {body}"))
}

#[tokio::test]
async fn context_has_request_config_allowed_env_and_data() {
    let site = context_site();
    let server = Carafe::start_with_env(
        site.path(),
        &[],
        &[("APP_NAME", "Carafe"), ("SECRET_TOKEN", "s3cret")],
    );
    let client = dev_client(site.path(), &server, false);
    let body = client
        .get(server.url("/ctx?q=tea&x=1"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let port = server.addr.port();
    let want = [
        ("method", "GET".to_string()),
        ("path", "/ctx".to_string()),
        ("q", "tea".to_string()),
        ("qs", "q=tea&amp;x=1".to_string()),
        ("scheme", "https".to_string()),
        ("host", format!("localhost:{port}")),
        ("remote", "127.0.0.1".to_string()),
        ("config", "Demo/Bo".to_string()),
        ("app", "Carafe".to_string()),
        ("secret", "[]".to_string()),
        ("env_in_config", "[]".to_string()),
        ("team", "Ana".to_string()),
        ("nav", "home,signup".to_string()),
        ("site", "Carafe &amp; co".to_string()),
    ];
    for (key, value) in want {
        assert_eq!(line(&body, key), value, "{key} in {body}");
    }
    assert!(!body.contains("s3cret"));
    let css = line(&body, "css");
    assert!(css.starts_with("/static/css/site.css?v="), "{css}");
}

#[tokio::test]
async fn static_url_hash_changes_when_the_file_changes() {
    let site = context_site();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    let css = || async {
        let body = client
            .get(server.url("/ctx"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        line(&body, "css").to_string()
    };
    let before = css().await;
    std::fs::write(site.path().join("static/css/site.css"), "body{color:red}").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let after = css().await;
        if after != before {
            assert!(after.starts_with("/static/css/site.css?v="), "{after}");
            break;
        }
        assert!(Instant::now() < deadline, "hash never changed: {before}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn script_in_a_query_arg_is_escaped() {
    let site = context_site();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, false);
    let body = client
        .get(server.url("/ctx?q=%3Cscript%3Ealert(%27x%27)%3C/script%3E"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        line(&body, "q"),
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    );
    assert!(!body.contains("<script>alert"));
}

/// The A18 fixtures.
fn a18_site() -> tempfile::TempDir {
    let site = site_copy();
    let t = site.path().join("templates");
    std::fs::write(
        t.join("page.html"),
        "<h1>Page</h1>\n<p>Hello,\n{{ user.nmae }}</p>\n",
    )
    .unwrap();
    std::fs::write(t.join("err.html"), "{% if undefined_flag %}x{% endif %}").unwrap();
    site
}

#[tokio::test]
async fn undefined_is_lenient_by_default_and_strict_with_the_flag() {
    let site = a18_site();
    let lenient = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &lenient, false);
    let resp = client.get(lenient.url("/err")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "");
    drop(lenient);

    let strict = Carafe::start(site.path(), &["--strict"]);
    let client = dev_client(site.path(), &strict, false);
    let resp = client.get(strict.url("/err")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // The bundled pages use nothing undefined, even the form a handler may fill in.
    for page in ["/", "/signup", "/thanks"] {
        let resp = client.get(strict.url(page)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{page}");
    }
    // The same through carafe.toml.
    drop(strict);
    std::fs::write(
        site.path().join("carafe.toml"),
        "[site]\nstrict_undefined = true\n",
    )
    .unwrap();
    let strict = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &strict, false);
    let resp = client.get(strict.url("/err")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn production_template_error_is_the_500_page_and_one_log_line() {
    let site = a18_site();
    let server = Carafe::start(site.path(), &["--strict"]);
    let client = dev_client(site.path(), &server, false);
    for (path, file, expr) in [
        ("/page", "templates/page.html line 3", "user.nmae"),
        ("/err", "templates/err.html line 1", "undefined_flag"),
    ] {
        let resp = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        let body = resp.text().await.unwrap();
        assert!(body.contains("Something went wrong"), "{path}: {body}");
        for leak in [
            expr,
            "templates/",
            "line 3",
            "{{",
            "{%",
            site.path().to_str().unwrap(),
        ] {
            assert!(!body.contains(leak), "{path}: 500 page shows {leak:?}");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let logged = loop {
            let lines: Vec<String> = server
                .stderr()
                .into_iter()
                .filter(|l| l.contains(file))
                .collect();
            if !lines.is_empty() || Instant::now() > deadline {
                break lines;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(logged.len(), 1, "{path}: {:?}", server.stderr());
        assert!(logged[0].contains(&format!("`{expr}`")), "{}", logged[0]);
    }
}
