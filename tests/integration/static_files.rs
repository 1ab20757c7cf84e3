//! Static files under `/static/` (and mounts): names, traversal, directory redirects, ranges,
//! HEAD, precompressed and on-the-fly encodings, content types, validators, cache policy,
//! hidden files, listings, the SPA fallback and request-size limits (acceptance cases A01–A07
//! and A11 of `cases/handed.md`, with the case's `site/` mapped to `<root>/static/`).

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode, Version};

use crate::harness::{Carafe, dev_client, have, raw_https};

/// Bound for raw-socket steps (connect, handshake, write) and whole raw exchanges.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Size of `static/page.html` (case A05).
const PAGE_LEN: usize = 536;

/// Size of `static/original.mkv` (case A06).
const MKV_LEN: usize = 229_630;

/// Markers of data that must never leave the server.
const OUTSIDE_SECRET: &str = "OUTSIDE-SECRET-7f3c";
const ROOT_SECRET: &str = "ROOT-SECRET-91ab";

// ------------------------------------------------------------------------------------------
// Fixture
// ------------------------------------------------------------------------------------------

/// `static/page.html`: exactly 536 bytes, every position easy to tell apart.
fn page_html() -> Vec<u8> {
    let head = b"<!doctype html>\n<title>page</title>\n<p>";
    let tail = b"</p>\n";
    let fill = PAGE_LEN - head.len() - tail.len();
    let mut page = head.to_vec();
    page.extend((0..fill).map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36]));
    page.extend_from_slice(tail);
    assert_eq!(page.len(), PAGE_LEN);
    page
}

/// `static/index.html`: a few KiB of compressible HTML (the SPA shell and A07's file).
fn index_html() -> Vec<u8> {
    let mut html =
        String::from("<!doctype html>\n<html><head><title>SPA shell</title></head>\n<body>\n");
    for i in 0..120 {
        html.push_str(&format!(
            "  <p class=\"row\">row {i}: the quick brown fox</p>\n"
        ));
    }
    html.push_str("</body></html>\n");
    html.into_bytes()
}

/// 20+ KiB of CSS with no precompressed siblings.
fn big_css() -> Vec<u8> {
    let mut css = String::new();
    let mut i = 0u32;
    while css.len() < 20 * 1024 {
        css.push_str(&format!(
            ".c{i} {{ color: #{:06x}; margin: {}px {}px; }}\n",
            i * 2_654_435 % 0xff_ffff,
            i % 7,
            i % 11
        ));
        i += 1;
    }
    css.into_bytes()
}

/// Deterministic pseudo-random bytes (incompressible).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed;
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) as u8
        })
        .collect()
}

fn write(root: &Path, rel: &str, data: impl AsRef<[u8]>) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, data).expect("write fixture");
}

/// The bundled site plus every file these tests need.
fn fixture() -> tempfile::TempDir {
    let site = crate::harness::site_copy();
    let root = site.path();
    // Outside the served directory.
    write(root, "outside/secret.txt", OUTSIDE_SECRET);
    write(root, "secret.txt", ROOT_SECRET);
    // A01
    write(root, "static/中文文件.txt", "zh\n");
    write(root, "static/my file.txt", "space\n");
    write(root, "static/Session #01.txt", "hash\n");
    write(root, "static/100%.txt", "pct\n");
    write(root, "static/a+b.txt", "plus\n");
    write(root, "static/a b.txt", "not-plus\n");
    // A02, A07, SPA
    write(root, "static/index.html", index_html());
    // A04
    write(
        root,
        "static/docs/index.html",
        "<!doctype html>\n<title>docs</title>\n<a href=\"page.html\">page</a>\n",
    );
    write(
        root,
        "static/docs/page.html",
        "<!doctype html>\n<title>docs page</title>\n",
    );
    write(root, "js/app.js", "console.log('mounted app');\n");
    write(
        root,
        "js/docs/index.html",
        "<!doctype html>\n<title>js docs</title>\n",
    );
    // A05
    write(root, "static/page.html", page_html());
    // A06
    write(root, "static/original.mkv", noise(MKV_LEN, 6));
    // A07
    write(root, "static/hello", "hello\n");
    write(root, "static/big.css", big_css());
    write(root, "static/pic.png", {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(noise(4096, 9));
        png
    });
    // Content types
    write(root, "static/t/app.js", "export const a = 1;\n");
    write(root, "static/t/mod.mjs", "export const b = 2;\n");
    write(root, "static/t/s.css", "body { margin: 0 }\n");
    write(root, "static/t/m.wasm", b"\0asm\x01\0\0\0");
    write(root, "static/t/d.json", "{\"a\": 1}\n");
    write(
        root,
        "static/t/i.svg",
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"1\" height=\"1\"/>\n",
    );
    write(root, "static/t/f.woff2", b"wOF2\0\x01\0\0fake");
    write(
        root,
        "static/t/site.webmanifest",
        "{\"name\": \"carafe\"}\n",
    );
    write(root, "static/t/t.txt", "text\n");
    // Cache policy: the URL static_url() makes.
    write(
        root,
        "templates/v.html",
        "{{ static_url('css/site.css') }}\n",
    );
    // Cache invalidation
    write(root, "static/live.txt", "version one\n");
    // Never served
    for (n, rel) in [
        "static/.env",
        "static/.git/config",
        "static/server.key",
        "static/a.pem",
        "static/b.crt",
        "static/c.p12",
        "static/d.pfx",
        "static/certs/x.txt",
    ]
    .iter()
    .enumerate()
    {
        write(root, rel, format!("LEAK-MARKER-{n}\n"));
    }
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        root.join("outside/secret.txt"),
        root.join("static/link.txt"),
    )
    .expect("symlink");
    // Directory listing: no index.html here.
    write(root, "static/assets/beta.txt", "b\n");
    write(root, "static/assets/alpha.txt", "a\n");
    write(root, "static/assets/<b>&.txt", "escaped\n");
    write(root, "static/assets/gamma/delta.txt", "d\n");
    write(root, "static/assets/.env", "LEAK-MARKER-env\n");
    write(root, "static/assets/.hidden", "LEAK-MARKER-hidden\n");
    write(root, "static/assets/server.key", "LEAK-MARKER-key\n");
    write(root, "static/assets/tls.pem", "LEAK-MARKER-pem\n");
    site
}

fn read(root: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(root.join(rel)).expect("read fixture")
}

// ------------------------------------------------------------------------------------------
// Requests
// ------------------------------------------------------------------------------------------

/// A response read to the end.
struct Got {
    status: StatusCode,
    version: Version,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Got {
    /// The (single) header value as text.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    /// All values of a header, joined with `, ` (for list headers such as Vary).
    fn header_list(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii header"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn content_length(&self) -> usize {
        self.header("content-length")
            .expect("Content-Length")
            .parse()
            .expect("numeric Content-Length")
    }

    fn varies_on_accept_encoding(&self) -> bool {
        self.header_list("vary")
            .split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("accept-encoding"))
    }
}

/// Sends one request (bounded by the client's 20 s timeout) and reads the whole body.
async fn fetch(
    client: &Client,
    server: &Carafe,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> Got {
    let mut req = client.request(method.clone(), server.url(path));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let status = resp.status();
    let version = resp.version();
    let headers = resp.headers().clone();
    let body = resp
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("{method} {path} body: {e}"))
        .to_vec();
    Got {
        status,
        version,
        headers,
        body,
    }
}

async fn get(client: &Client, server: &Carafe, path: &str, headers: &[(&str, &str)]) -> Got {
    fetch(client, server, Method::GET, path, headers).await
}

async fn head(client: &Client, server: &Carafe, path: &str, headers: &[(&str, &str)]) -> Got {
    fetch(client, server, Method::HEAD, path, headers).await
}

fn cert_pem(root: &Path) -> Vec<u8> {
    std::fs::read(root.join("certs/carafe-dev.crt")).expect("dev cert")
}

/// `raw_https` with an overall bound.
async fn raw(server: &Carafe, pem: &[u8], request: &[u8]) -> String {
    tokio::time::timeout(IO_TIMEOUT, raw_https(server.addr, pem, request))
        .await
        .expect("raw exchange timed out")
}

/// A bare `GET path` over HTTP/1.1 with `Connection: close`, byte for byte.
async fn raw_get(server: &Carafe, pem: &[u8], path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw(server, pem, request.as_bytes()).await
}

/// The status code of a raw HTTP/1.1 response (0 when there is no status line).
fn raw_status(response: &str) -> u16 {
    let line = response.lines().next().unwrap_or_default();
    line.strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

/// The body of a raw HTTP/1.1 response (everything after the header block).
fn raw_body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

/// Like `raw_https`, but writes `chunks` separately with `gap` between them, and tolerates
/// the server answering (and closing) before everything was written.
async fn raw_https_in_writes(
    addr: SocketAddr,
    cert_pem: &[u8],
    chunks: &[&[u8]],
    gap: Duration,
) -> Vec<u8> {
    use rustls::pki_types::pem::PemObject;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(cert_pem) {
        roots.add(cert.expect("pem")).expect("root");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::time::timeout(IO_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = tokio::time::timeout(IO_TIMEOUT, connector.connect(name, tcp))
        .await
        .expect("handshake timed out")
        .expect("handshake");
    for (i, chunk) in chunks.iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(gap).await;
        }
        let wrote = tokio::time::timeout(IO_TIMEOUT, async {
            tls.write_all(chunk).await?;
            tls.flush().await
        })
        .await;
        if !matches!(wrote, Ok(Ok(()))) {
            break; // the server already answered and closed; read what it sent
        }
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(Ok(n)) = tokio::time::timeout(Duration::from_secs(5), tls.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Checks that a normal request still works.
async fn assert_still_serving(client: &Client, server: &Carafe, root: &Path) {
    let got = get(client, server, "/static/page.html", &[]).await;
    assert_eq!(got.status, StatusCode::OK, "server stopped serving");
    assert_eq!(got.body, read(root, "static/page.html"));
}

// ------------------------------------------------------------------------------------------
// External tools (optional)
// ------------------------------------------------------------------------------------------

/// What `curl` got: status, raw header block and body.
struct Curled {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Curled {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// Runs curl against `path` trusting only the dev certificate (`--max-time` bounds it).
fn curl(root: &Path, server: &Carafe, path: &str, extra: &[&str]) -> Curled {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let headers_file = out_dir.path().join("headers");
    let body_file = out_dir.path().join("body");
    let port = server.addr.port();
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "20", "--cacert"])
        .arg(root.join("certs/carafe-dev.crt"))
        .arg("--resolve")
        .arg(format!("localhost:{port}:{}", server.addr.ip()))
        .arg("-D")
        .arg(&headers_file)
        .arg("-o")
        .arg(&body_file)
        .args(["-w", "%{http_code}"])
        .args(extra)
        .arg(format!("https://localhost:{port}{path}"))
        .output()
        .expect("run curl");
    let status = String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    Curled {
        status,
        headers: std::fs::read_to_string(&headers_file).unwrap_or_default(),
        body: std::fs::read(&body_file).unwrap_or_default(),
    }
}

/// Pipes `input` through a program and returns its stdout, or `None` if it failed.
fn filter(program: &str, args: &[&str], input: &[u8]) -> Option<Vec<u8>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().ok()?;
    let _ = writer.join();
    output.status.success().then_some(output.stdout)
}

const PY_GZIP: &str =
    "import gzip,sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 9, mtime=0))";
const PY_GUNZIP: &str =
    "import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))";

/// gzip with Python's gzip module, else the gzip CLI.
fn gzip_bytes(data: &[u8]) -> Option<Vec<u8>> {
    filter("python3", &["-c", PY_GZIP], data).or_else(|| filter("gzip", &["-9", "-n", "-c"], data))
}

fn gunzip_bytes(data: &[u8]) -> Option<Vec<u8>> {
    filter("python3", &["-c", PY_GUNZIP], data).or_else(|| filter("gzip", &["-d", "-c"], data))
}

/// A valid brotli stream (RFC 7932) made of stored (uncompressed) meta-blocks. No brotli
/// encoder is available without new crates; a brotli CLI is used instead when installed.
fn brotli_bytes(data: &[u8]) -> Vec<u8> {
    if let Some(out) = filter("brotli", &["-c", "-q", "11"], data) {
        return out;
    }
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        n: u32,
    }
    impl Bits {
        fn put(&mut self, value: u32, bits: u32) {
            for i in 0..bits {
                self.acc |= ((value >> i) & 1) << self.n;
                self.n += 1;
                if self.n == 8 {
                    self.out.push(self.acc as u8);
                    self.acc = 0;
                    self.n = 0;
                }
            }
        }
        fn align(&mut self) {
            if self.n > 0 {
                self.out.push(self.acc as u8);
                self.acc = 0;
                self.n = 0;
            }
        }
    }
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    bits.put(0, 1); // WBITS = 16
    for chunk in data.chunks(65_536) {
        bits.put(0, 1); // ISLAST = 0
        bits.put(0, 2); // MNIBBLES = 4
        bits.put(u32::try_from(chunk.len() - 1).expect("len"), 16); // MLEN - 1
        bits.put(1, 1); // ISUNCOMPRESSED
        bits.align();
        bits.out.extend_from_slice(chunk);
    }
    bits.put(1, 1); // ISLAST
    bits.put(1, 1); // ISLASTEMPTY
    bits.align();
    bits.out
}

/// Writes `static/index.html.{gz,br,zst}`; returns the encodings that have a sibling.
fn add_precompressed_siblings(root: &Path) -> Vec<&'static str> {
    let original = read(root, "static/index.html");
    let mut encodings = Vec::new();
    if let Some(zst) = filter("zstd", &["-19", "-q", "-c"], &original) {
        write(root, "static/index.html.zst", zst);
        encodings.push("zstd");
    } else {
        eprintln!("skipping the zstd sibling: no zstd CLI");
    }
    write(root, "static/index.html.br", brotli_bytes(&original));
    encodings.push("br");
    if let Some(gz) = gzip_bytes(&original) {
        write(root, "static/index.html.gz", gz);
        encodings.push("gzip");
    } else {
        eprintln!("skipping the gzip sibling: neither python3 nor gzip works");
    }
    encodings
}

fn sibling_for(encoding: &str) -> &'static str {
    match encoding {
        "zstd" => "static/index.html.zst",
        "br" => "static/index.html.br",
        "gzip" => "static/index.html.gz",
        other => panic!("no sibling for {other}"),
    }
}

// ------------------------------------------------------------------------------------------
// Multipart/byteranges
// ------------------------------------------------------------------------------------------

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// One body part: its header lines and its bytes.
struct Part {
    headers: Vec<(String, String)>,
    data: Vec<u8>,
}

impl Part {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The boundary parameter of a `multipart/byteranges` Content-Type.
fn boundary_of(content_type: &str) -> String {
    let (kind, params) = content_type
        .split_once(';')
        .unwrap_or_else(|| panic!("no parameters in {content_type:?}"));
    assert_eq!(kind.trim(), "multipart/byteranges", "{content_type}");
    params
        .split(';')
        .find_map(|p| {
            let (name, value) = p.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| value.trim().trim_matches('"').to_string())
        })
        .unwrap_or_else(|| panic!("no boundary in {content_type:?}"))
}

/// Splits a multipart body (RFC 2046) into its parts, checking the framing.
fn multipart_parts(body: &[u8], boundary: &str) -> Vec<Part> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let mut positions = Vec::new();
    let mut from = 0;
    while let Some(at) = find(&body[from..], delimiter) {
        positions.push(from + at);
        from += at + delimiter.len();
    }
    assert!(positions.len() >= 2, "fewer than two delimiters");
    let last = *positions.last().expect("delimiter");
    assert!(
        body[last + delimiter.len()..].starts_with(b"--"),
        "the last delimiter is not the close delimiter"
    );
    positions
        .windows(2)
        .map(|pair| {
            let segment = &body[pair[0] + delimiter.len()..pair[1]];
            let segment = segment
                .strip_prefix(b"\r\n")
                .expect("CRLF after a delimiter");
            let end = find(segment, b"\r\n\r\n").expect("end of part headers");
            let headers = String::from_utf8_lossy(&segment[..end])
                .lines()
                .filter_map(|line| {
                    let (n, v) = line.split_once(':')?;
                    Some((n.trim().to_string(), v.trim().to_string()))
                })
                .collect();
            let data = segment[end + 4..]
                .strip_suffix(b"\r\n")
                .expect("CRLF before the next delimiter")
                .to_vec();
            Part { headers, data }
        })
        .collect()
}

// ------------------------------------------------------------------------------------------
// A01: names
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn serves_percent_encoded_names() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    for (path, body) in [
        ("/static/%E4%B8%AD%E6%96%87%E6%96%87%E4%BB%B6.txt", "zh\n"),
        ("/static/my%20file.txt", "space\n"),
        ("/static/Session%20%2301.txt", "hash\n"),
        ("/static/100%25.txt", "pct\n"),
        // `+` is a literal plus, not a space (`static/a b.txt` also exists).
        ("/static/a+b.txt", "plus\n"),
        ("/static/a%2Bb.txt", "plus\n"),
    ] {
        let got = get(&client, &server, path, &[]).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        assert_eq!(got.body, body.as_bytes(), "{path}");
    }
    // A malformed escape is a client error, never a 500 and never some other file.
    let pem = cert_pem(site.path());
    let response = raw_get(&server, &pem, "/static/100%.txt").await;
    let status = raw_status(&response);
    assert!(matches!(status, 400 | 404), "/static/100%.txt: {status}");
    let body = raw_body(&response);
    for other in ["zh\n", "space\n", "hash\n", "pct\n", "plus\n"] {
        assert_ne!(body, other, "/static/100%.txt served another file");
    }
    assert_still_serving(&client, &server, site.path()).await;
}

// ------------------------------------------------------------------------------------------
// A02, A03: traversal and invalid bytes
// ------------------------------------------------------------------------------------------

/// Case A02's corpus, moved under `/static/`, plus variants aimed at `<root>/secret.txt`.
const TRAVERSAL: &[&str] = &[
    "/static/../outside/secret.txt",
    "/static/%2e%2e/outside/secret.txt",
    "/static/..%2foutside%2fsecret.txt",
    "/static/.%252e/outside/secret.txt",
    "/static/..%5coutside%5csecret.txt",
    "/static/..%20/outside/secret.txt",
    "/static/..%2e/outside/secret.txt",
    "/static/%2E%2E/outside/secret.txt",
    "/static/%2e%2e%2foutside%2fsecret.txt",
    "/static/docs/../../outside/secret.txt",
    "/static/docs/%2e%2e/%2e%2e/outside/secret.txt",
    "/static/../secret.txt",
    "/static/%2e%2e/secret.txt",
    "/static/..%2fsecret.txt",
    "/static/..%5csecret.txt",
    "/static/%5c..%5c..%5csecret.txt",
    "/static/anypath/c:/windows/win.ini",
    "/static/anypath/c%3A/windows/win.ini",
    "/static/%5c..%5c..%5cwindows%5cwin.ini",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/../outside/secret.txt",
    "/%2e%2e/outside/secret.txt",
    "/../secret.txt",
];

fn assert_no_leak(path: &str, text: &str) {
    assert!(
        !text.contains(OUTSIDE_SECRET),
        "{path}: outside data leaked"
    );
    assert!(!text.contains(ROOT_SECRET), "{path}: root data leaked");
    assert!(!text.contains("root:x:0:0"), "{path}: /etc/passwd leaked");
    assert!(!text.contains("LEAK-MARKER"), "{path}: hidden file leaked");
}

#[tokio::test]
async fn traversal_corpus_never_escapes_static() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let pem = cert_pem(site.path());
    for path in TRAVERSAL {
        let response = raw_get(&server, &pem, path).await;
        let status = raw_status(&response);
        assert!(
            matches!(status, 400 | 403 | 404),
            "{path}: status {status}: {}",
            response.lines().next().unwrap_or_default()
        );
        assert_no_leak(path, &response);
    }
    let client = dev_client(site.path(), &server, true);
    assert_still_serving(&client, &server, site.path()).await;
}

#[tokio::test]
async fn traversal_corpus_with_curl_path_as_is() {
    if !have("curl") {
        eprintln!("skipping: curl is not installed");
        return;
    }
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    for path in TRAVERSAL {
        let got = curl(site.path(), &server, path, &["--path-as-is"]);
        assert!(
            matches!(got.status, 400 | 403 | 404),
            "{path}: curl status {}",
            got.status
        );
        assert_no_leak(path, &String::from_utf8_lossy(&got.body));
    }
    let ok = curl(site.path(), &server, "/static/page.html", &[]);
    assert_eq!(ok.status, 200, "server stopped serving");
}

#[tokio::test]
async fn invalid_path_bytes_are_client_errors() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let pem = cert_pem(site.path());
    for path in [
        "/static/app/%00/foo.xml",
        "/static/weird_%c3%28_path",
        "/static/a%3Cb%3E%7C.txt",
        "/static/%ff%fe.txt",
        "/static/page.html%00.txt",
        "/app/%00/foo.xml",
        "/weird_%c3%28_path",
        "/a%3Cb%3E%7C.txt",
    ] {
        let response = raw_get(&server, &pem, path).await;
        let status = raw_status(&response);
        assert!(matches!(status, 400 | 404), "{path}: status {status}");
        if status == 404 {
            assert!(
                raw_body(&response).contains("Page not found"),
                "{path}: not the normal 404 page"
            );
        }
    }
    let client = dev_client(site.path(), &server, true);
    assert_still_serving(&client, &server, site.path()).await;
    let errors: Vec<String> = server
        .stderr()
        .into_iter()
        .chain(server.stdout())
        .filter(|l| l.contains("ERROR") || l.contains("panicked"))
        .collect();
    assert!(errors.is_empty(), "logged as server errors: {errors:?}");
}

// ------------------------------------------------------------------------------------------
// A04: directory redirects
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn directory_without_slash_redirects_keeping_prefix_and_query() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    for (path, location) in [
        ("/static/docs?v=1", "/static/docs/?v=1"),
        ("/static/docs", "/static/docs/"),
    ] {
        let got = get(&client, &server, path, &[]).await;
        assert_eq!(got.status, StatusCode::PERMANENT_REDIRECT, "{path}");
        assert_eq!(got.header("location"), Some(location), "{path}");
    }
    let index = get(&client, &server, "/static/docs/", &[]).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.body, read(site.path(), "static/docs/index.html"));
    // The relative link `page.html` resolves to /static/docs/page.html.
    let page = get(&client, &server, "/static/docs/page.html", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body, read(site.path(), "static/docs/page.html"));
}

#[tokio::test]
async fn mounted_directory_serves_files_and_keeps_mount_prefix() {
    let site = fixture();
    let server = Carafe::start(site.path(), &["--mount", "/js=js"]);
    let client = dev_client(site.path(), &server, true);
    let got = get(&client, &server, "/js/docs?v=1", &[]).await;
    assert_eq!(got.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(got.header("location"), Some("/js/docs/?v=1"));
    let index = get(&client, &server, "/js/docs/", &[]).await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.body, read(site.path(), "js/docs/index.html"));
    // Flask's send_from_directory('js', path).
    let app = get(&client, &server, "/js/app.js", &[]).await;
    assert_eq!(app.status, StatusCode::OK);
    assert_eq!(
        app.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(app.body, read(site.path(), "js/app.js"));
    let pem = cert_pem(site.path());
    let response = raw_get(&server, &pem, "/js/../outside/secret.txt").await;
    assert!(matches!(raw_status(&response), 400 | 403 | 404));
    assert_no_leak("/js/../outside/secret.txt", &response);
}

// ------------------------------------------------------------------------------------------
// A05: ranges
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn range_past_eof_is_clamped() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-3145727")],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), Some("bytes 0-535/536"));
    assert_eq!(got.content_length(), PAGE_LEN);
    assert_eq!(got.body, page);
}

#[tokio::test]
async fn single_byte_and_suffix_ranges() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-0")],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), Some("bytes 0-0/536"));
    assert_eq!(got.content_length(), 1);
    assert_eq!(got.body, &page[..1]);

    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=-100")],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), Some("bytes 436-535/536"));
    assert_eq!(got.body, &page[PAGE_LEN - 100..]);
}

#[tokio::test]
async fn unsatisfiable_range_is_416_with_star_content_range() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=600-")],
    )
    .await;
    assert_eq!(got.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(got.header("content-range"), Some("bytes */536"));
    assert_eq!(got.header("content-encoding"), None);
}

#[tokio::test]
async fn multi_range_is_multipart_byteranges() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-0,2-2")],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), None);
    assert_eq!(got.content_length(), got.body.len());
    let content_type = got.header("content-type").expect("Content-Type");
    let boundary = boundary_of(content_type);
    let parts = multipart_parts(&got.body, &boundary);
    assert_eq!(parts.len(), 2);
    for (part, (start, end)) in parts.iter().zip([(0usize, 0usize), (2, 2)]) {
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {start}-{end}/536").as_str())
        );
        assert_eq!(
            part.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(part.data, &page[start..=end]);
    }
}

#[tokio::test]
async fn overlapping_ranges_are_coalesced() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-10,5-20")],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), Some("bytes 0-20/536"));
    assert_eq!(got.header("content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(got.body, &page[..=20]);
}

#[tokio::test]
async fn many_small_ranges_do_not_amplify() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let spec = (0..200)
        .map(|i| format!("{0}-{0}", i * 2))
        .collect::<Vec<_>>()
        .join(",");
    let range = format!("bytes={spec}");
    let got = get(&client, &server, "/static/page.html", &[("range", &range)]).await;
    match got.status {
        StatusCode::OK => assert_eq!(got.body, page),
        StatusCode::PARTIAL_CONTENT => {
            assert!(
                got.body.len() <= 2 * PAGE_LEN,
                "{} bytes for a {PAGE_LEN}-byte file",
                got.body.len()
            );
            let boundary = boundary_of(got.header("content-type").expect("Content-Type"));
            for part in multipart_parts(&got.body, &boundary) {
                let range = part.header("content-range").expect("part Content-Range");
                let (start, end) = range
                    .strip_prefix("bytes ")
                    .and_then(|r| r.strip_suffix("/536"))
                    .and_then(|r| r.split_once('-'))
                    .expect("bytes A-B/536");
                let (start, end): (usize, usize) = (start.parse().unwrap(), end.parse().unwrap());
                assert_eq!(part.data, &page[start..=end]);
            }
        }
        other => panic!("200 ranges: {other}"),
    }
}

#[tokio::test]
async fn unknown_range_unit_gets_full_body() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "items=0-5")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-range"), None);
    assert_eq!(got.body, page_html());
}

#[tokio::test]
async fn if_range_applies_only_with_the_current_etag() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let page = page_html();
    let full = get(&client, &server, "/static/page.html", &[]).await;
    let etag = full.header("etag").expect("ETag").to_string();
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-3"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-range"), Some("bytes 0-3/536"));
    assert_eq!(got.body, &page[..4]);
    let got = get(
        &client,
        &server,
        "/static/page.html",
        &[("range", "bytes=0-3"), ("if-range", "\"not-the-etag\"")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-range"), None);
    assert_eq!(got.body, page);
}

// ------------------------------------------------------------------------------------------
// A06: HEAD
// ------------------------------------------------------------------------------------------

const HEAD_EQUAL_HEADERS: [&str; 6] = [
    "content-type",
    "content-length",
    "last-modified",
    "etag",
    "accept-ranges",
    "cache-control",
];

#[tokio::test]
async fn head_matches_get_for_large_file() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    for http1_only in [true, false] {
        let client = dev_client(site.path(), &server, http1_only);
        let got = get(&client, &server, "/static/original.mkv", &[]).await;
        let headed = head(&client, &server, "/static/original.mkv", &[]).await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(headed.status, StatusCode::OK);
        assert_eq!(got.body.len(), MKV_LEN);
        assert_eq!(headed.content_length(), MKV_LEN);
        assert!(got.header("etag").is_some(), "GET has no ETag");
        assert!(
            got.header("last-modified").is_some(),
            "GET has no Last-Modified"
        );
        assert_eq!(got.header("accept-ranges"), Some("bytes"));
        for name in HEAD_EQUAL_HEADERS {
            assert_eq!(headed.header(name), got.header(name), "{name}");
        }
        assert!(headed.body.is_empty(), "HEAD sent a body");
        // The connection stays usable after HEAD.
        let again = get(&client, &server, "/static/page.html", &[]).await;
        assert_eq!(again.body, page_html(), "{:?}", again.version);
    }
}

#[tokio::test]
async fn head_with_range_returns_full_length_without_content_range() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let headed = head(
        &client,
        &server,
        "/static/original.mkv",
        &[("range", "bytes=2-4")],
    )
    .await;
    assert_eq!(headed.status, StatusCode::OK);
    assert_eq!(headed.content_length(), MKV_LEN);
    assert_eq!(headed.header("content-range"), None);
    assert!(headed.body.is_empty());
    assert_still_serving(&client, &server, site.path()).await;
}

#[tokio::test]
async fn head_matches_get_for_template_and_directory_index() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    for http1_only in [true, false] {
        let client = dev_client(site.path(), &server, http1_only);
        for path in ["/", "/static/docs/"] {
            let got = get(&client, &server, path, &[]).await;
            let headed = head(&client, &server, path, &[]).await;
            assert_eq!(got.status, StatusCode::OK, "{path}");
            assert_eq!(headed.status, StatusCode::OK, "{path}");
            assert_eq!(got.content_length(), got.body.len(), "{path}");
            for name in HEAD_EQUAL_HEADERS {
                assert_eq!(headed.header(name), got.header(name), "{path} {name}");
            }
            assert!(headed.body.is_empty(), "{path}: HEAD sent a body");
        }
    }
}

// ------------------------------------------------------------------------------------------
// A07: precompressed siblings
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn precompressed_siblings_are_negotiated() {
    let site = fixture();
    let encodings = add_precompressed_siblings(site.path());
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    for encoding in encodings {
        let got = get(
            &client,
            &server,
            "/static/index.html",
            &[("accept-encoding", encoding)],
        )
        .await;
        assert_eq!(got.status, StatusCode::OK, "{encoding}");
        assert_eq!(got.header("content-encoding"), Some(encoding));
        assert_eq!(
            got.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{encoding}"
        );
        assert_eq!(got.header("content-range"), None, "{encoding}");
        assert!(got.varies_on_accept_encoding(), "{encoding}: no Vary");
        assert_eq!(
            got.body,
            read(site.path(), sibling_for(encoding)),
            "{encoding}"
        );
        assert_eq!(got.content_length(), got.body.len(), "{encoding}");
    }
    let plain = get(&client, &server, "/static/index.html", &[]).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(
        plain.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(plain.varies_on_accept_encoding(), "identity: no Vary");
    assert_eq!(plain.body, read(site.path(), "static/index.html"));
}

#[tokio::test]
async fn head_with_gzip_reports_sibling_length() {
    let site = fixture();
    let encodings = add_precompressed_siblings(site.path());
    if !encodings.contains(&"gzip") {
        eprintln!("skipping: no gzip sibling");
        return;
    }
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let headed = head(
        &client,
        &server,
        "/static/index.html",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(headed.status, StatusCode::OK);
    assert_eq!(headed.header("content-encoding"), Some("gzip"));
    assert!(headed.varies_on_accept_encoding());
    assert_eq!(
        headed.content_length(),
        read(site.path(), "static/index.html.gz").len()
    );
    assert!(headed.body.is_empty());
}

#[tokio::test]
async fn extensionless_and_archive_files_are_served_as_stored() {
    let site = fixture();
    let archive = gzip_bytes(&noise(3000, 4)).unwrap_or_else(|| noise(3000, 5));
    write(site.path(), "static/archive.tar.gz", &archive);
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let hello = get(
        &client,
        &server,
        "/static/hello",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(hello.status, StatusCode::OK);
    assert_eq!(hello.header("content-encoding"), None);
    assert_eq!(hello.body, b"hello\n");
    for accept in [None, Some("gzip"), Some("gzip, br, zstd")] {
        let headers: Vec<(&str, &str)> =
            accept.map(|a| ("accept-encoding", a)).into_iter().collect();
        let got = get(&client, &server, "/static/archive.tar.gz", &headers).await;
        assert_eq!(got.status, StatusCode::OK, "{accept:?}");
        assert_eq!(got.header("content-encoding"), None, "{accept:?}");
        assert_eq!(got.body, archive, "{accept:?}");
    }
}

#[tokio::test]
async fn curl_compressed_output_matches_original() {
    if !have("curl") {
        eprintln!("skipping: curl is not installed");
        return;
    }
    let site = fixture();
    add_precompressed_siblings(site.path());
    let server = Carafe::start(site.path(), &[]);
    let got = curl(
        site.path(),
        &server,
        "/static/index.html",
        &["--compressed"],
    );
    assert_eq!(got.status, 200);
    assert!(
        got.header("content-encoding").is_some(),
        "curl --compressed got an identity response: {}",
        got.headers
    );
    assert_eq!(got.body, read(site.path(), "static/index.html"));
}

#[tokio::test]
async fn accept_encoding_q_values_are_respected() {
    let site = fixture();
    let encodings = add_precompressed_siblings(site.path());
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    if encodings.contains(&"gzip") {
        for accept in ["gzip;q=1, br;q=0.5", "br;q=0, gzip", "br;q=0.1, gzip;q=0.9"] {
            let got = get(
                &client,
                &server,
                "/static/index.html",
                &[("accept-encoding", accept)],
            )
            .await;
            assert_eq!(got.status, StatusCode::OK, "{accept}");
            assert_eq!(got.header("content-encoding"), Some("gzip"), "{accept}");
            assert_eq!(
                got.body,
                read(site.path(), "static/index.html.gz"),
                "{accept}"
            );
        }
    }
    let got = get(
        &client,
        &server,
        "/static/index.html",
        &[("accept-encoding", "gzip;q=0, br;q=0, zstd;q=0")],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(got.body, read(site.path(), "static/index.html"));
    let got = get(
        &client,
        &server,
        "/static/index.html",
        &[("accept-encoding", "identity;q=0, *;q=0")],
    )
    .await;
    assert_ne!(got.status, StatusCode::INTERNAL_SERVER_ERROR);
    if got.status == StatusCode::OK {
        assert_eq!(got.header("content-encoding"), None);
        assert_eq!(got.body, read(site.path(), "static/index.html"));
    } else {
        assert_eq!(got.status, StatusCode::NOT_ACCEPTABLE);
    }
}

// ------------------------------------------------------------------------------------------
// On-the-fly compression
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn large_text_is_compressed_on_the_fly() {
    // Once from the memory cache (compressed once), once streamed from disk (compressed while
    // streaming, because the file is over --cache-max-file).
    for args in [&[][..], &["--cache-max-file", "1024"][..]] {
        compressed_on_the_fly(args).await;
    }
}

async fn compressed_on_the_fly(args: &[&str]) {
    let site = fixture();
    let server = Carafe::start(site.path(), args);
    let client = dev_client(site.path(), &server, true);
    let css = read(site.path(), "static/big.css");
    for encoding in ["br", "zstd", "gzip"] {
        let got = get(
            &client,
            &server,
            "/static/big.css",
            &[("accept-encoding", encoding)],
        )
        .await;
        assert_eq!(got.status, StatusCode::OK, "{encoding}");
        assert_eq!(got.header("content-encoding"), Some(encoding));
        assert_eq!(
            got.header("content-type"),
            Some("text/css; charset=utf-8"),
            "{encoding}"
        );
        assert!(got.varies_on_accept_encoding(), "{encoding}: no Vary");
        assert!(
            got.body.len() < css.len(),
            "{encoding}: {} bytes is not smaller than {}",
            got.body.len(),
            css.len()
        );
        let decoded = match encoding {
            "gzip" => gunzip_bytes(&got.body),
            "zstd" => filter("zstd", &["-d", "-q", "-c"], &got.body),
            _ => None,
        };
        match decoded {
            Some(decoded) => assert_eq!(decoded, css, "{encoding}: decodes to other bytes"),
            None => eprintln!("no local {encoding} decoder; checked headers and size only"),
        }
        if have("curl") {
            let curled = curl(
                site.path(),
                &server,
                "/static/big.css",
                &[
                    "--compressed",
                    "-H",
                    &format!("Accept-Encoding: {encoding}"),
                ],
            );
            assert_eq!(curled.status, 200, "curl {encoding}");
            assert_eq!(curled.header("content-encoding").as_deref(), Some(encoding));
            assert_eq!(curled.body, css, "curl {encoding}: decodes to other bytes");
        }
    }
    let plain = get(&client, &server, "/static/big.css", &[]).await;
    assert_eq!(plain.header("content-encoding"), None);
    assert!(plain.varies_on_accept_encoding(), "identity: no Vary");
    assert_eq!(plain.body, css);
}

#[tokio::test]
async fn compressed_types_are_not_recompressed() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    for encoding in ["br", "zstd", "gzip", "gzip, br, zstd"] {
        let got = get(
            &client,
            &server,
            "/static/pic.png",
            &[("accept-encoding", encoding)],
        )
        .await;
        assert_eq!(got.status, StatusCode::OK, "{encoding}");
        assert_eq!(got.header("content-encoding"), None, "{encoding}");
        assert_eq!(got.header("content-type"), Some("image/png"));
        assert_eq!(got.body, read(site.path(), "static/pic.png"), "{encoding}");
    }
}

#[tokio::test]
async fn range_request_gets_identity_partial() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let css = read(site.path(), "static/big.css");
    let got = get(
        &client,
        &server,
        "/static/big.css",
        &[
            ("accept-encoding", "gzip, br, zstd"),
            ("range", "bytes=0-99"),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(got.header("content-encoding"), None);
    assert_eq!(
        got.header("content-range"),
        Some(format!("bytes 0-99/{}", css.len()).as_str())
    );
    assert_eq!(got.body, &css[..100]);
}

// ------------------------------------------------------------------------------------------
// Content types
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn web_assets_have_exact_content_types_and_nosniff() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    for (file, content_type) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("mod.mjs", "text/javascript; charset=utf-8"),
        ("s.css", "text/css; charset=utf-8"),
        ("m.wasm", "application/wasm"),
        ("d.json", "application/json"),
        ("i.svg", "image/svg+xml"),
        ("f.woff2", "font/woff2"),
        ("site.webmanifest", "application/manifest+json"),
        ("t.txt", "text/plain; charset=utf-8"),
    ] {
        let got = get(&client, &server, &format!("/static/t/{file}"), &[]).await;
        assert_eq!(got.status, StatusCode::OK, "{file}");
        assert_eq!(got.header("content-type"), Some(content_type), "{file}");
        assert_eq!(
            got.header("x-content-type-options"),
            Some("nosniff"),
            "{file}"
        );
        assert_eq!(got.body, read(site.path(), &format!("static/t/{file}")));
    }
}

// ------------------------------------------------------------------------------------------
// Conditional requests
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn etag_and_last_modified_validate() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let path = "/static/css/site.css";
    let full = get(&client, &server, path, &[]).await;
    assert_eq!(full.status, StatusCode::OK);
    let etag = full.header("etag").expect("ETag").to_string();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "not a strong ETag: {etag}"
    );
    let last_modified = full
        .header("last-modified")
        .expect("Last-Modified")
        .to_string();

    let weak = format!("W/{etag}");
    let listed = format!("\"x\", {etag}");
    for (name, value) in [
        ("if-none-match", etag.as_str()),
        ("if-none-match", weak.as_str()),
        ("if-none-match", listed.as_str()),
        ("if-none-match", "*"),
        ("if-modified-since", last_modified.as_str()),
    ] {
        let got = get(&client, &server, path, &[(name, value)]).await;
        assert_eq!(got.status, StatusCode::NOT_MODIFIED, "{name}: {value}");
        assert_eq!(got.header("etag"), Some(etag.as_str()), "{name}: {value}");
        assert!(got.body.is_empty(), "{name}: {value}: 304 with a body");
    }
    // If-None-Match takes precedence over If-Modified-Since (RFC 9110 §13.2.2).
    let got = get(
        &client,
        &server,
        path,
        &[
            ("if-none-match", "\"other\""),
            ("if-modified-since", &last_modified),
        ],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, full.body);
}

// ------------------------------------------------------------------------------------------
// Cache policy and invalidation
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn versioned_urls_are_immutable_and_plain_urls_revalidate() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let rendered = get(&client, &server, "/v", &[]).await;
    assert_eq!(rendered.status, StatusCode::OK);
    let versioned = String::from_utf8(rendered.body).expect("utf-8");
    let versioned = versioned.trim().to_string();
    assert!(
        versioned.starts_with("/static/css/site.css?v="),
        "static_url() made {versioned:?}"
    );
    let got = get(&client, &server, &versioned, &[]).await;
    assert_eq!(got.status, StatusCode::OK, "{versioned}");
    assert_eq!(
        got.header("cache-control"),
        Some("public, max-age=31536000, immutable"),
        "{versioned}"
    );
    for path in ["/static/css/site.css", "/static/css/site.css?v=nothex"] {
        let got = get(&client, &server, path, &[]).await;
        assert_eq!(got.status, StatusCode::OK, "{path}");
        assert_eq!(got.header("cache-control"), Some("no-cache"), "{path}");
    }
    let version = versioned.rsplit_once("?v=").expect("?v=").1.to_string();
    for path in [
        format!("/static/missing.css?v={version}"),
        "/static/missing.css".to_string(),
        format!("/missing?v={version}"),
    ] {
        let got = get(&client, &server, &path, &[]).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !got.header_list("cache-control").contains("immutable"),
            "{path}: a 404 marked immutable"
        );
    }
}

#[tokio::test]
async fn changed_file_is_served_fresh() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let before = get(&client, &server, "/static/live.txt", &[]).await;
    assert_eq!(before.body, b"version one\n");
    let old_etag = before.header("etag").expect("ETag").to_string();
    let new_body = b"version two, a little longer\n";
    std::fs::write(site.path().join("static/live.txt"), new_body).expect("rewrite");
    let deadline = Instant::now() + Duration::from_secs(2);
    let after = loop {
        let got = get(&client, &server, "/static/live.txt", &[]).await;
        if got.body == new_body || Instant::now() > deadline {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.body, new_body, "still the old content after 2 s");
    assert_ne!(
        after.header("etag"),
        Some(old_etag.as_str()),
        "ETag unchanged"
    );
    // The old validator no longer matches.
    let got = get(
        &client,
        &server,
        "/static/live.txt",
        &[("if-none-match", &old_etag)],
    )
    .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, new_body);
}

// ------------------------------------------------------------------------------------------
// Never served, listings
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn sensitive_files_are_never_served() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let mut paths = vec![
        "/static/.env",
        "/static/.git/config",
        "/static/%2egit/config",
        "/static/server.key",
        "/static/a.pem",
        "/static/b.crt",
        "/static/c.p12",
        "/static/d.pfx",
        "/static/certs/x.txt",
        "/static/assets/.hidden",
    ];
    if cfg!(unix) {
        paths.push("/static/link.txt");
    }
    for path in paths {
        for method in [Method::GET, Method::HEAD] {
            let got = fetch(&client, &server, method.clone(), path, &[]).await;
            assert_eq!(got.status, StatusCode::NOT_FOUND, "{method} {path}");
            assert_no_leak(path, &String::from_utf8_lossy(&got.body));
        }
    }
}

#[tokio::test]
async fn directory_without_index_is_not_listed_by_default() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let client = dev_client(site.path(), &server, true);
    let got = get(&client, &server, "/static/assets/", &[]).await;
    assert_eq!(got.status, StatusCode::NOT_FOUND);
    let body = String::from_utf8_lossy(&got.body);
    assert!(!body.contains("alpha.txt"), "listed without --list");
}

#[tokio::test]
async fn directory_listing_with_list_flag_is_sorted_and_escaped() {
    let site = fixture();
    let assets = site.path().join("static/assets");
    std::os::unix::fs::symlink("/etc/hostname", assets.join("outside-link")).unwrap();
    std::os::unix::fs::symlink("alpha.txt", assets.join("inside-link")).unwrap();
    let server = Carafe::start(site.path(), &["--list"]);
    let client = dev_client(site.path(), &server, true);
    let got = get(&client, &server, "/static/assets/", &[]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        got.header("content-type")
            .is_some_and(|t| t.starts_with("text/html")),
        "{:?}",
        got.header("content-type")
    );
    let body = String::from_utf8(got.body).expect("utf-8 listing");
    let alpha = body.find("alpha.txt").expect("alpha.txt listed");
    let beta = body.find("beta.txt").expect("beta.txt listed");
    let escaped = body
        .find("&lt;b&gt;&amp;.txt")
        .expect("escaped name listed");
    assert!(body.contains("gamma/"), "gamma/ not listed: {body}");
    // Files in byte order (`<` sorts before letters); directories may be grouped first.
    assert!(escaped < alpha && alpha < beta, "not sorted: {body}");
    assert!(!body.contains("<b>&"), "raw name in HTML: {body}");
    // A symlink out of the directory is not listed (it would 404); one inside is.
    assert!(body.contains("inside-link"), "{body}");
    for hidden in [
        ".env",
        ".hidden",
        "server.key",
        "tls.pem",
        "LEAK-MARKER",
        "outside-link",
    ] {
        assert!(!body.contains(hidden), "{hidden} listed: {body}");
    }
    // Directories with an index still serve it; listed files are reachable.
    let index = get(&client, &server, "/static/docs/", &[]).await;
    assert_eq!(index.body, read(site.path(), "static/docs/index.html"));
    let file = get(&client, &server, "/static/assets/%3Cb%3E%26.txt", &[]).await;
    assert_eq!(file.status, StatusCode::OK);
    assert_eq!(file.body, b"escaped\n");
}

// ------------------------------------------------------------------------------------------
// SPA fallback
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn spa_fallback_serves_index_for_navigations_only() {
    let site = fixture();
    let server = Carafe::start(site.path(), &["--spa"]);
    let client = dev_client(site.path(), &server, true);
    let index = read(site.path(), "static/index.html");
    for headers in [
        [("sec-fetch-mode", "navigate")],
        [(
            "accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        )],
    ] {
        let got = get(&client, &server, "/some/client/route", &headers).await;
        assert_eq!(got.status, StatusCode::OK, "{headers:?}");
        assert_eq!(got.body, index, "{headers:?}");
        assert_eq!(got.header("cache-control"), Some("no-cache"), "{headers:?}");
        assert!(
            got.header("content-type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{headers:?}"
        );
    }
    for (path, accept) in [
        ("/static/app.3f9a.js", "*/*"),
        ("/some/client/route", "application/json"),
    ] {
        let got = get(&client, &server, path, &[("accept", accept)]).await;
        assert_eq!(got.status, StatusCode::NOT_FOUND, "{path} {accept}");
        assert_ne!(got.body, index, "{path} {accept}");
    }
    // Real pages still win over the fallback.
    let signup = get(
        &client,
        &server,
        "/signup",
        &[("sec-fetch-mode", "navigate")],
    )
    .await;
    assert_eq!(signup.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&signup.body).contains("<title>Sign up"));
}

// ------------------------------------------------------------------------------------------
// A11: request size limits
// ------------------------------------------------------------------------------------------

#[tokio::test]
async fn oversized_uri_gets_414() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let pem = cert_pem(site.path());
    let query = "q".repeat(20 * 1024);
    let response = raw_get(&server, &pem, &format!("/static/page.html?x={query}")).await;
    assert_eq!(raw_status(&response), 414, "{:?}", response.lines().next());
    let client = dev_client(site.path(), &server, true);
    assert_still_serving(&client, &server, site.path()).await;
}

fn big_header_request() -> Vec<u8> {
    let big = "x".repeat(64 * 1024);
    format!(
        "GET /static/page.html HTTP/1.1\r\nHost: localhost\r\nX-Big: {big}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn oversized_header_gets_431() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let pem = cert_pem(site.path());
    let response = raw(&server, &pem, &big_header_request()).await;
    assert_eq!(raw_status(&response), 431, "{:?}", response.lines().next());
    let client = dev_client(site.path(), &server, true);
    assert_still_serving(&client, &server, site.path()).await;
}

#[tokio::test]
async fn oversized_header_split_across_writes_gets_431() {
    let site = fixture();
    let server = Carafe::start(site.path(), &[]);
    let pem = cert_pem(site.path());
    let request = big_header_request();
    let (first, second) = request.split_at(request.len() / 2);
    let response = tokio::time::timeout(
        IO_TIMEOUT,
        raw_https_in_writes(
            server.addr,
            &pem,
            &[first, second],
            Duration::from_millis(100),
        ),
    )
    .await
    .expect("raw exchange timed out");
    let response = String::from_utf8_lossy(&response);
    assert_eq!(raw_status(&response), 431, "{:?}", response.lines().next());
    let client = dev_client(site.path(), &server, true);
    assert_still_serving(&client, &server, site.path()).await;
}
