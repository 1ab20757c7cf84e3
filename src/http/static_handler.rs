//! Static responses: a [`Lookup`] from a static directory becomes a response, with the
//! semantics of RFC 9110 — content-coding negotiation (§12.5.3), preconditions (§13.2.2),
//! ranges (§14), HEAD (§9.3.2) — and carafe's cache policy:
//!
//! - `Cache-Control: no-cache` (revalidate every time, cheaply, with the ETag);
//! - `public, max-age=31536000, immutable` only when the URL's `?v=` equals the file's content
//!   version (what `static_url()` makes), never for errors or fallbacks;
//! - `Vary: Accept-Encoding` on every response whose body depends on it;
//! - no compression on range responses (ranges apply to the identity bytes).

use std::ops::RangeInclusive;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use futures_util::{StreamExt, stream};
use tokio_util::io::ReaderStream;

use super::conditional::{Precondition, evaluate, if_range_allows};
use super::encoding::{Encoding, negotiate};
use super::error::{error_page, method_not_allowed};
use super::file_stream;
use super::pages::request_info;
use super::ranges::{RangeRequest, parse_range};
use crate::site::Site;
use crate::site::file_cache::{COMPRESS_MIN_BYTES, FileMeta, MemoryFile};
use crate::site::mime;
use crate::site::static_files::{DiskFile, Lookup, StaticFiles};

/// A request without its body.
type Head = axum::http::Request<()>;

/// `Cache-Control` for URLs without a matching content version.
const REVALIDATE: HeaderValue = HeaderValue::from_static("no-cache");
/// `Cache-Control` for content-versioned URLs (`static_url`).
const IMMUTABLE: HeaderValue = HeaderValue::from_static("public, max-age=31536000, immutable");
/// Headers a static response carries at most, with the front door's.
const RESPONSE_HEADERS: usize = 14;

/// Read size when streaming from disk.
const STREAM_CHUNK: usize = 64 * 1024;

/// Serves a request under `mount`'s prefix.
pub async fn serve_static(site: Site, mount: StaticFiles, req: Request) -> Response {
    // The body is not needed, and without it the request is `Sync` and can be held across
    // awaits.
    let req: Head = req.map(|_| ());
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return method_not_allowed(&site, &request_info(&req));
    }
    let raw = req
        .uri()
        .path()
        .strip_prefix(mount.url_prefix())
        .and_then(|rest| rest.strip_prefix('/'))
        .unwrap_or_default();
    let compressed = req.headers().contains_key(header::ACCEPT_ENCODING);
    match mount.lookup(raw, compressed).await {
        Lookup::Memory(file) => {
            let cache = if wants_version(&req, &file.version) {
                IMMUTABLE
            } else {
                REVALIDATE
            };
            respond_memory(&req, &file, cache)
        }
        Lookup::Disk(file) => {
            let cache = match query_version(&req) {
                Some(v) => {
                    let (mount, rel) = (mount.clone(), file.rel.clone());
                    let current = tokio::task::spawn_blocking(move || mount.version_of(&rel))
                        .await
                        .ok()
                        .flatten();
                    if current.as_deref() == Some(v) {
                        IMMUTABLE
                    } else {
                        REVALIDATE
                    }
                }
                None => REVALIDATE,
            };
            respond_disk(&req, *file, cache)
        }
        Lookup::AddSlash => {
            let mut location = String::with_capacity(req.uri().path().len() + 1);
            location.push_str(req.uri().path());
            location.push('/');
            if let Some(q) = req.uri().query() {
                location.push('?');
                location.push_str(q);
            }
            redirect(&location)
        }
        Lookup::Listing(entries) => {
            super::listing::render(req.uri().path(), &entries, req.method())
        }
        Lookup::NotFound => error_page(&site, StatusCode::NOT_FOUND, &request_info(&req)),
    }
}

/// A 308 to a path-absolute location (the request path is already valid URI syntax).
pub fn redirect(location: &str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// The `v` query parameter, if any.
fn query_version(req: &Head) -> Option<&str> {
    req.uri()
        .query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("v="))
}

fn wants_version(req: &Head, version: &str) -> bool {
    query_version(req) == Some(version)
}

/// One representation chosen for the response.
struct Chosen<'a> {
    encoding: Encoding,
    etag: &'a HeaderValue,
    /// `None` when compressed on the fly while streaming (length unknown until the end).
    len: Option<u64>,
}

fn respond_memory(req: &Head, file: &MemoryFile, cache: HeaderValue) -> Response {
    let meta = &file.meta;
    let headers = req.headers();
    let ranged = req.method() == Method::GET && headers.contains_key(header::RANGE);
    let encoding = if ranged {
        Encoding::Identity
    } else {
        negotiate(headers.get(header::ACCEPT_ENCODING), |e| {
            file.variant(e).is_some()
        })
    };
    let (body, etag) = match file.variant(encoding) {
        Some(v) => (&v.body, &v.etag),
        None => (&file.body, &meta.etag),
    };
    let chosen = Chosen {
        encoding,
        etag,
        len: Some(body.len() as u64),
    };
    let full = body.clone();
    respond(req, meta, &chosen, cache, |plan| match plan {
        Plan::Full => Body::from(full),
        Plan::Single(r) => Body::from(full.slice(*r.start() as usize..=*r.end() as usize)),
        Plan::Multi(parts, end) => {
            let mut out = Vec::new();
            for (head, r) in &parts {
                out.extend_from_slice(head);
                out.extend_from_slice(&full[*r.start() as usize..=*r.end() as usize]);
            }
            out.extend_from_slice(&end);
            Body::from(out)
        }
    })
}

fn respond_disk(req: &Head, file: DiskFile, cache: HeaderValue) -> Response {
    let DiskFile {
        path,
        file: std_file,
        meta,
        siblings,
        ..
    } = file;
    let headers = req.headers();
    let ranged = req.method() == Method::GET && headers.contains_key(header::RANGE);
    // Text without a precompressed sibling is compressed while streaming.
    let on_the_fly = mime::lookup(&path).1 && meta.len >= COMPRESS_MIN_BYTES;
    let encoding = if ranged {
        Encoding::Identity
    } else {
        negotiate(headers.get(header::ACCEPT_ENCODING), |e| {
            on_the_fly || siblings.iter().any(|(enc, ..)| *enc == e)
        })
    };
    let sibling = siblings.iter().find(|(e, ..)| *e == encoding);
    let streamed_etag;
    let chosen = match sibling {
        Some((enc, _, len, etag)) => Chosen {
            encoding: *enc,
            etag,
            len: Some(*len),
        },
        None if encoding != Encoding::Identity => {
            let base = meta.etag.to_str().unwrap_or("\"\"").trim_end_matches('"');
            streamed_etag = header_value(&format!("{base}-{}\"", encoding.extension()));
            Chosen {
                encoding,
                etag: &streamed_etag,
                len: None,
            }
        }
        None => Chosen {
            encoding: Encoding::Identity,
            etag: &meta.etag,
            len: Some(meta.len),
        },
    };
    let source = sibling.map(|(_, p, ..)| p.clone());
    respond(req, &meta, &chosen, cache, move |plan| match plan {
        Plan::Full => match (source, encoding) {
            (Some(p), _) => Body::from_stream(file_stream::open_chunks(p, 0, u64::MAX)),
            (None, Encoding::Identity) => {
                Body::from_stream(file_stream::chunks(Arc::new(std_file), 0, u64::MAX))
            }
            (None, coding) => compress_stream(tokio::fs::File::from_std(std_file), coding),
        },
        Plan::Single(r) => Body::from_stream(file_stream::chunks(
            Arc::new(std_file),
            *r.start(),
            r.end() - r.start() + 1,
        )),
        Plan::Multi(parts, end) => {
            // Every part from the file opened for this response (whose ETag was sent), never
            // from whatever the path names by the time a later part is read.
            let file = Arc::new(std_file);
            let pieces = parts.into_iter().map(move |(head, r)| {
                stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) })
                    .chain(file_stream::chunks(
                        Arc::clone(&file),
                        *r.start(),
                        r.end() - r.start() + 1,
                    ))
                    .boxed()
            });
            let end = stream::once(async { Ok(Bytes::from(end)) });
            Body::from_stream(stream::iter(pieces).flatten().chain(end))
        }
    })
}

/// Compresses a file while streaming it, at levels fast enough for per-request work.
fn compress_stream(file: tokio::fs::File, encoding: Encoding) -> Body {
    use async_compression::Level;
    use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder, ZstdEncoder};
    let reader = tokio::io::BufReader::with_capacity(STREAM_CHUNK, file);
    match encoding {
        Encoding::Br => Body::from_stream(ReaderStream::with_capacity(
            BrotliEncoder::with_quality(reader, Level::Precise(4)),
            STREAM_CHUNK,
        )),
        Encoding::Zstd => Body::from_stream(ReaderStream::with_capacity(
            ZstdEncoder::with_quality(reader, Level::Precise(3)),
            STREAM_CHUNK,
        )),
        Encoding::Gzip => Body::from_stream(ReaderStream::with_capacity(
            GzipEncoder::with_quality(reader, Level::Precise(6)),
            STREAM_CHUNK,
        )),
        Encoding::Identity => Body::from_stream(ReaderStream::with_capacity(reader, STREAM_CHUNK)),
    }
}

/// What body the response needs.
enum Plan {
    /// The whole representation.
    Full,
    /// One range of it.
    Single(RangeInclusive<u64>),
    /// Several: each part's header bytes and range, then the closing delimiter.
    Multi(Vec<(Vec<u8>, RangeInclusive<u64>)>, Vec<u8>),
}

/// Applies preconditions and ranges, sets the headers, and asks `body` for the bytes.
fn respond(
    req: &Head,
    meta: &FileMeta,
    chosen: &Chosen<'_>,
    cache: HeaderValue,
    body: impl FnOnce(Plan) -> Body,
) -> Response {
    let headers = req.headers();
    let etag = chosen.etag.to_str().unwrap_or_default();
    let mut response = Response::new(Body::empty());
    // Room for every header set here and by the front door (request id, HSTS): the map never
    // grows (rehashing) while the response is built.
    *response.headers_mut() = HeaderMap::with_capacity(RESPONSE_HEADERS);
    let out = response.headers_mut();
    out.insert(header::ETAG, chosen.etag.clone());
    out.insert(header::LAST_MODIFIED, meta.last_modified.clone());
    out.insert(header::CACHE_CONTROL, cache);
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if meta.negotiable {
        out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    match evaluate(headers, etag, meta.modified) {
        Precondition::NotModified => {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            return response;
        }
        Precondition::Failed => {
            *response.status_mut() = StatusCode::PRECONDITION_FAILED;
            return response;
        }
        Precondition::Proceed => {}
    }
    out.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let is_head = req.method() == Method::HEAD;
    let range = match (
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        chosen.len,
    ) {
        (Some(value), Some(len)) if !is_head && if_range_allows(headers, etag, meta.modified) => {
            parse_range(value, len)
        }
        _ => RangeRequest::Ignore,
    };
    // Ranges only ever apply to a representation of known length.
    let total = chosen.len.unwrap_or_default();
    let (status, plan, len) = match range {
        RangeRequest::Ignore => {
            out.insert(header::CONTENT_TYPE, meta.content_type.clone());
            if chosen.encoding != Encoding::Identity {
                out.insert(
                    header::CONTENT_ENCODING,
                    HeaderValue::from_static(chosen.encoding.token()),
                );
            }
            (StatusCode::OK, Plan::Full, chosen.len)
        }
        RangeRequest::Unsatisfiable => {
            // No Content-Type of the file: this response carries none of it (RFC 9110 §15.5.17).
            out.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{total}")),
            );
            out.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return response;
        }
        RangeRequest::Satisfiable(ranges) if ranges.len() == 1 => {
            let r = ranges[0].clone();
            out.insert(header::CONTENT_TYPE, meta.content_type.clone());
            out.insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes {}-{}/{total}", r.start(), r.end())),
            );
            let len = r.end() - r.start() + 1;
            (StatusCode::PARTIAL_CONTENT, Plan::Single(r), Some(len))
        }
        RangeRequest::Satisfiable(ranges) => {
            let boundary = new_boundary();
            let content_type = meta
                .content_type
                .to_str()
                .unwrap_or("application/octet-stream");
            let mut body_len = 0u64;
            let parts: Vec<(Vec<u8>, RangeInclusive<u64>)> = ranges
                .into_iter()
                .map(|r| {
                    let head = format!(
                        "\r\n--{boundary}\r\nContent-Type: {content_type}\r\nContent-Range: bytes {}-{}/{}\r\n\r\n",
                        r.start(),
                        r.end(),
                        total
                    )
                    .into_bytes();
                    body_len += head.len() as u64 + (r.end() - r.start() + 1);
                    (head, r)
                })
                .collect();
            let end = format!("\r\n--{boundary}--\r\n").into_bytes();
            body_len += end.len() as u64;
            out.insert(
                header::CONTENT_TYPE,
                header_value(&format!("multipart/byteranges; boundary={boundary}")),
            );
            (
                StatusCode::PARTIAL_CONTENT,
                Plan::Multi(parts, end),
                Some(body_len),
            )
        }
    };
    if let Some(len) = len {
        out.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    *response.status_mut() = status;
    if !is_head {
        *response.body_mut() = body(plan);
    }
    response
}

fn new_boundary() -> String {
    let mut bytes = [0u8; 12];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    format!("carafe-{}", crate::certs::hex(&bytes))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a request is a browser navigation (for the SPA fallback): `Sec-Fetch-Mode:
/// navigate`, or an `Accept` that lists `text/html`.
pub fn is_navigation(headers: &HeaderMap) -> bool {
    if let Some(mode) = headers.get("sec-fetch-mode") {
        return mode == "navigate";
    }
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let media = parts.next().unwrap_or_default().trim();
                let refused = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
                });
                (media.eq_ignore_ascii_case("text/html")
                    || media.eq_ignore_ascii_case("application/xhtml+xml"))
                    && !refused
            })
        })
}
