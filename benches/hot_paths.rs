//! Micro-benchmarks of the per-request hot paths (`cargo bench`), on the bundled site:
//! route resolution, a static file answered from the memory cache through the whole router
//! (lookup, negotiation, headers), a template render, and Range parsing. The side-by-side
//! comparison with nginx is `bench/run`; instruction counts are `bench/callgrind.sh`.

// criterion_group!/criterion_main! generate undocumented functions.
#![allow(missing_docs)]

use std::hint::black_box;
use std::path::Path;

use axum::body::Body;
use axum::http::Request;
use criterion::{Criterion, criterion_group, criterion_main};
use tower::ServiceExt as _;

use carafe::site::{RequestInfo, Site, SiteOptions};

fn site() -> Site {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Site::load_with(root, &SiteOptions::default()).expect("the bundled site loads")
}

fn routes(c: &mut Criterion) {
    let site = site();
    let table = site.routes();
    c.bench_function("route: /signup", |b| {
        b.iter(|| table.resolve(black_box("/signup"), None))
    });
    c.bench_function("route: /missing/page", |b| {
        b.iter(|| table.resolve(black_box("/missing/page"), None))
    });
}

fn static_from_cache(c: &mut Criterion) {
    let site = site();
    let app = carafe::http::router(site);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let request = || {
        Request::get("/static/js/signup.js")
            .header("host", "localhost")
            .header("accept-encoding", "br, gzip")
            .body(Body::empty())
            .unwrap()
    };
    // Warm the cache (the first request reads and compresses the file).
    let warm = rt.block_on(app.clone().oneshot(request())).unwrap();
    assert_eq!(warm.status(), 200);
    c.bench_function("static: cached signup.js through the router", |b| {
        b.iter(|| rt.block_on(app.clone().oneshot(request())).unwrap())
    });
    c.bench_function("static: 304 for a matching If-None-Match", |b| {
        let etag = warm.headers()["etag"].clone();
        b.iter(|| {
            let mut req = request();
            req.headers_mut().insert("if-none-match", etag.clone());
            rt.block_on(app.clone().oneshot(req)).unwrap()
        })
    });
}

fn templates(c: &mut Criterion) {
    let site = site();
    let snapshot = site.templates().snapshot().unwrap();
    let info = RequestInfo {
        method: "GET".into(),
        path: "/signup".into(),
        ..RequestInfo::default()
    };
    for page in ["index.html", "signup.html"] {
        c.bench_function(&format!("template: render {page}"), |b| {
            b.iter(|| {
                snapshot
                    .render(black_box(page), &info, minijinja::Value::UNDEFINED)
                    .unwrap()
            })
        });
    }
}

fn ranges(c: &mut Criterion) {
    use carafe::http::ranges::parse_range;
    c.bench_function("range: bytes=0-1023", |b| {
        b.iter(|| parse_range(black_box("bytes=0-1023"), 1 << 20))
    });
    c.bench_function("range: three ranges, one suffix", |b| {
        b.iter(|| parse_range(black_box("bytes=0-99, 200-299, -50"), 1 << 20))
    });
}

criterion_group!(benches, routes, static_from_cache, templates, ranges);
criterion_main!(benches);
