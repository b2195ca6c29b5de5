//! An in-process fake FEDERATION target for testing mediaconf's federation profile ("test the
//! tester"): the few client-server endpoints a run needs (versions, open UIA registration,
//! upload, create), the federation media endpoints with X-Matrix request authentication against
//! the origin's published keys, and the fake's own server key document. A [`FedFault`] chosen at
//! start breaks exactly one rule, so a test can check that exactly the right cases change outcome.
//!
//! X-Matrix checking: the `Authorization` header is parsed with mediaconf's own
//! [`parse_header`] (missing → 401, unparseable → 400), a `destination` other than
//! [`SERVER_NAME`] is refused with 401, and the origin's key is fetched from
//! `https://{origin}/_matrix/key/v2/server` (invalid certificates accepted, the document's
//! self-signature checked, keys cached per key id until a refetch replaces the origin's
//! document, only `verify_keys` used) before the request is verified with [`verify_request`] over the method and the path and query as received.
//!
//! It serves on `127.0.0.1:0` on the caller's tokio runtime and stops when the handle drops.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use mediaconf::federation::canonical_json::verify_json_signature;
use mediaconf::federation::signing_key::SigningKey;
use mediaconf::federation::xmatrix::{parse_header, verify_request};
use mediaconf::multipart::{Builder, Fault as MultipartFault};
use mediaconf::peer::key_document::server_key_document;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

mod requester;
pub use requester::RemoteFault;

/// The fake's server name: user ids are `@name:fake.test`, media `mxc://fake.test/…`, and the
/// only `destination` it accepts.
pub const SERVER_NAME: &str = "fake.test";
/// Longest wait for pending media before the 504.
const PENDING_WAIT_CAP: Duration = Duration::from_secs(2);
/// Where [`FedFault::RedirectTopLevel`] sends federation downloads (served without auth).
const REDIRECT_PREFIX: &str = "/_fake/redirected/";
/// Where `Location` parts point ([`FedFault::LocationParts`]), served without auth.
const CDN_PREFIX: &str = "/_fake/cdn/";
/// RFC 8187 `attr-char`: everything else is percent-encoded in `filename*`.
const ATTR_CHAR_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// The one rule the fake breaks. `None` is a conforming server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FedFault {
    None,
    // --- the multipart response ---
    /// Downloads and thumbnails are the raw bytes with the media's Content-Type.
    NotMultipart,
    /// A third `text/plain` part after the media part.
    ThreeParts,
    /// The metadata part is `[]`.
    JsonArray,
    /// The body ends after the media part: no close delimiter.
    NoCloseDelimiter,
    /// Bare LF instead of CRLF in the framing and part headers.
    LfOnly,
    /// The last byte of every federation download is flipped.
    WrongBytes,
    /// Part 2's Content-Disposition is a bare `inline` (no file name).
    NoFilename,
    /// Part 2 of downloads is labelled `application/octet-stream`.
    OctetStreamDownloads,
    /// Part 2 of PNG thumbnails is labelled `image/jpeg`.
    ThumbnailMislabelled,
    /// Federation downloads answer 307 to an unauthenticated copy.
    RedirectTopLevel,
    // --- request authentication ---
    /// A request without Authorization is served.
    AcceptUnsigned,
    /// A client access token (`Authorization: Bearer …`) of a local user is accepted.
    AcceptClientToken,
    /// `destination` is not compared with our name (the signature is checked against the
    /// destination the header names).
    IgnoreDestination,
    /// A request without `destination` is refused (401).
    RequireDestination,
    /// Keys from `old_verify_keys` verify requests too.
    AcceptOldKeys,
    /// A key id the origin does not list in `verify_keys` is let through unverified.
    AcceptUnknownKey,
    /// The key is looked up, but the signature is never checked.
    IgnoreSignature,
    /// The signature is checked over the path without the query string.
    VerifyPathOnly,
    /// The origin's key document is fetched once and never again (a rotated key stays unknown).
    CacheKeysForever,
    /// Only `X-Matrix origin="…",[destination="…",]key="…",sig="…"` exactly is understood;
    /// anything else is a 400.
    StrictHeaderParser,
    /// Every signed request is refused with 401 without ever fetching the origin's keys (a
    /// target that cannot reach the tester's key server).
    NeverFetchesKeys,
    /// Every signed request is refused with 401 after fetching the origin's keys: the fake
    /// verifies a uri with an extra `/proxy` prefix, as behind a reverse proxy that rewrites
    /// paths.
    ProxyRewritesUri,
    // --- errors and other endpoints ---
    /// Unknown media answers 404 M_UNRECOGNIZED instead of M_NOT_FOUND.
    UnknownMediaUnrecognized,
    /// Pending media answers 404 M_NOT_FOUND at once instead of waiting and 504.
    PendingNot504,
    /// Pending media answers 504 M_NOT_YET_UPLOADED without the `error` message (not a
    /// standard error response).
    PendingWithoutMessage,
    /// Unknown federation endpoints answer 404 M_NOT_FOUND instead of M_UNRECOGNIZED.
    UnknownEndpointNotFound,
    /// A wrong method on a federation media endpoint answers 404 M_NOT_FOUND.
    WrongMethodNotFound,
    /// The fake's own key document has a broken self-signature.
    BadKeyDocument,
    /// The fake's own key document has no `valid_until_ts` (a required field).
    KeyDocumentWithoutValidUntil,
    /// Remote media the fake has cached is served over federation (by media ID).
    ServesCachedRemoteMedia,
    /// Keys from a key document whose `valid_until_ts` has passed verify requests.
    AcceptExpiredKeys,
    /// Downloads answer with a `Location` part; the URL serves the bytes with no
    /// Content-Type and no Content-Disposition.
    LocationWithoutHeaders,
    // --- thumbnails ---
    /// A thumbnail without width/height is served at 96x96 instead of a 400.
    ThumbnailNoParamsOk,
    /// An animated GIF source gives the animated original even with animated=false.
    AnimatedThumbnail,
    /// A thumbnail larger than 800x600 of something that is not an image is the original file
    /// in part 2, with its own Content-Type.
    ThumbnailServesNonImage,
    // --- lenient but valid ---
    /// A signature that does not verify, or an unknown key, is refused with 403 M_FORBIDDEN
    /// instead of 401 (valid: only a wrong destination has a fixed 401).
    RefuseWith403,
    /// Downloads answer with a `Location` part pointing at an unauthenticated URL that serves
    /// the bytes with their Content-Type and Content-Disposition (valid).
    LocationParts,
}

/// A running fake; dropping it stops the server.
pub struct FakeFederation {
    pub addr: SocketAddr,
    fake: Arc<Fake>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeFederation {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start(fault: FedFault) -> Self {
        Self::start_with(fault, RemoteFault::None).await
    }

    /// A conforming federation target that fetches remote media with `remote` broken.
    pub async fn start_requester(remote: RemoteFault) -> Self {
        Self::start_with(FedFault::None, remote).await
    }

    async fn start_with(fault: FedFault, remote: RemoteFault) -> Self {
        // reqwest and mediaconf both use rustls with aws-lc-rs; an explicit default avoids a
        // panic should a second provider ever be compiled in. Already installed is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let fake = Arc::new(Fake {
            fault,
            remote,
            remote_cache: requester::RemoteCache::default(),
            key: SigningKey::generate("fake").expect("signing key"),
            db: Mutex::new(Db::default()),
            keys: Mutex::new(KeyCache::default()),
            key_fetches: AtomicUsize::new(0),
            http: reqwest::Client::builder()
                .no_proxy()
                .tls_danger_accept_invalid_certs(true)
                .timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client"),
        });
        let app = Router::new().fallback(handle).with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeFederation {
            addr,
            fake,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many times the fake fetched an origin's key document.
    pub fn key_fetches(&self) -> usize {
        self.fake.key_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for FakeFederation {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// State

struct Fake {
    fault: FedFault,
    /// The requester rule broken (`mod requester`).
    remote: RemoteFault,
    remote_cache: requester::RemoteCache,
    /// The fake's own signing key, published at `/_matrix/key/v2/server`.
    key: SigningKey,
    db: Mutex<Db>,
    keys: Mutex<KeyCache>,
    key_fetches: AtomicUsize,
    /// For fetching origins' key documents.
    http: reqwest::Client,
}

#[derive(Default)]
struct Db {
    /// Access tokens issued by registration.
    tokens: Vec<String>,
    /// Media id → content (`None` while pending).
    media: HashMap<String, Option<Content>>,
    next_id: u64,
}

#[derive(Clone)]
struct Content {
    bytes: Bytes,
    content_type: String,
    filename: Option<String>,
}

#[derive(Default)]
struct KeyCache {
    /// (origin, key id) → public key, from `verify_keys`.
    verify: HashMap<(String, String), String>,
    /// (origin, key id) → public key, from `old_verify_keys`.
    old: HashMap<(String, String), String>,
    /// Origins whose document was fetched at least once.
    fetched: Vec<String>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn response(
    status: u16,
    headers: &[(header::HeaderName, String)],
    body: impl Into<Body>,
) -> Response {
    let mut r = Response::new(body.into());
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            r.headers_mut().append(name.clone(), v);
        }
    }
    r
}

fn json_response(status: u16, value: &Value) -> Response {
    response(
        status,
        &[(header::CONTENT_TYPE, "application/json".into())],
        value.to_string(),
    )
}

/// A standard Matrix error, boxed: it is the `Err` of every [`Reply`].
fn error(status: u16, errcode: &str, message: &str) -> Fail {
    Box::new(json_response(
        status,
        &json!({"errcode": errcode, "error": message}),
    ))
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    let Some(q) = query else { return Vec::new() };
    match reqwest::Url::parse(&format!("http://x/?{q}")) {
        Ok(url) => url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// RFC 9110 `token`: such a file name can go in `filename=` unquoted.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Synapse's shape: `inline; filename=NAME` for token names, `filename*=utf-8''…` otherwise.
fn disposition(filename: Option<&str>) -> String {
    match filename {
        None => "inline".to_string(),
        Some(n) if is_token(n) => format!("inline; filename={n}"),
        Some(n) => format!(
            "inline; filename*=utf-8''{}",
            utf8_percent_encode(n, ATTR_CHAR_ENCODE)
        ),
    }
}

/// One parsed request.
struct Req {
    method: Method,
    /// Path and query exactly as received.
    uri: String,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

enum Endpoint {
    Versions,
    FederationVersion,
    Register,
    Upload,
    Create,
    KeyServer,
    FedDownload(String),
    FedThumbnail(String),
    Redirected(String),
    /// `GET /_matrix/client/v1/media/{download,thumbnail}/{server}/{id}[/{name}]`.
    ClientMedia(String, String),
    /// `GET /_matrix/media/v3/download/{server}/{id}[/{name}]`.
    LegacyDownload(String, String),
    /// `GET /_fake/cdn/{id}`.
    Cdn(String),
}

async fn handle(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    match fake.dispatch(request).await {
        Ok(r) => r,
        Err(r) => *r,
    }
}

/// `Err` is an early answer (an error); `Ok` the normal one.
type Reply = Result<Response, Fail>;
/// An early (error) answer; boxed because a `Response` is large.
type Fail = Box<Response>;

// ------------------------------------------------------------------------------------------------
// The server

impl Fake {
    fn has(&self, fault: FedFault) -> bool {
        self.fault == fault
    }

    async fn dispatch(&self, request: Request) -> Reply {
        let (parts, body) = request.into_parts();
        let body = axum::body::to_bytes(body, 16 * 1024 * 1024)
            .await
            .map_err(|_| error(413, "M_TOO_LARGE", "request body too large"))?;
        let path = parts.uri.path().to_string();
        let segs: Vec<String> = path
            .split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let req = Req {
            method: parts.method.clone(),
            uri: parts
                .uri
                .path_and_query()
                .map_or_else(|| path.clone(), |pq| pq.as_str().to_string()),
            path,
            query: parse_query(parts.uri.query()),
            headers: parts.headers,
            body,
        };
        let federation = segs.first().is_some_and(|s| s == "_matrix")
            && segs.get(1).is_some_and(|s| s == "federation");
        let Some((endpoint, method)) = route(&segs) else {
            if federation && self.has(FedFault::UnknownEndpointNotFound) {
                return Err(error(404, "M_NOT_FOUND", "Not found"));
            }
            return Err(error(404, "M_UNRECOGNIZED", "Unrecognized request"));
        };
        if req.method != method {
            let media = matches!(
                endpoint,
                Endpoint::FedDownload(_) | Endpoint::FedThumbnail(_)
            );
            if media && self.has(FedFault::WrongMethodNotFound) {
                return Err(error(404, "M_NOT_FOUND", "Not found"));
            }
            return Err(error(405, "M_UNRECOGNIZED", "Unrecognized request method"));
        }
        match endpoint {
            Endpoint::Versions => Ok(json_response(
                200,
                &json!({"versions": ["v1.11", "v1.12", "v1.13"], "unstable_features": {}}),
            )),
            Endpoint::FederationVersion => Ok(json_response(
                200,
                &json!({"server": {"name": "FakeFederation", "version": "0"}}),
            )),
            Endpoint::Register => self.register(&req),
            Endpoint::Upload => self.upload(&req),
            Endpoint::Create => self.create(&req),
            Endpoint::KeyServer => Ok(self.key_document()),
            Endpoint::FedDownload(id) => {
                self.authenticate(&req).await?;
                self.download(&req, &id).await
            }
            Endpoint::FedThumbnail(id) => {
                self.authenticate(&req).await?;
                self.thumbnail(&req, &id).await
            }
            Endpoint::Redirected(_) if !self.has(FedFault::RedirectTopLevel) => {
                Err(error(404, "M_UNRECOGNIZED", "Unrecognized request"))
            }
            Endpoint::Redirected(id) => {
                let content = self.content(&req, &id).await?;
                Ok(self.media_response(&content, content.bytes.clone(), true))
            }
            Endpoint::ClientMedia(server, id) if server != SERVER_NAME => {
                self.remote_media(&req, &server, &id).await
            }
            // Local client downloads are not needed by the profiles this fake serves.
            Endpoint::ClientMedia(..) => Err(error(404, "M_NOT_FOUND", "Not found")),
            // Frozen: the deprecated endpoint serves nothing remote and fetches nothing (with
            // `DeprecatedAnswers502`, it says so with a 502 instead of a 404).
            Endpoint::LegacyDownload(..) if self.remote == RemoteFault::DeprecatedAnswers502 => {
                Err(error(502, "M_UNKNOWN", "Not available locally"))
            }
            Endpoint::LegacyDownload(..) => Err(error(404, "M_NOT_FOUND", "Not found")),
            Endpoint::Cdn(id) => self.cdn(&req, &id).await,
        }
    }

    // --- client API ---

    fn caller_token<'a>(&self, req: &'a Req) -> Option<&'a str> {
        req.headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    }

    fn check_token(&self, req: &Req) -> Result<(), Fail> {
        let ok = self
            .caller_token(req)
            .is_some_and(|t| lock(&self.db).tokens.iter().any(|k| k == t));
        if ok {
            Ok(())
        } else {
            Err(error(
                401,
                "M_MISSING_TOKEN",
                "Missing or unknown access token",
            ))
        }
    }

    fn register(&self, req: &Req) -> Reply {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_else(|_| json!({}));
        let auth_type = body
            .get("auth")
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str);
        let guest = req.q("kind") == Some("guest");
        if auth_type != Some("m.login.dummy") && !guest {
            return Err(Box::new(json_response(
                401,
                &json!({"flows": [{"stages": ["m.login.dummy"]}], "params": {}, "session": "s"}),
            )));
        }
        let localpart = body
            .get("username")
            .and_then(Value::as_str)
            .unwrap_or("user")
            .to_string();
        let mut db = lock(&self.db);
        db.next_id += 1;
        let token = format!("fake_token_{}_{}", db.next_id, now_ms());
        db.tokens.push(token.clone());
        Ok(json_response(
            200,
            &json!({"user_id": format!("@{localpart}:{SERVER_NAME}"), "access_token": token, "device_id": "FAKEDEVICE"}),
        ))
    }

    fn new_media_id(&self, content: Option<Content>) -> String {
        let mut db = lock(&self.db);
        db.next_id += 1;
        let id = format!("fakemedia{}x{}", db.next_id, now_ms() % 100_000);
        db.media.insert(id.clone(), content);
        id
    }

    fn upload(&self, req: &Req) -> Reply {
        self.check_token(req)?;
        let content_type = req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_string();
        let id = self.new_media_id(Some(Content {
            bytes: req.body.clone(),
            content_type,
            filename: req.q("filename").map(str::to_string),
        }));
        Ok(json_response(
            200,
            &json!({"content_uri": format!("mxc://{SERVER_NAME}/{id}")}),
        ))
    }

    fn create(&self, req: &Req) -> Reply {
        self.check_token(req)?;
        let id = self.new_media_id(None);
        Ok(json_response(
            200,
            &json!({"content_uri": format!("mxc://{SERVER_NAME}/{id}"), "unused_expires_at": now_ms() + 86_400_000}),
        ))
    }

    /// The fake's own self-signed key document (F-31).
    fn key_document(&self) -> Response {
        let mut doc = server_key_document(SERVER_NAME, &self.key, &[], now_ms() + 86_400_000)
            .expect("key document");
        if self.has(FedFault::BadKeyDocument)
            && let Some(Value::String(sig)) =
                doc.pointer_mut(&format!("/signatures/{SERVER_NAME}/{}", self.key.key_id))
        {
            let mut chars: Vec<char> = sig.chars().collect();
            chars[3] = if chars[3] == 'A' { 'B' } else { 'A' };
            *sig = chars.into_iter().collect();
        }
        if self.has(FedFault::KeyDocumentWithoutValidUntil)
            && let Some(fields) = doc.as_object_mut()
        {
            fields.remove("valid_until_ts");
        }
        json_response(200, &doc)
    }

    // --- X-Matrix ---

    fn unauthorized(message: &str) -> Fail {
        error(401, "M_UNAUTHORIZED", message)
    }

    async fn authenticate(&self, req: &Req) -> Result<(), Fail> {
        let Some(value) = req.headers.get(header::AUTHORIZATION) else {
            if self.has(FedFault::AcceptUnsigned) {
                return Ok(());
            }
            return Err(Self::unauthorized("Missing Authorization headers"));
        };
        let value = value
            .to_str()
            .map_err(|_| error(400, "M_UNAUTHORIZED", "Authorization is not text"))?;
        if self.has(FedFault::AcceptClientToken)
            && self.caller_token(req).is_some()
            && self.check_token(req).is_ok()
        {
            return Ok(());
        }
        // Another scheme (e.g. a client's `Bearer` token) is no signature at all: 401, as for a
        // missing header. A malformed X-Matrix header is a 400 below.
        let scheme = value.split(' ').next().unwrap_or_default();
        if !scheme.eq_ignore_ascii_case("X-Matrix") {
            return Err(Self::unauthorized("Not an X-Matrix Authorization header"));
        }
        if self.has(FedFault::NeverFetchesKeys) {
            return Err(Self::unauthorized("Failed to fetch the origin's keys"));
        }
        if self.has(FedFault::StrictHeaderParser) && !strictly_formatted(value) {
            return Err(error(
                400,
                "M_UNAUTHORIZED",
                "Malformed Authorization header",
            ));
        }
        let parsed =
            parse_header(value).map_err(|e| error(400, "M_UNAUTHORIZED", &e.to_string()))?;
        let signed_destination = match parsed.destination.as_deref() {
            Some(d) if self.has(FedFault::IgnoreDestination) => d.to_string(),
            Some(SERVER_NAME) => SERVER_NAME.to_string(),
            Some(_) => return Err(Self::unauthorized("Wrong destination")),
            None if self.has(FedFault::RequireDestination) => {
                return Err(Self::unauthorized("Missing destination"));
            }
            None => SERVER_NAME.to_string(),
        };
        let Some(public_key) = self.public_key(&parsed.origin, &parsed.key).await else {
            if self.has(FedFault::AcceptUnknownKey) {
                return Ok(());
            }
            return Err(self.refused("Unknown key"));
        };
        if self.has(FedFault::IgnoreSignature) {
            return Ok(());
        }
        let uri = if self.has(FedFault::VerifyPathOnly) {
            req.path.clone()
        } else if self.has(FedFault::ProxyRewritesUri) {
            format!("/proxy{}", req.uri)
        } else {
            req.uri.clone()
        };
        let content: Option<Value> = if req.body.is_empty() {
            None
        } else {
            serde_json::from_slice(&req.body).ok()
        };
        verify_request(
            &parsed,
            req.method.as_str(),
            &uri,
            &signed_destination,
            &public_key,
            content.as_ref(),
        )
        .map_err(|e| self.refused(&e.to_string()))
    }

    /// A refused signature (unknown key, bad signature): 401, or 403 under `RefuseWith403`
    /// (the spec fixes 401 only for a wrong destination, so 403 is valid too).
    fn refused(&self, message: &str) -> Fail {
        if self.has(FedFault::RefuseWith403) {
            error(403, "M_FORBIDDEN", message)
        } else {
            Self::unauthorized(message)
        }
    }

    /// The origin's public key for `key_id`: from the cache, else from a fresh fetch of the
    /// origin's key document.
    async fn public_key(&self, origin: &str, key_id: &str) -> Option<String> {
        let wanted = (origin.to_string(), key_id.to_string());
        let lookup = |cache: &KeyCache| {
            cache.verify.get(&wanted).cloned().or_else(|| {
                if self.has(FedFault::AcceptOldKeys) {
                    cache.old.get(&wanted).cloned()
                } else {
                    None
                }
            })
        };
        {
            let cache = lock(&self.keys);
            if let Some(k) = lookup(&cache) {
                return Some(k);
            }
            if self.has(FedFault::CacheKeysForever) && cache.fetched.iter().any(|o| o == origin) {
                return None;
            }
            // The cached document (valid for 24 h) lists this key as old: no refetch.
            if cache.old.contains_key(&wanted) {
                return None;
            }
        }
        let doc = self.fetch_key_document(origin).await?;
        let mut cache = lock(&self.keys);
        cache.fetched.push(origin.to_string());
        // A fresh document replaces what was known of the origin: a key it now lists only in
        // `old_verify_keys` stops verifying requests, even in a later run (as real servers that
        // cache key documents for their validity behave).
        cache.verify.retain(|(o, _), _| o != origin);
        cache.old.retain(|(o, _), _| o != origin);
        // A document whose `valid_until_ts` has passed makes none of its keys usable (K-03).
        let expired = doc
            .get("valid_until_ts")
            .and_then(Value::as_u64)
            .is_none_or(|until| until < now_ms());
        if expired && !self.has(FedFault::AcceptExpiredKeys) {
            return None;
        }
        for (field, old) in [("verify_keys", false), ("old_verify_keys", true)] {
            let Some(keys) = doc.get(field).and_then(Value::as_object) else {
                continue;
            };
            for (id, entry) in keys {
                if let Some(k) = entry.get("key").and_then(Value::as_str) {
                    let slot = if old {
                        &mut cache.old
                    } else {
                        &mut cache.verify
                    };
                    slot.insert((origin.to_string(), id.clone()), k.to_string());
                }
            }
        }
        lookup(&cache)
    }

    /// Fetches and checks `https://{origin}/_matrix/key/v2/server`: the right `server_name` and
    /// a valid self-signature by one of its `verify_keys`.
    async fn fetch_key_document(&self, origin: &str) -> Option<Value> {
        self.key_fetches.fetch_add(1, Ordering::SeqCst);
        let url = format!("https://{origin}/_matrix/key/v2/server");
        let response = self.http.get(&url).send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        let doc: Value = serde_json::from_slice(&response.bytes().await.ok()?).ok()?;
        if doc.get("server_name").and_then(Value::as_str) != Some(origin) {
            return None;
        }
        let self_signed = doc
            .get("verify_keys")
            .and_then(Value::as_object)?
            .iter()
            .any(|(id, entry)| {
                entry
                    .get("key")
                    .and_then(Value::as_str)
                    .is_some_and(|k| verify_json_signature(&doc, origin, id, k).is_ok())
            });
        self_signed.then_some(doc)
    }

    // --- federation media ---

    /// The media's content, waiting for pending media; `Err` is the error answer.
    async fn content(&self, req: &Req, id: &str) -> Result<Content, Fail> {
        let mut entry = lock(&self.db).media.get(id).cloned();
        if entry.is_none() && self.has(FedFault::ServesCachedRemoteMedia) {
            let cache = lock(&self.remote_cache.0);
            entry = cache
                .iter()
                .find(|((_, media_id), _)| media_id == id)
                .map(|(_, c)| Some(c.clone()));
        }
        match entry {
            None if self.has(FedFault::UnknownMediaUnrecognized) => {
                Err(error(404, "M_UNRECOGNIZED", "Unrecognized request"))
            }
            None => Err(error(404, "M_NOT_FOUND", "Media not found")),
            Some(Some(content)) => Ok(content),
            Some(None) if self.has(FedFault::PendingNot504) => {
                Err(error(404, "M_NOT_FOUND", "Media not found"))
            }
            Some(None) => {
                let wait = req
                    .q("timeout_ms")
                    .and_then(|t| t.parse::<u64>().ok())
                    .map_or(PENDING_WAIT_CAP, Duration::from_millis)
                    .min(PENDING_WAIT_CAP);
                tokio::time::sleep(wait).await;
                if self.has(FedFault::PendingWithoutMessage) {
                    return Err(Box::new(json_response(
                        504,
                        &json!({"errcode": "M_NOT_YET_UPLOADED"}),
                    )));
                }
                Err(error(
                    504,
                    "M_NOT_YET_UPLOADED",
                    "Media has not been uploaded yet",
                ))
            }
        }
    }

    /// A 200 carrying `bytes` as `content`'s type and file name: `multipart/mixed` in Synapse's
    /// shape (or raw under `NotMultipart`), with the multipart fault the fake has, if any.
    fn media_response(&self, content: &Content, bytes: Bytes, download: bool) -> Response {
        if self.has(FedFault::NotMultipart) {
            return response(
                200,
                &[(header::CONTENT_TYPE, content.content_type.clone())],
                bytes,
            );
        }
        let mut body = bytes.to_vec();
        if download
            && self.has(FedFault::WrongBytes)
            && let Some(last) = body.last_mut()
        {
            *last ^= 0xff;
        }
        let filename = if self.has(FedFault::NoFilename) {
            None
        } else {
            content.filename.as_deref()
        };
        let fault = match self.fault {
            FedFault::ThreeParts => MultipartFault::ThreeParts,
            FedFault::JsonArray => MultipartFault::JsonArray,
            FedFault::NoCloseDelimiter => MultipartFault::NoCloseDelimiter,
            FedFault::LfOnly => MultipartFault::LfOnly,
            _ => MultipartFault::None,
        };
        let content_type = if download && self.has(FedFault::OctetStreamDownloads) {
            "application/octet-stream"
        } else if !download
            && self.has(FedFault::ThumbnailMislabelled)
            && content.content_type == "image/png"
        {
            "image/jpeg"
        } else {
            content.content_type.as_str()
        };
        let builder =
            Builder::bytes(Some(content_type), Some(&disposition(filename)), &body).fault(fault);
        response(
            200,
            &[(header::CONTENT_TYPE, builder.content_type())],
            builder.build(),
        )
    }

    async fn download(&self, req: &Req, id: &str) -> Reply {
        let content = self.content(req, id).await?;
        if self.has(FedFault::RedirectTopLevel) {
            return Ok(response(
                307,
                &[(header::LOCATION, format!("{REDIRECT_PREFIX}{id}"))],
                Body::empty(),
            ));
        }
        if self.has(FedFault::LocationParts) || self.has(FedFault::LocationWithoutHeaders) {
            let host = req
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("127.0.0.1");
            let builder = Builder::location(&format!("http://{host}{CDN_PREFIX}{id}"));
            return Ok(response(
                200,
                &[(header::CONTENT_TYPE, builder.content_type())],
                builder.build(),
            ));
        }
        Ok(self.media_response(&content, content.bytes.clone(), true))
    }

    /// `GET /_fake/cdn/{id}`: the bytes a `Location` part points at, without authentication.
    async fn cdn(&self, req: &Req, id: &str) -> Reply {
        let content = self.content(req, id).await?;
        let headers = if self.has(FedFault::LocationWithoutHeaders) {
            Vec::new()
        } else {
            vec![
                (header::CONTENT_TYPE, content.content_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    disposition(content.filename.as_deref()),
                ),
            ]
        };
        Ok(response(200, &headers, content.bytes.clone()))
    }

    async fn thumbnail(&self, req: &Req, id: &str) -> Reply {
        let dimension = |name: &str| -> Result<u32, Fail> {
            match req.q(name) {
                None if self.has(FedFault::ThumbnailNoParamsOk) => Ok(96),
                None => Err(error(
                    400,
                    "M_MISSING_PARAM",
                    &format!("Missing parameter {name}"),
                )),
                Some(v) => v.parse::<u32>().map_err(|_| {
                    error(400, "M_INVALID_PARAM", &format!("Invalid parameter {name}"))
                }),
            }
        };
        dimension("width")?;
        dimension("height")?;
        let source = self.content(req, id).await?;
        let png = mediaconf::suite::embedded::fixture("image-640x480.png").expect("PNG fixture");
        let animated = req.q("animated") == Some("true");
        // Every source gives the 640x480 PNG (never smaller than asked up to that size, never
        // upscaled), except an animated GIF when animation is allowed (or under the fault).
        let gif = source.content_type == "image/gif";
        let raster = matches!(
            source.content_type.as_str(),
            "image/png" | "image/jpeg" | "image/gif" | "image/webp"
        );
        if !raster {
            let large = [req.q("width"), req.q("height")].iter().any(|v| {
                v.and_then(|v| v.parse::<u32>().ok())
                    .is_some_and(|n| n > 800)
            });
            if large && self.has(FedFault::ThumbnailServesNonImage) {
                return Ok(self.media_response(&source, source.bytes.clone(), false));
            }
            return Err(error(
                400,
                "M_UNKNOWN",
                "Cannot generate thumbnails for this media",
            ));
        }
        let (bytes, content_type) = if gif && (animated || self.has(FedFault::AnimatedThumbnail)) {
            (source.bytes.clone(), "image/gif")
        } else {
            (Bytes::from_static(png), "image/png")
        };
        let thumb = Content {
            bytes: bytes.clone(),
            content_type: content_type.to_string(),
            filename: Some(format!(
                "thumbnail.{}",
                if content_type == "image/gif" {
                    "gif"
                } else {
                    "png"
                }
            )),
        };
        Ok(self.media_response(&thumb, bytes, false))
    }
}

fn route(segs: &[String]) -> Option<(Endpoint, Method)> {
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    Some(match s.as_slice() {
        ["_matrix", "client", "versions"] => (Endpoint::Versions, Method::GET),
        ["_matrix", "federation", "v1", "version"] => (Endpoint::FederationVersion, Method::GET),
        ["_matrix", "client", "v3", "register"] => (Endpoint::Register, Method::POST),
        ["_matrix", "media", "v3", "upload"] => (Endpoint::Upload, Method::POST),
        ["_matrix", "media", "v1", "create"] => (Endpoint::Create, Method::POST),
        ["_matrix", "key", "v2", "server"] => (Endpoint::KeyServer, Method::GET),
        ["_matrix", "federation", "v1", "media", "download", id] => {
            (Endpoint::FedDownload((*id).to_string()), Method::GET)
        }
        ["_matrix", "federation", "v1", "media", "thumbnail", id] => {
            (Endpoint::FedThumbnail((*id).to_string()), Method::GET)
        }
        ["_fake", "redirected", id] => (Endpoint::Redirected((*id).to_string()), Method::GET),
        ["_fake", "cdn", id] => (Endpoint::Cdn((*id).to_string()), Method::GET),
        [
            "_matrix",
            "client",
            "v1",
            "media",
            "download" | "thumbnail",
            server,
            id,
            ..,
        ] => (
            Endpoint::ClientMedia((*server).to_string(), (*id).to_string()),
            Method::GET,
        ),
        ["_matrix", "media", "v3", "download", server, id, ..] => (
            Endpoint::LegacyDownload((*server).to_string(), (*id).to_string()),
            Method::GET,
        ),
        _ => return None,
    })
}

/// The one spelling a naive parser understands: `X-Matrix origin="…",destination="…",key="…",
/// sig="…"` (destination optional), lower-case names in this order, every value quoted without
/// escapes, no whitespace around commas, nothing else.
fn strictly_formatted(value: &str) -> bool {
    let Some(mut rest) = value.strip_prefix("X-Matrix ") else {
        return false;
    };
    let mut names = Vec::new();
    loop {
        let Some((name, after)) = rest.split_once("=\"") else {
            return false;
        };
        let Some((value, after)) = after.split_once('"') else {
            return false;
        };
        if value.contains('\\') {
            return false;
        }
        names.push(name);
        if after.is_empty() {
            break;
        }
        let Some(after) = after.strip_prefix(',') else {
            return false;
        };
        rest = after;
    }
    names == ["origin", "destination", "key", "sig"] || names == ["origin", "key", "sig"]
}
