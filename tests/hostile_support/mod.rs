//! A hostile front for the correct fakes: a raw-TCP HTTP/1.1 proxy that passes discovery,
//! registration and uploads through to a correct upstream fake, and misbehaves in one chosen
//! way on one chosen kind of request (client media, federation media, the key document,
//! registration). Raw TCP because the misbehaviours live below what an HTTP framework lets a
//! server do: resets mid-headers, bodies shorter than their Content-Length, 1xx interim
//! answers, HTTP/1.0 close-delimited bodies, header sections that never end.
//!
//! Used by `tests/hostile_corpus.rs` (one test per behaviour) and by
//! `examples/hostile_target.rs` (the memory benchmark's 1 GiB target).

// Shared by a test crate and an example, each of which uses only part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use mediaconf::multipart::{Builder, Fault as MultipartFault, MediaContent, parse_media_response};

/// Which requests misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `GET /_matrix/client/v1/media/{download,thumbnail}/…`.
    ClientMedia,
    /// The same, only when the request carries no credentials (the error answers).
    ClientMediaWithoutToken,
    /// `GET /_matrix/federation/v1/media/{download,thumbnail}/…`.
    FederationMedia,
    /// `GET /_matrix/key/v2/server`.
    KeyDocument,
    /// `POST /_matrix/client/v3/register`.
    Registration,
    /// Every media download or thumbnail, client or federation, any version.
    AllMedia,
}

impl Place {
    fn matches(self, method: &str, path: &str, has_credentials: bool) -> bool {
        let client = method == "GET"
            && (path.starts_with("/_matrix/client/v1/media/download/")
                || path.starts_with("/_matrix/client/v1/media/thumbnail/"));
        let federation = method == "GET"
            && (path.starts_with("/_matrix/federation/v1/media/download/")
                || path.starts_with("/_matrix/federation/v1/media/thumbnail/"));
        match self {
            Place::ClientMedia => client,
            Place::ClientMediaWithoutToken => client && !has_credentials,
            Place::FederationMedia => federation,
            Place::KeyDocument => path.starts_with("/_matrix/key/v2/server"),
            Place::Registration => {
                method == "POST" && path.starts_with("/_matrix/client/v3/register")
            }
            Place::AllMedia => {
                method == "GET"
                    && ["/download/", "/thumbnail/"]
                        .iter()
                        .any(|p| path.contains(p))
                    && path.starts_with("/_matrix/")
            }
        }
    }
}

/// One way of misbehaving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Passes everything through (the control run).
    Correct,
    /// Closes the connection after reading the request, before any byte of the answer.
    CloseBeforeAnswer,
    /// Sends half a header section, then resets the connection.
    ResetMidHeaders,
    /// Sends the headers and part of the body, then resets the connection.
    ResetMidBody,
    /// Announces more bytes than it sends, then closes.
    BodyShorterThanContentLength,
    /// Sends more bytes than its Content-Length announces.
    BodyLongerThanContentLength,
    /// A chunked body of zeros that never ends.
    EndlessBody,
    /// A `Content-Length` of 1 GiB, and 1 GiB of zeros.
    GibibyteBody,
    /// A status line, then one more header line every 100 ms, forever.
    HeadersNeverFinish,
    /// The status line and nothing else, ever.
    SilentAfterStatusLine,
    /// Correct headers, then one body byte per second.
    TrickleBody,
    /// One header line of 1 MiB.
    HugeHeaderLine,
    /// 10,000 header lines.
    ManyHeaders,
    /// `100 Continue` and `102 Processing` before the correct answer.
    InterimResponses,
    /// The correct answer with status 299 (unknown 2xx).
    UnknownSuccessStatus,
    /// The correct answer with status 599 (unknown 5xx).
    UnknownErrorStatus,
    /// A status line that is not HTTP at all.
    GarbageStatusLine,
    /// The correct answer as HTTP/1.0, without Content-Length, ended by closing.
    Http10CloseDelimited,
    /// 401 with a `Content-Type: application/json` body that is not UTF-8.
    InvalidUtf8ErrorBody,
    /// 401 with a truncated JSON body.
    InvalidJsonErrorBody,
    /// 502 with an HTML page.
    HtmlErrorPage,
    /// The correct answer without its `Content-Type`.
    MissingContentType,
    /// The correct answer labelled `text/html`.
    WrongContentType,
    /// The correct answer gzip-compressed (`Content-Encoding: gzip`), never asked for.
    GzipUnasked,
    /// The correct answer marked `Content-Encoding: deflate` (bytes as they are).
    DeflateUnasked,
    /// The correct answer marked `Content-Encoding: br` (bytes as they are).
    BrotliUnasked,
    /// 256 MiB of zeros gzip-compressed into about 1.7 MB.
    CompressionBomb,
    /// 307 to itself, forever.
    RedirectLoop,
    /// 307 to another host (a second listener that records what it receives).
    RedirectToOtherHost,
    /// 307 without a `Location`.
    RedirectWithoutLocation,
    /// 307 to an `ftp://` URL.
    RedirectToFtp,
    /// Two `Content-Length` headers that disagree.
    ConflictingContentLength,
    /// A `Transfer-Encoding: chunked` body with a chunk size that is not hex.
    BadChunkSize,
    /// A federation answer rebuilt with one multipart defect.
    Multipart(MultipartFault),
    /// A federation answer of 100,000 tiny parts.
    HundredThousandParts,
    /// A federation answer whose parts never end and whose close delimiter never comes.
    EndlessMultipart,
    /// A federation answer with a `multipart/mixed` Content-Type without a boundary.
    MultipartWithoutBoundary,
    /// A key document whose self-signature does not verify.
    KeyBadSignature,
    /// A key document whose `valid_until_ts` has passed.
    KeyExpired,
    /// A key document naming another server.
    KeyWrongServerName,
    /// A key document that is not JSON.
    KeyNotJson,
    /// Registration answered with a JSON object of nonsense.
    RegistrationNonsense,
    /// Registration answered with an HTML page.
    RegistrationHtml,
    /// 1 GiB on every media request: federation answers are tiny multipart parts whose close
    /// delimiter never comes, thumbnails an endless chunked body, downloads a 1 GiB
    /// `Content-Length` body (the memory benchmark).
    Flood,
}

/// Requests the second listener of [`Behaviour::RedirectToOtherHost`] received: each one's
/// header lines, lower-cased names.
pub type SinkLog = Arc<Mutex<Vec<Vec<(String, String)>>>>;

/// A running hostile front; dropping it stops both listeners.
pub struct Hostile {
    pub addr: SocketAddr,
    /// How many requests got the misbehaviour so far.
    pub misbehaved: Arc<std::sync::atomic::AtomicU64>,
    /// What the other host of [`Behaviour::RedirectToOtherHost`] received.
    pub sink: SinkLog,
    stop: Vec<tokio::task::JoinHandle<()>>,
}

impl Hostile {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        for task in &self.stop {
            task.abort();
        }
    }
}

struct Front {
    misbehaved: Arc<std::sync::atomic::AtomicU64>,
    upstream: String,
    place: Place,
    behaviour: Behaviour,
    sink_addr: SocketAddr,
    http: reqwest::Client,
}

/// Starts the front on 127.0.0.1 (and the other host on 127.0.0.2) in front of `upstream`.
pub async fn start(upstream: &str, place: Place, behaviour: Behaviour) -> Hostile {
    start_on("127.0.0.1:0", upstream, place, behaviour).await
}

/// As [`start`], on `listen`.
pub async fn start_on(listen: &str, upstream: &str, place: Place, behaviour: Behaviour) -> Hostile {
    let listener = TcpListener::bind(listen)
        .await
        .expect("bind the hostile front");
    let addr = listener.local_addr().expect("local addr");
    let sink_listener = TcpListener::bind("127.0.0.2:0")
        .await
        .expect("bind 127.0.0.2 for the other host");
    let sink_addr = sink_listener.local_addr().expect("sink addr");
    let sink: SinkLog = Arc::default();
    let misbehaved: Arc<std::sync::atomic::AtomicU64> = Arc::default();
    let front = Arc::new(Front {
        misbehaved: misbehaved.clone(),
        upstream: upstream.trim_end_matches('/').to_string(),
        place,
        behaviour,
        sink_addr,
        http: reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client"),
    });
    let accept = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let front = front.clone();
            tokio::spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(300), front.serve(stream)).await;
            });
        }
    });
    let log = sink.clone();
    let sink_task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = sink_listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                if let Some(req) = read_request(&mut stream).await {
                    log.lock().unwrap().push(req.headers.clone());
                    let _ = write_response(
                        &mut stream,
                        404,
                        &[("content-type".into(), "application/json".into())],
                        br#"{"errcode":"M_NOT_FOUND","error":"the other host"}"#,
                    )
                    .await;
                }
            });
        }
    });
    Hostile {
        addr,
        misbehaved,
        sink,
        stop: vec![accept, sink_task],
    }
}

/// A request as read off the socket.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn has_credentials(&self) -> bool {
        self.header("authorization").is_some() || self.target.contains("access_token=")
    }
}

/// Reads one request (head ≤ 1 MiB, body ≤ 64 MiB by Content-Length); `None` on anything odd.
pub async fn read_request<S: AsyncRead + Unpin>(stream: &mut S) -> Option<Request> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut storage = [httparse::EMPTY_HEADER; 128];
        let mut req = httparse::Request::new(&mut storage);
        match req.parse(&buf) {
            Ok(httparse::Status::Complete(head)) => {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_ascii_lowercase(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                let method = req.method?.to_string();
                let target = req.path?.to_string();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n == "content-length")
                    .and_then(|(_, v)| v.trim().parse().ok())
                    .unwrap_or(0);
                if len > 64 * 1024 * 1024 {
                    return None;
                }
                let mut body = buf.split_off(head);
                while body.len() < len {
                    let n = stream.read(&mut chunk).await.ok()?;
                    if n == 0 {
                        return None;
                    }
                    body.extend_from_slice(&chunk[..n]);
                }
                body.truncate(len);
                return Some(Request {
                    method,
                    target,
                    headers,
                    body,
                });
            }
            Ok(httparse::Status::Partial) if buf.len() < 1024 * 1024 => {}
            _ => return None,
        }
    }
}

/// An answer: status, headers (lower-case names, no framing headers) and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self
    }

    fn with(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

fn head_bytes(version: &str, status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let mut head = format!("{version} {status} Whatever\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.into_bytes()
}

/// Writes a complete HTTP/1.1 answer with `Content-Length` and `Connection: close`.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut out = head_bytes("HTTP/1.1", status, headers);
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    stream.write_all(&out).await?;
    stream.flush().await
}

async fn write_answer<S: AsyncWrite + Unpin>(stream: &mut S, a: &Answer) -> std::io::Result<()> {
    write_response(stream, a.status, &a.headers, &a.body).await
}

/// Writes `total` zero bytes in 64 KiB chunks (stops at the first write error).
async fn write_zeros<S: AsyncWrite + Unpin>(stream: &mut S, total: u64) {
    let zeros = vec![0u8; 64 * 1024];
    let mut left = total;
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        if stream.write_all(&zeros[..n]).await.is_err() {
            return;
        }
        left -= n as u64;
    }
    let _ = stream.flush().await;
}

const GIB: u64 = 1024 * 1024 * 1024;

fn json_error(status: u16, errcode: &str) -> Answer {
    Answer {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!(r#"{{"errcode":"{errcode}","error":"hostile"}}"#).into_bytes(),
    }
}

impl Front {
    async fn serve(&self, mut stream: TcpStream) {
        let Some(req) = read_request(&mut stream).await else {
            return;
        };
        let path = req.target.split('?').next().unwrap_or("").to_string();
        if !self
            .place
            .matches(&req.method, &path, req.has_credentials())
            || self.behaviour == Behaviour::Correct
        {
            if let Some(answer) = self.forward(&req).await {
                let _ = write_answer(&mut stream, &answer).await;
            }
            return;
        }
        self.misbehaved
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.misbehave(&mut stream, &req).await;
    }

    /// The upstream's answer to `req`.
    async fn forward(&self, req: &Request) -> Option<Answer> {
        let method = reqwest::Method::from_bytes(req.method.as_bytes()).ok()?;
        let mut builder = self
            .http
            .request(method, format!("{}{}", self.upstream, req.target));
        for (n, v) in &req.headers {
            if !matches!(
                n.as_str(),
                "host" | "content-length" | "connection" | "transfer-encoding"
            ) {
                builder = builder.header(n, v);
            }
        }
        if !req.body.is_empty() || matches!(req.method.as_str(), "POST" | "PUT") {
            builder = builder.body(req.body.clone());
        }
        let response = builder.send().await.ok()?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .filter(|(n, _)| {
                !matches!(
                    n.as_str(),
                    "content-length" | "connection" | "transfer-encoding"
                )
            })
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await.ok()?.to_vec();
        Some(Answer {
            status,
            headers,
            body,
        })
    }

    async fn misbehave(&self, stream: &mut TcpStream, req: &Request) {
        use Behaviour as B;
        let behaviour = match self.behaviour {
            B::Flood if req.target.starts_with("/_matrix/federation/") => B::EndlessMultipart,
            B::Flood if req.target.contains("/thumbnail/") => B::EndlessBody,
            B::Flood => B::GibibyteBody,
            other => other,
        };
        self.misbehave_as(behaviour, stream, req).await;
    }

    async fn misbehave_as(&self, behaviour: Behaviour, stream: &mut TcpStream, req: &Request) {
        use Behaviour as B;
        let sleep = |ms: u64| tokio::time::sleep(Duration::from_millis(ms));
        match behaviour {
            B::Flood => {}
            B::Correct => {}
            B::CloseBeforeAnswer => {}
            B::ResetMidHeaders => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Ty").await;
                let _ = stream.flush().await;
                sleep(50).await;
                reset(stream);
            }
            B::ResetMidBody => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: 100000\r\n\r\n")
                    .await;
                write_zeros(stream, 1000).await;
                sleep(50).await;
                reset(stream);
            }
            B::BodyShorterThanContentLength => {
                if let Some(a) = self.forward(req).await {
                    let mut out = head_bytes("HTTP/1.1", a.status, &a.headers);
                    out.extend_from_slice(
                        format!(
                            "content-length: {}\r\nconnection: close\r\n\r\n",
                            a.body.len() + 1000
                        )
                        .as_bytes(),
                    );
                    out.extend_from_slice(&a.body);
                    let _ = stream.write_all(&out).await;
                }
            }
            B::BodyLongerThanContentLength => {
                if let Some(a) = self.forward(req).await {
                    let mut out = head_bytes("HTTP/1.1", a.status, &a.headers);
                    let announced = a.body.len() / 2;
                    out.extend_from_slice(
                        format!("content-length: {announced}\r\nconnection: close\r\n\r\n")
                            .as_bytes(),
                    );
                    out.extend_from_slice(&a.body);
                    out.extend_from_slice(&[b'x'; 4096]);
                    let _ = stream.write_all(&out).await;
                }
            }
            B::EndlessBody => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\n")
                    .await;
                let mut chunk = b"10000\r\n".to_vec();
                chunk.extend_from_slice(&[0u8; 0x10000]);
                chunk.extend_from_slice(b"\r\n");
                // "Endless": until the reader goes, or 16 GiB.
                for _ in 0..(16 * GIB / 0x10000) {
                    if stream.write_all(&chunk).await.is_err() {
                        break;
                    }
                }
            }
            B::GibibyteBody => {
                let _ = stream
                    .write_all(
                        format!("HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {GIB}\r\n\r\n")
                            .as_bytes(),
                    )
                    .await;
                write_zeros(stream, GIB).await;
            }
            B::HeadersNeverFinish => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
                for i in 0..100_000u32 {
                    if stream
                        .write_all(format!("x-wait-{i}: a\r\n").as_bytes())
                        .await
                        .is_err()
                    {
                        return;
                    }
                    sleep(100).await;
                }
            }
            B::SilentAfterStatusLine => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\n").await;
                sleep(600_000).await;
            }
            B::TrickleBody => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: 600\r\n\r\n")
                    .await;
                for _ in 0..600 {
                    if stream.write_all(b"x").await.is_err() {
                        return;
                    }
                    sleep(1000).await;
                }
            }
            B::HugeHeaderLine => {
                let mut out = b"HTTP/1.1 200 OK\r\nx-huge: ".to_vec();
                out.extend(std::iter::repeat_n(b'a', 1024 * 1024));
                out.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
                let _ = stream.write_all(&out).await;
            }
            B::ManyHeaders => {
                let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
                for i in 0..10_000 {
                    out.extend_from_slice(format!("x-h-{i}: v\r\n").as_bytes());
                }
                out.extend_from_slice(b"content-length: 0\r\n\r\n");
                let _ = stream.write_all(&out).await;
            }
            B::InterimResponses => {
                if let Some(a) = self.forward(req).await {
                    let _ = stream
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n")
                        .await;
                    let _ = write_answer(stream, &a).await;
                }
            }
            B::UnknownSuccessStatus | B::UnknownErrorStatus => {
                if let Some(mut a) = self.forward(req).await {
                    a.status = if behaviour == B::UnknownSuccessStatus {
                        299
                    } else {
                        599
                    };
                    let _ = write_answer(stream, &a).await;
                }
            }
            B::GarbageStatusLine => {
                let _ = stream.write_all(b"SPDY/9 hello there\r\n\r\n").await;
            }
            B::Http10CloseDelimited => {
                if let Some(a) = self.forward(req).await {
                    let mut out = head_bytes("HTTP/1.0", a.status, &a.headers);
                    out.extend_from_slice(b"\r\n");
                    out.extend_from_slice(&a.body);
                    let _ = stream.write_all(&out).await;
                }
            }
            B::InvalidUtf8ErrorBody => {
                let mut a = json_error(401, "M_MISSING_TOKEN");
                a.body = b"{\"errcode\":\"M_MISSING_TOKEN\",\"error\":\"\xff\xfe\xfd\"}".to_vec();
                let _ = write_answer(stream, &a).await;
            }
            B::InvalidJsonErrorBody => {
                let mut a = json_error(401, "M_MISSING_TOKEN");
                a.body = br#"{"errcode":"M_MISSING_TOKEN","error":"#.to_vec();
                let _ = write_answer(stream, &a).await;
            }
            B::HtmlErrorPage => {
                let a = Answer {
                    status: 502,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: b"<html><body><h1>502 Bad Gateway</h1><script>alert(1)</script></body></html>"
                        .to_vec(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::MissingContentType => {
                if let Some(a) = self.forward(req).await {
                    let _ = write_answer(stream, &a.without("content-type")).await;
                }
            }
            B::WrongContentType => {
                if let Some(a) = self.forward(req).await {
                    let _ = write_answer(stream, &a.with("content-type", "text/html")).await;
                }
            }
            B::GzipUnasked => {
                if let Some(a) = self.forward(req).await {
                    let mut a = a.with("content-encoding", "gzip");
                    a.body = gzip_stored(&a.body);
                    let _ = write_answer(stream, &a).await;
                }
            }
            B::DeflateUnasked | B::BrotliUnasked => {
                if let Some(a) = self.forward(req).await {
                    let coding = if behaviour == B::DeflateUnasked {
                        "deflate"
                    } else {
                        "br"
                    };
                    let _ = write_answer(stream, &a.with("content-encoding", coding)).await;
                }
            }
            B::CompressionBomb => {
                let a = Answer {
                    status: 200,
                    headers: vec![
                        ("content-type".into(), "image/png".into()),
                        ("content-encoding".into(), "gzip".into()),
                    ],
                    body: bomb().to_vec(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::RedirectLoop => {
                let a = Answer {
                    status: 307,
                    headers: vec![("location".into(), req.target.clone())],
                    body: Vec::new(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::RedirectToOtherHost => {
                let a = Answer {
                    status: 307,
                    headers: vec![(
                        "location".into(),
                        format!("http://{}{}", self.sink_addr, req.target),
                    )],
                    body: Vec::new(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::RedirectWithoutLocation => {
                let _ = write_answer(
                    stream,
                    &Answer {
                        status: 307,
                        headers: Vec::new(),
                        body: Vec::new(),
                    },
                )
                .await;
            }
            B::RedirectToFtp => {
                let a = Answer {
                    status: 307,
                    headers: vec![("location".into(), "ftp://127.0.0.1/media".into())],
                    body: Vec::new(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::ConflictingContentLength => {
                if let Some(a) = self.forward(req).await {
                    let mut out = head_bytes("HTTP/1.1", a.status, &a.headers);
                    out.extend_from_slice(
                        format!(
                            "content-length: {}\r\ncontent-length: 3\r\nconnection: close\r\n\r\n",
                            a.body.len()
                        )
                        .as_bytes(),
                    );
                    out.extend_from_slice(&a.body);
                    let _ = stream.write_all(&out).await;
                }
            }
            B::BadChunkSize => {
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
                    .await;
            }
            B::Multipart(fault) => {
                if let Some(a) = self.forward(req).await {
                    let _ = write_answer(stream, &rebuild_multipart(a, fault)).await;
                }
            }
            B::HundredThousandParts => {
                let boundary = "hostileboundary";
                let mut body =
                    format!("--{boundary}\r\ncontent-type: application/json\r\n\r\n{{}}\r\n")
                        .into_bytes();
                for _ in 0..100_000 {
                    body.extend_from_slice(format!("--{boundary}\r\n\r\nx\r\n").as_bytes());
                }
                body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
                let a = Answer {
                    status: 200,
                    headers: vec![(
                        "content-type".into(),
                        format!("multipart/mixed; boundary={boundary}"),
                    )],
                    body,
                };
                let _ = write_answer(stream, &a).await;
            }
            B::EndlessMultipart => {
                let boundary = "hostileboundary";
                let _ = stream
                    .write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: multipart/mixed; boundary={boundary}\r\nconnection: close\r\n\r\n--{boundary}\r\ncontent-type: application/json\r\n\r\n{{}}\r\n"
                        )
                        .as_bytes(),
                    )
                    .await;
                let tiny = format!("--{boundary}\r\n\r\nx\r\n").repeat(4096);
                let mut sent = 0u64;
                while sent < GIB && stream.write_all(tiny.as_bytes()).await.is_ok() {
                    sent += tiny.len() as u64;
                }
            }
            B::MultipartWithoutBoundary => {
                if let Some(a) = self.forward(req).await {
                    let _ = write_answer(stream, &a.with("content-type", "multipart/mixed")).await;
                }
            }
            B::KeyBadSignature | B::KeyExpired | B::KeyWrongServerName => {
                if let Some(a) = self.forward(req).await {
                    let _ = write_answer(stream, &tamper_key_document(a, behaviour)).await;
                }
            }
            B::KeyNotJson => {
                let a = Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: b"this is not a key document".to_vec(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::RegistrationNonsense => {
                let a = Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "application/json".into())],
                    body: br#"{"user_id":42,"access_token":["no"],"flows":"none"}"#.to_vec(),
                };
                let _ = write_answer(stream, &a).await;
            }
            B::RegistrationHtml => {
                let a = Answer {
                    status: 200,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: b"<html><body>Welcome! Sign up <a href=/>here</a></body></html>".to_vec(),
                };
                let _ = write_answer(stream, &a).await;
            }
        }
    }
}

/// Resets the connection (RST instead of FIN) when the stream is dropped.
fn reset(stream: &TcpStream) {
    let _ = socket_linger_zero(stream);
}

#[allow(deprecated)]
fn socket_linger_zero(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_linger(Some(Duration::ZERO))
}

/// The federation answer `a` rebuilt with `fault` (its metadata and media part kept).
fn rebuild_multipart(a: Answer, fault: MultipartFault) -> Answer {
    let ct = a
        .headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let Some(media) = parse_media_response(&ct, &a.body).media() else {
        return a;
    };
    let builder = match media.content {
        MediaContent::Bytes {
            content_type,
            content_disposition,
            body,
        } => Builder::bytes(
            content_type.as_deref(),
            content_disposition.as_deref(),
            &body,
        ),
        MediaContent::Location { url } => Builder::location(&url),
    }
    .fault(fault);
    let a = a.with("content-type", &builder.content_type());
    Answer {
        body: builder.build(),
        ..a
    }
}

/// The key document `a` with one defect.
fn tamper_key_document(a: Answer, how: Behaviour) -> Answer {
    let Ok(mut doc) = serde_json::from_slice::<serde_json::Value>(&a.body) else {
        return a;
    };
    match how {
        Behaviour::KeyBadSignature => {
            if let Some(sigs) = doc["signatures"].as_object_mut() {
                for (_, keys) in sigs.iter_mut() {
                    if let Some(keys) = keys.as_object_mut() {
                        for (_, sig) in keys.iter_mut() {
                            let flipped: String = sig
                                .as_str()
                                .unwrap_or("")
                                .chars()
                                .map(|c| if c == 'A' { 'B' } else { 'A' })
                                .collect();
                            *sig = serde_json::Value::String(flipped);
                        }
                    }
                }
            }
        }
        Behaviour::KeyExpired => doc["valid_until_ts"] = serde_json::json!(1_000_000_000_000u64),
        _ => doc["server_name"] = serde_json::json!("someone-else.example"),
    }
    Answer {
        body: serde_json::to_vec(&doc).unwrap_or_default(),
        ..a
    }
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks.
fn gzip_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        out.push(u8::from(last));
        let len = chunk.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// 256 MiB of zeros as gzip (about 1.7 MB), built once: far past any body cap.
fn bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| gzip_bomb(256 * 1024 * 1024))
}

/// A gzip member that inflates to `n` zero bytes: one fixed-Huffman block of a literal zero
/// and then copies of 258 bytes at distance 1 (13 bits each, about 2,500 : 1).
fn gzip_bomb(n: u64) -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u32,
        len: u32,
    }
    impl Bits {
        /// Writes `count` bits of `value`, least significant first.
        fn put(&mut self, value: u32, count: u32) {
            self.acc |= value << self.len;
            self.len += count;
            while self.len >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.len -= 8;
            }
        }
        /// Writes a Huffman code (most significant bit first).
        fn code(&mut self, code: u32, count: u32) {
            let mut reversed = 0;
            for i in 0..count {
                reversed |= ((code >> i) & 1) << (count - 1 - i);
            }
            self.put(reversed, count);
        }
    }
    let mut bits = Bits {
        out: vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff],
        acc: 0,
        len: 0,
    };
    bits.put(1, 1); // final block
    bits.put(1, 2); // fixed Huffman
    bits.code(0x30, 8); // literal 0
    let mut left = n.saturating_sub(1);
    while left >= 258 {
        bits.code(0b1100_0101, 8); // length code 285: 258 bytes
        bits.code(0, 5); // distance code 0: distance 1
        left -= 258;
    }
    for _ in 0..left {
        bits.code(0x30, 8);
    }
    bits.code(0, 7); // end of block (256)
    if bits.len > 0 {
        bits.put(0, 8 - bits.len);
    }
    let mut out = bits.out;
    // CRC-32 of n zeros is not needed by anyone who refuses to inflate; a reader that does
    // inflate sees a CRC error only after the gigabyte.
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&(n as u32).to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
