//! What happened on the wire: recorded requests and responses, already redacted.
//!
//! Plain owned data shared by the runner (which fills it), the checks (which judge it) and the
//! reports (which show excerpts). No HTTP library types appear here.

use std::time::Duration;

/// A request as sent (secrets replaced by `<redacted>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Full URL, redacted.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body_len: usize,
}

impl RecordedRequest {
    /// `GET http://…/path?query`.
    pub fn line(&self) -> String {
        format!("{} {}", self.method, self.url)
    }
}

/// A response as received; the body is kept up to the run's cap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordedResponse {
    pub status: u16,
    /// Header names in lower case, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body bytes (at most the cap).
    pub body: Vec<u8>,
    /// Bytes received in total (may exceed `body.len()` when truncated).
    pub body_len: u64,
    /// Hex SHA-256 of the bytes received when they did not all fit in `body`; `None` when
    /// `body` is the whole body (read it with [`RecordedResponse::sha256`]).
    pub body_sha256: Option<String>,
    /// The body was longer than the cap and was not read to the end.
    pub truncated: bool,
}

impl RecordedResponse {
    /// Hex SHA-256 of the `body_len` bytes received (computed here when `body` is all of them).
    pub fn sha256(&self) -> String {
        self.body_sha256
            .clone()
            .unwrap_or_else(|| crate::digest::sha256_hex(&self.body))
    }

    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// All values of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Why no response was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportFailure {
    Timeout { after: Duration },
    Connect(String),
    Other(String),
}

impl std::fmt::Display for TransportFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportFailure::Timeout { after } => write!(
                f,
                "no complete response within {:.1} s",
                after.as_secs_f64()
            ),
            TransportFailure::Connect(e) => write!(f, "connection failed: {e}"),
            TransportFailure::Other(e) => write!(f, "request failed: {e}"),
        }
    }
}

/// One request/response pair, with the redirects followed to get there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    pub request: RecordedRequest,
    pub response: Result<RecordedResponse, TransportFailure>,
    /// Earlier hops (3xx responses) when redirects were followed, first to last.
    pub redirects: Vec<(RecordedRequest, RecordedResponse)>,
    pub elapsed: Duration,
    /// What the tester's mock peer received for this case's peer media by the time the
    /// response arrived (the target fetching remote media), in arrival order.
    pub peer: Vec<PeerRequest>,
    /// With `follow-location`: the unauthenticated request to the `Location` of the
    /// multipart answer's media part, and its answer.
    pub location: Option<Box<Exchange>>,
}

/// One request the mock peer received from the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerRequest {
    /// Milliseconds since the peer started.
    pub at_ms: u64,
    pub method: String,
    /// The path as received, without the query.
    pub path: String,
    /// The query string as received (without `?`), if any.
    pub query: Option<String>,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// What the peer answered.
    pub status: u16,
    /// Whether the request carried a valid `X-Matrix` signature.
    pub signature: SignatureVerdict,
}

impl PeerRequest {
    /// `GET /path?query`.
    pub fn line(&self) -> String {
        match &self.query {
            Some(q) => format!("{} {}?{q}", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }

    /// The value of query parameter `name` (first occurrence; not percent-decoded).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.as_deref()?.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then_some(v)
        })
    }
}

/// The mock peer's judgement of a request's `Authorization: X-Matrix` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureVerdict {
    /// No `Authorization` header.
    NotSigned,
    /// Signed by `origin` with `key`, verified with the key the origin publishes.
    Verified { origin: String, key: String },
    /// Signed, but it does not verify; the reason says why.
    Invalid(String),
    /// Signed by the target's own name, but the peer could not fetch the target's key document
    /// (e.g. its federation API is unreachable from here): the signature was not judged.
    Unverifiable(String),
}

impl std::fmt::Display for SignatureVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureVerdict::NotSigned => f.write_str("not signed"),
            SignatureVerdict::Verified { origin, key } => {
                write!(f, "signed by {origin} ({key}), verified")
            }
            SignatureVerdict::Invalid(why) => write!(f, "bad signature: {why}"),
            SignatureVerdict::Unverifiable(why) => write!(f, "not verifiable: {why}"),
        }
    }
}

impl Exchange {
    pub fn ok(&self) -> Option<&RecordedResponse> {
        self.response.as_ref().ok()
    }
}
