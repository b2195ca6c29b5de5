//! The HTTP client every request to the target goes through: timeouts, capped streaming bodies,
//! manual 307/308 following, and redaction of what is recorded (the connections themselves are
//! [`super::transport`]'s).

use std::time::{Duration, Instant};

use http_body_util::BodyExt;

use super::body::{BodyRecorder, KEPT_BODY_BYTES};
use super::coding::{ACCEPT_ENCODING, DecodingRecorder};
use super::request_body::OutgoingRequest;
use crate::exchange::{Exchange, RecordedRequest, RecordedResponse, TransportFailure};
use crate::redact::Redactor;

/// The `User-Agent` of every request that does not set its own.
const USER_AGENT: &str = concat!("mediaconf/", env!("CARGO_PKG_VERSION"));

/// Most redirects followed for one request.
pub const MAX_REDIRECTS: usize = 5;

/// Shared client settings.
#[derive(Clone)]
pub struct HttpClient {
    client: super::transport::Transport,
    max_body: usize,
    redactor: Redactor,
    accept_invalid_certs: bool,
    /// CAs trusted besides the system's (the CA of a `--image` container).
    extra_roots: std::sync::Arc<Vec<rustls::pki_types::CertificateDer<'static>>>,
}

fn build_client(
    accept_invalid_certs: bool,
    resolve: Option<(&str, &[std::net::SocketAddr])>,
    extra_roots: &[rustls::pki_types::CertificateDer<'static>],
) -> Result<super::transport::Transport, String> {
    super::transport::build(accept_invalid_certs, resolve, extra_roots)
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// The certificates of one or more PEM blocks (at least one).
fn pem_roots(pem: &str) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let roots: Vec<_> = rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read the CA certificate: {e}"))?;
    if roots.is_empty() {
        return Err("the CA file holds no PEM certificate".into());
    }
    Ok(roots)
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("max_body", &self.max_body)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client that never follows redirects by itself and accepts the mock peer's self-signed
    /// certificates only when `accept_invalid_certs` is set.
    pub fn new(
        max_body: usize,
        redactor: Redactor,
        accept_invalid_certs: bool,
    ) -> Result<Self, String> {
        Self::trusting(max_body, redactor, accept_invalid_certs, None)
    }

    /// [`HttpClient::new`], also trusting the CA certificates in `ca_pem` (one or more PEM
    /// blocks: the CA of a `--image` container) when given.
    pub fn trusting(
        max_body: usize,
        redactor: Redactor,
        accept_invalid_certs: bool,
        ca_pem: Option<&str>,
    ) -> Result<Self, String> {
        let roots = match ca_pem {
            Some(pem) => pem_roots(pem)?,
            None => Vec::new(),
        };
        Ok(HttpClient {
            client: build_client(accept_invalid_certs, None, &roots)?,
            max_body,
            redactor,
            accept_invalid_certs,
            extra_roots: std::sync::Arc::new(roots),
        })
    }

    /// The same client, connecting to `addrs` for host `name` (an SRV target reached under the
    /// server name its certificate must be valid for).
    pub fn with_resolve(&self, name: &str, addrs: &[std::net::SocketAddr]) -> Result<Self, String> {
        Ok(HttpClient {
            client: build_client(
                self.accept_invalid_certs,
                Some((name, addrs)),
                &self.extra_roots,
            )?,
            ..self.clone()
        })
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Records a request (redacted) without sending it.
    pub fn record(&self, req: &OutgoingRequest) -> RecordedRequest {
        RecordedRequest {
            method: req.method.clone(),
            url: self.redactor.redact(&req.url),
            headers: req
                .headers
                .iter()
                .map(|(n, v)| (n.clone(), self.redactor.redact(v)))
                .collect(),
            body_len: req.body.len(),
        }
    }

    /// Sends one request; never follows redirects.
    pub async fn send_once(
        &self,
        req: &OutgoingRequest,
    ) -> (RecordedRequest, Result<RecordedResponse, TransportFailure>) {
        let recorded = self.record(req);
        let result = tokio::time::timeout(req.timeout, self.send_inner(req)).await;
        let response = match result {
            Ok(r) => r,
            Err(_) => Err(TransportFailure::Timeout { after: req.timeout }),
        };
        (recorded, response)
    }

    async fn send_inner(
        &self,
        req: &OutgoingRequest,
    ) -> Result<RecordedResponse, TransportFailure> {
        // The URL as a browser would send it (non-ASCII and spaces percent-encoded),
        // parsed once for both clients.
        let url = url::Url::parse(&req.url)
            .map_err(|e| TransportFailure::Other(format!("invalid URL {}: {e}", req.url)))?;
        if req.body.len() >= super::early_response::EARLY_RESPONSE_THRESHOLD
            && url.scheme() == "http"
        {
            let mut response = super::early_response::send(&url, req, self.max_body).await?;
            for (_, value) in response.headers.iter_mut() {
                *value = self.redactor.redact(value);
            }
            return Ok(response);
        }
        let method = http::Method::from_bytes(req.method.as_bytes())
            .map_err(|e| TransportFailure::Other(format!("invalid method {}: {e}", req.method)))?;
        let uri: http::Uri = url
            .as_str()
            .parse()
            .map_err(|e| TransportFailure::Other(format!("invalid URL {}: {e}", req.url)))?;
        let mut request = http::Request::builder().method(method).uri(uri);
        let has = |name: &str| {
            req.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if !has("accept-encoding") {
            request = request.header("Accept-Encoding", ACCEPT_ENCODING);
        }
        if !has("user-agent") {
            request = request.header("User-Agent", USER_AGENT);
        }
        if !has("accept") {
            request = request.header("Accept", "*/*");
        }
        for (name, value) in &req.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let request = request
            .body(http_body_util::Full::new(req.body.to_bytes()))
            .map_err(|e| TransportFailure::Other(format!("invalid request: {e}")))?;
        // No timeout here: `send_once` bounds the whole exchange, body included.
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| classify(&e, req.timeout, &self.redactor))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    self.redactor.redact(&String::from_utf8_lossy(v.as_bytes())),
                )
            })
            .collect();
        let coding = response
            .headers()
            .get("content-encoding")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let mut recorder = DecodingRecorder::new(
            BodyRecorder::new(self.max_body, KEPT_BODY_BYTES),
            coding.as_deref(),
        )
        .map_err(TransportFailure::Other)?;
        let mut body = response.into_body();
        let complete = loop {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Ok(chunk) = frame.into_data()
                        && !recorder.push(&chunk).map_err(TransportFailure::Other)?
                    {
                        break false;
                    }
                }
                None => break true,
                Some(Err(e)) => return Err(classify(&e, req.timeout, &self.redactor)),
            }
        };
        let body = recorder
            .finish(complete)
            .map_err(TransportFailure::Other)?
            .finish();
        Ok(body.into_response(status, headers))
    }

    /// Sends a request and, when asked, follows 307/308 with the same method and body. The
    /// `Authorization` header is dropped when a redirect leaves the original origin.
    pub async fn send(&self, req: OutgoingRequest, follow_redirects: bool) -> Exchange {
        let policy = if follow_redirects {
            Redirects::Preserving
        } else {
            Redirects::Never
        };
        self.send_with(req, policy).await
    }

    /// Sends a request and follows the redirects `policy` allows; the last answer is the
    /// response, the earlier ones the exchange's `redirects`.
    pub async fn send_with(&self, req: OutgoingRequest, policy: Redirects) -> Exchange {
        let started = Instant::now();
        let mut current = req;
        let mut redirects = Vec::new();
        loop {
            let (recorded, response) = self.send_once(&current).await;
            let next = match &response {
                Ok(r) if redirects.len() < policy.max_hops() && policy.follows(r.status) => r
                    .header("location")
                    .and_then(|location| redirect_target(&current.url, location)),
                _ => None,
            };
            let (Some((next, same_origin)), Ok(resp)) = (next, &response) else {
                return Exchange {
                    request: recorded,
                    response,
                    redirects,
                    elapsed: started.elapsed(),
                    peer: Vec::new(),
                    location: None,
                };
            };
            redirects.push((recorded, resp.clone()));
            current.url = next;
            if !same_origin {
                current
                    .headers
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("authorization"));
            }
        }
    }
}

/// Which redirects [`HttpClient::send_with`] follows (the request is sent again unchanged).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirects {
    /// None: every answer is the response (the cases that judge a 3xx themselves).
    Never,
    /// 307 and 308, which keep the method and body (media downloads with `allow_redirect`),
    /// at most [`MAX_REDIRECTS`].
    Preserving,
    /// Any 301, 302, 303, 307 or 308, at most this many (server discovery's `GET`
    /// `.well-known`, which the spec lets redirect).
    AnyGet(usize),
}

impl Redirects {
    fn follows(self, status: u16) -> bool {
        match self {
            Redirects::Never => false,
            Redirects::Preserving => matches!(status, 307 | 308),
            Redirects::AnyGet(_) => matches!(status, 301 | 302 | 303 | 307 | 308),
        }
    }

    fn max_hops(self) -> usize {
        match self {
            Redirects::Never => 0,
            Redirects::Preserving => MAX_REDIRECTS,
            Redirects::AnyGet(n) => n,
        }
    }
}

/// Where a `Location` sends a request to `current`, and whether it stays on the same origin;
/// `None` unless it is an HTTP(S) URL (any other answer stays the response).
fn redirect_target(current: &str, location: &str) -> Option<(String, bool)> {
    let base = url::Url::parse(current).ok()?;
    let next = base
        .join(location)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))?;
    let same_origin = next.origin() == base.origin();
    Some((next.to_string(), same_origin))
}

fn classify(
    e: &(dyn std::error::Error + 'static),
    timeout: Duration,
    redactor: &Redactor,
) -> TransportFailure {
    let text = redactor.redact(&explain(&error_chain(e)));
    let causes = || std::iter::successors(Some(e), |e| e.source());
    if causes().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    }) {
        TransportFailure::Timeout { after: timeout }
    } else if causes().any(|e| {
        e.downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
    }) {
        TransportFailure::Connect(text)
    } else {
        TransportFailure::Other(text)
    }
}

/// An error and its sources, `: `-separated.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Puts what the target did first, in words, before the HTTP library's error chain (without
/// its "error sending request for url (…)" preamble, the URL is shown with the exchange).
fn explain(chain: &str) -> String {
    const MEANINGS: &[(&str, &str)] = &[
        (
            "message head is too large",
            "the response header section is too large (a huge header line or too many headers)",
        ),
        (
            "too many headers",
            "the response has too many header fields",
        ),
        (
            "connection closed before message completed",
            "the target closed the connection before the response was complete",
        ),
        ("reset by peer", "the target reset the connection"),
        (
            "end of file before message length reached",
            "the body ended before the length its Content-Length announced",
        ),
        (
            "chunk size",
            "the chunked body is malformed (a chunk size is not hex)",
        ),
        ("tls handshake", "the TLS handshake failed"),
        (
            "invalid HTTP version",
            "the answer is not HTTP (invalid status line)",
        ),
        (
            "invalid HTTP status-code",
            "the answer is not HTTP (invalid status code)",
        ),
        (
            "invalid content-length",
            "the response's Content-Length is invalid or repeated with different values",
        ),
        ("content-length", "the response's Content-Length is invalid"),
        (
            "invalid peer certificate",
            "the target's TLS certificate is not valid for its name or not from a trusted CA (for a test set-up with a self-signed certificate, pass --insecure)",
        ),
        (
            "certificate",
            "the target's TLS certificate was refused (for a test set-up with a self-signed certificate, pass --insecure)",
        ),
        (
            "InvalidContentType",
            "the TLS handshake failed (the port does not speak TLS)",
        ),
        (
            "received corrupt message",
            "the TLS handshake failed (the port does not speak TLS)",
        ),
        (
            "Connection refused",
            "nothing listens there (connection refused)",
        ),
    ];
    let detail = chain
        .strip_prefix("error sending request for url (")
        .and_then(|rest| rest.split_once("): "))
        .map_or(chain, |(_, after)| after);
    let lower = chain.to_ascii_lowercase();
    match MEANINGS
        .iter()
        .find(|(needle, _)| lower.contains(&needle.to_ascii_lowercase()))
    {
        Some((_, meaning)) => format!("{meaning} ({detail})"),
        None => detail.to_string(),
    }
}
