//! Test harness: run the real `carafe` binary on an ephemeral port against a private copy of
//! the bundled site, read the announced address from stdout, and talk to it with clients that
//! trust only the certificate carafe made.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Longest wait for the server to announce its address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// Path of the binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_carafe")
}

/// The repository root (where the bundled site lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary copy of the bundled site (templates/ and static/).
pub fn site_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["templates", "static"] {
        copy_dir(&repo().join(sub), &dir.path().join(sub));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A running `carafe serve`; killed on drop.
pub struct Carafe {
    child: Child,
    /// The address it announced.
    pub addr: SocketAddr,
    /// `https` or `http`.
    pub scheme: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Carafe {
    /// Runs `carafe serve --root ROOT --port 0 ARGS...` and waits for `listening on`.
    pub fn start(root: &Path, args: &[&str]) -> Carafe {
        Self::start_with_env(root, args, &[])
    }

    /// Like [`Carafe::start`], with extra environment variables.
    pub fn start_with_env(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Carafe {
        let mut all = vec!["--port", "0"];
        all.extend_from_slice(args);
        Self::start_exact(root, &all, env)
    }

    /// Runs `carafe serve --root ROOT ARGS...` with exactly these arguments (no `--port 0`)
    /// and environment additions, and waits for `listening on`.
    pub fn start_exact(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Carafe {
        let mut cmd = Command::new(bin());
        cmd.arg("serve").arg("--root").arg(root).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        Self::start_command(&mut cmd)
    }

    /// Runs `cmd` (which ends up running `carafe serve`, perhaps through a wrapper such as
    /// `unshare`) and waits for `listening on`. `$PORT` is removed unless `cmd` sets it.
    pub fn start_command(cmd: &mut Command) -> Carafe {
        Self::try_start_command(cmd).unwrap_or_else(|err| panic!("{err}"))
    }

    /// Like [`Carafe::start_command`], but an exit before listening is an `Err` with stderr.
    pub fn try_start_command(cmd: &mut Command) -> Result<Carafe, String> {
        if !cmd.get_envs().any(|(k, _)| k == "PORT") {
            cmd.env_remove("PORT");
        }
        if !cmd.get_envs().any(|(k, _)| k == "RUST_LOG") {
            cmd.env("RUST_LOG", "info");
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn carafe");
        let stdout = collect(child.stdout.take().expect("stdout"));
        let stderr = collect(child.stderr.take().expect("stderr"));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let url = stdout
                .lock()
                .expect("lock")
                .iter()
                .find_map(|l| l.strip_prefix("carafe: listening on ").map(str::to_owned));
            if let Some(url) = url {
                let (scheme, addr) = url.split_once("://").expect("url");
                return Ok(Carafe {
                    child,
                    addr: addr.parse().expect("addr"),
                    scheme: scheme.to_string(),
                    stdout,
                    stderr,
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                // Let the reader threads catch the last lines.
                std::thread::sleep(Duration::from_millis(100));
                return Err(format!(
                    "carafe exited with {status} before listening; stderr: {:?}",
                    stderr.lock().expect("lock")
                ));
            }
            assert!(Instant::now() < deadline, "carafe did not start in time");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    /// Everything printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// The process id (for signals).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal by name (`TERM`, `INT`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_exit(&mut self, limit: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "carafe did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `https://localhost:PORT` (or http).
    pub fn url(&self, path: &str) -> String {
        format!("{}://localhost:{}{path}", self.scheme, self.addr.port())
    }
}

impl Drop for Carafe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn collect(stream: impl std::io::Read + Send + 'static) -> Arc<Mutex<Vec<String>>> {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            sink.lock().expect("lock").push(line);
        }
    });
    lines
}

/// Runs `carafe ARGS...` to completion (for commands that exit, and startup errors).
pub fn run(args: &[&str], cwd: &Path) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(cwd)
        .env_remove("PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn carafe");
    let deadline = Instant::now() + START_TIMEOUT;
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("carafe {args:?} did not exit (it should have failed or finished)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// Stderr of a finished command as text.
pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// An HTTPS client that trusts only `cert_pem` and resolves `localhost` to `addr`.
pub fn client(cert_pem: &[u8], addr: SocketAddr, http1_only: bool) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(cert_pem).expect("cert pem");
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve("localhost", addr)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().expect("client")
}

/// A client for a `--tls gen` server started in `root`.
pub fn dev_client(root: &Path, server: &Carafe, http1_only: bool) -> reqwest::Client {
    let pem = std::fs::read(root.join("certs/carafe-dev.crt")).expect("dev cert");
    client(&pem, server.addr, http1_only)
}

/// A TLS connection to `addr` (trusting `cert_pem`, SNI `localhost`) offering `alpn`.
pub async fn tls_connect(
    addr: SocketAddr,
    cert_pem: &[u8],
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    use rustls::pki_types::pem::PemObject;
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
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    connector.connect(name, tcp).await.expect("handshake")
}

/// Sends `request` byte for byte over TLS (trusting `cert_pem`, SNI `localhost`) and returns
/// everything the server sent back before closing (or 5 s of silence).
pub async fn raw_https(addr: SocketAddr, cert_pem: &[u8], request: &[u8]) -> String {
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
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    tls.write_all(request).await.expect("write");
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether a program is on PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A parsed HTTP/1.1 response read from a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body (by Content-Length).
    pub body: String,
}

impl RawResponse {
    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one HTTP/1.1 response (head, then a Content-Length body) from `stream`; `None` when
/// the connection closes first.
pub async fn read_response<S: tokio::io::AsyncRead + Unpin>(stream: &mut S) -> Option<RawResponse> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await.ok()?;
    Some(RawResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Sends a plain-HTTP GET for `path` with `headers` (a `Host` among them, or `localhost`) on a
/// new connection to `addr` and reads the response.
pub async fn http_get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> RawResponse {
    use tokio::io::AsyncWriteExt;
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        request.push_str("Host: localhost\r\n");
    }
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("Connection: close\r\n\r\n");
    let local = SocketAddr::from(([127, 0, 0, 1], addr.port()));
    let fut = async {
        let mut tcp = tokio::net::TcpStream::connect(local)
            .await
            .expect("connect");
        tcp.write_all(request.as_bytes()).await.expect("write");
        read_response(&mut tcp).await.expect("a response")
    };
    tokio::time::timeout(Duration::from_secs(10), fut)
        .await
        .expect("response in time")
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}
