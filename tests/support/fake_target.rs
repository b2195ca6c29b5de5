//! An in-process fake Matrix homeserver for testing mediaconf itself ("test the tester").
//!
//! It implements just enough of the client-server API (versions, UIA registration with
//! `m.login.dummy`, guests, logout, whoami) and of the media repository (upload, create, async
//! upload, authenticated download/thumbnail/config/preview_url, the frozen deprecated endpoints)
//! to pass the `client`, `guest` and `legacy` profiles. A [`Fault`] chosen at start breaks exactly
//! one rule, so a test can check that exactly the right cases change outcome.
//!
//! It serves on `127.0.0.1:0` on the caller's tokio runtime and stops when the handle drops.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use mediaconf::imageinfo::{ImageFormat, decode_info};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::png;

/// The fake's server name: user ids are `@name:fake.test`, media `mxc://fake.test/…`.
pub const SERVER_NAME: &str = "fake.test";
/// `m.upload.size`: small, so the over-limit upload cases stay cheap, and big enough for the
/// 3.2 MB image of the atomicity cases (C-26, D-22).
pub const UPLOAD_LIMIT: usize = 8 * 1024 * 1024;
/// Longest wait for pending media. Kept well under the 2 s after which C-21 uploads its media, so
/// C-21 always gets the 504 (a 200 would be racy, and make `WrongBytes` break C-21 only sometimes),
/// and C-22 (timeout_ms = 1 h) ends quickly. C-20 and D-19 ask for exactly this (1000 ms).
const PENDING_WAIT_CAP: Duration = Duration::from_millis(1000);
/// Largest thumbnail side the fake ever renders (only reached under `UpscaleThumbnails`).
const MAX_RENDER: u32 = 2000;
const CSP: &str = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';";
/// The spec's (v1.12) safe inline types. Copied from the spec on purpose rather than imported
/// from `check::disposition::SAFE_INLINE_TYPES`, so a slip in mediaconf's list shows up here.
const SAFE_INLINE_TYPES: &[&str] = &[
    "text/css",
    "text/plain",
    "text/csv",
    "application/json",
    "application/ld+json",
    "image/jpeg",
    "image/gif",
    "image/png",
    "image/apng",
    "image/webp",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/ogg",
    "video/quicktime",
    "audio/mp4",
    "audio/webm",
    "audio/aac",
    "audio/mpeg",
    "audio/ogg",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wav",
    "audio/flac",
    "audio/x-flac",
];
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
pub enum Fault {
    None,
    // --- access tokens and generic API behaviour ---
    /// A token the server never issued is accepted as the first registered user.
    AcceptInvalidToken,
    /// Logout answers 200 but leaves the token valid.
    LoggedOutStillValid,
    /// A request without any token gets 401 M_UNKNOWN_TOKEN instead of M_MISSING_TOKEN.
    MissingTokenWrongErrcode,
    /// `?access_token=` is ignored (only the Authorization header counts).
    QueryTokenRejected,
    /// CORS preflights (OPTIONS) need a token: 401 instead of 204.
    OptionsNeedsAuth,
    /// CORS preflights answer without `Access-Control-Allow-Methods`.
    PreflightWithoutMethods,
    /// Error bodies are `text/plain` ("M_X: message") instead of the standard JSON error.
    ErrorsNotJson,
    /// Error bodies are JSON with the right `errcode` but no `error` message (not a standard
    /// error response: "the keys error and errcode MUST always be present").
    ErrorsWithoutMessage,
    // --- download ---
    /// The last byte of every download is flipped.
    WrongBytes,
    /// Downloads have no Content-Type header.
    NoContentType,
    /// Downloads have no Content-Disposition header.
    NoDisposition,
    /// text/html is served inline.
    HtmlInline,
    /// The inline allow-list is compared with the whole Content-Type, parameters included.
    InlineAllowListWithParams,
    /// The file name is dropped from the download Content-Disposition.
    NoFilename,
    /// Media uploaded without a file name is downloaded with one (`filename=file`).
    InventedFilename,
    /// `download/{serverName}/{mediaId}/{fileName}` uses the upload's file name, not the path's.
    IgnorePathFileName,
    /// Non-ASCII file names are sent as a lossy `filename="?.txt"` instead of `filename*`.
    AsciiOnlyFilenames,
    /// `download/{serverName}/{mediaId}/{fileName}` sends a Content-Disposition with the file
    /// name but without its type (neither `inline` nor `attachment`).
    PathNameDispositionWithoutType,
    /// `download/{serverName}/{mediaId}/{fileName}` is not implemented (404 M_UNRECOGNIZED).
    NoFileNameRoute,
    /// No Content-Security-Policy on downloads and thumbnails.
    NoCsp,
    /// `/_matrix/federation/v1/version` is not served (the banner falls back to the `Server`
    /// header, which the fake always sends).
    NoFederationVersion,
    /// Every thumbnail larger than 800x600 is a generic 400 (the server cannot thumbnail a
    /// standard image at that size).
    NoThumbnailAbove800x600,
    /// Uploads write a content-addressed file in place: the same bytes uploaded again truncate
    /// the one file and rewrite it slowly, and downloads and thumbnails read whatever is there
    /// (a 200 with fewer bytes, an empty thumbnail).
    WritesMediaInPlace,
    /// The first request for a thumbnail size of an image over 1 MiB generates it for 50 ms;
    /// requests for that size meanwhile get 500.
    ThumbnailGenerationRace,
    /// A thumbnail larger than 800x600 of something that is not an image is the original file
    /// (its own type, as attachment), as a server that serves the original when no
    /// pre-generated size is big enough.
    ThumbnailServesNonImage,
    /// A thumbnail of something that is not an image, at any size, is the original file
    /// labelled `image/png` and `inline`.
    ThumbnailOfNonImageIsOriginal,
    /// No Cross-Origin-Resource-Policy on downloads and thumbnails.
    NoCorp,
    /// A media id with characters outside `[A-Za-z0-9_-]` reaches the file system: a file outside
    /// the media store is served (200).
    MediaIdNotSanitised,
    /// An invalid server name in a media path is not refused: a file outside the media store is
    /// served (200).
    ServerNameNotSanitised,
    /// Invalid media ids and server names crash the server (500): refused, so the MUST cases
    /// pass, but not with the 4xx the GAP cases expect.
    InvalidIdsCrash,
    /// Pending (created, not uploaded) media answers 404 at once instead of waiting and 504.
    PendingReturns404,
    // --- thumbnails ---
    /// Generated PNG thumbnails are labelled `image/jpeg`.
    ThumbnailMislabelled,
    /// Thumbnails are served as attachment.
    ThumbnailAttachment,
    /// Thumbnail Content-Disposition has no file name.
    ThumbnailNoFilename,
    /// Requests bigger than the source give a w×h image as asked (upscaled), not the original.
    UpscaleThumbnails,
    /// Thumbnails are half the size they should be.
    SmallThumbnails,
    /// `method=crop` behaves like `scale` (keeps the source aspect ratio).
    CropKeepsAspect,
    /// An animated GIF source gives the animated original even with animated=false.
    AnimatedAlways,
    /// A missing width or height defaults to 96 instead of a 400.
    BadParamsOk,
    /// A non-integer or negative width/height defaults to 96 instead of a 400.
    InvalidParamsOk,
    // --- config and URL previews ---
    /// `m.upload.size` is a string.
    ConfigNotInteger,
    /// The preview has no `og:image` (nor `matrix:image:size`).
    PreviewWithoutImage,
    /// The preview's `og:image` is the page's http(s) URL instead of an mxc URI.
    PreviewImageNotMxc,
    /// preview_url refuses valid user tokens with 401 M_UNKNOWN_TOKEN.
    PreviewRefusesUsers,
    // --- guests ---
    /// Guest registration uses the username and device_id from the request body.
    GuestHonoursBody,
    /// Guests may upload and create media.
    GuestCanUpload,
    /// A guest's async PUT to media a user created is accepted (no guest or owner check).
    GuestCanPutCreatedMedia,
    /// Guests get 403 M_GUEST_ACCESS_FORBIDDEN on download and thumbnail.
    GuestCannotDownload,
    /// Guests may call media config and preview_url (v1 and v3).
    GuestCanUseConfigAndPreview,
    // --- deprecated endpoints ---
    /// The deprecated download and thumbnail serve new media (no freeze).
    NotFrozen,
    /// The deprecated download redirects (307) to the v1 download even without allow_redirect.
    DeprecatedRedirects,
    /// The deprecated download answers 200 with a page about the new endpoint instead of the
    /// media (neither the media itself nor the freeze 404).
    DeprecatedAnswersAPage,
    /// `/_matrix/media/v3/config` is gone (404 M_UNRECOGNIZED).
    DeprecatedConfigRemoved,
    // --- upload, create, async upload ---
    /// Uploads without a Content-Type header are refused (400).
    UploadRequiresContentType,
    /// Media ids contain a `.` (and the server accepts dots in media ids).
    UnsafeMediaIds,
    /// `unused_expires_at` of create is an hour in the past.
    ExpiresInPast,
    /// A second async PUT overwrites the media.
    NoOverwriteCheck,
    /// A successful async PUT answers 200 with `[]`, not the defined empty object.
    PutAnswersNonObject,
    /// Any user may async-PUT to media another user created.
    NoOwnerCheck,
    /// Async PUT to a never-created or non-local mxc stores it (200).
    PutNoExistenceCheck,
    /// Upload, create and the async PUT accept a never-issued token (header or query) as the
    /// first registered user; the other endpoints still refuse it.
    UploadAcceptsInvalidToken,
    /// Media uploaded without a Content-Type downloads as `application/json`.
    UntypedServedAsJson,
    /// Generated thumbnails (always PNG bytes) are labelled with the source's Content-Type.
    ThumbnailTypeFromSource,
    /// `method=scale` at or below 32 px (the smallest pre-generated size) answers exactly the
    /// requested width × height, losing the aspect ratio.
    SmallScaleSquare,
    /// `preview_url` (v1 and v3) is not served: 404 M_UNRECOGNIZED before auth, as Synapse with
    /// previews off.
    PreviewsNotServed,
    /// `POST /_matrix/media/v1/create` is not served: 404 M_UNRECOGNIZED before auth.
    CreateNotServed,
    // --- lenient but valid: nothing may fail or warn ---
    /// An unknown `method` falls back to the default (`scale`) instead of a 400.
    BogusMethodFallsBack,
    /// `animated=true` on an animated GIF gives a static thumbnail.
    StaticForAnimatedTrue,
    /// The `error` text of every Matrix error ends with markup and a script ([`HOSTILE_TEXT`]):
    /// still a valid error, so nothing may fail; reports must show it as text.
    ScriptInErrors,
}

/// What `Fault::ScriptInErrors` appends to error texts: run in a browser, it would change the
/// page title and mark the root element.
pub const HOSTILE_TEXT: &str = "<script>document.title='pwned';document.documentElement.setAttribute('data-pwned','1')</script><img src=x onerror=\"document.title='pwned'\">";

/// A running fake; dropping it stops the server.
pub struct FakeTarget {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeTarget {
    /// Binds 127.0.0.1 on a free port and serves on the current tokio runtime.
    pub async fn start(fault: Fault) -> Self {
        Self::start_with(&[fault]).await
    }

    /// A fake with several faults at once (the root-cause corpus injects a few causes).
    pub async fn start_with(faults: &[Fault]) -> Self {
        let fake = Arc::new(Fake {
            faults: faults.to_vec(),
            db: Mutex::new(Db::default()),
            thumbnails: Mutex::new(HashMap::new()),
            files: Mutex::new(HashMap::new()),
            generating: Mutex::new(HashSet::new()),
            generated: Mutex::new(HashSet::new()),
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("reqwest client"),
        });
        let app = Router::new().fallback(handle).with_state(fake);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let listener = HalfCloseListener(listener);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        FakeTarget {
            addr,
            shutdown: Some(tx),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for FakeTarget {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Half-closed connections

/// Accepts TCP connections whose read side never reports end-of-file.
///
/// mediaconf sends large uploads with its own HTTP/1.1 client, which shuts down its write side once
/// the body is sent and then reads the answer. hyper (behind `axum::serve`) treats that EOF as an
/// aborted request and closes the connection without answering (its `half_close` option is off and
/// `axum::serve` does not expose it). Hiding the EOF gives the behaviour of a server that supports
/// half-closed connections, as Synapse does: the answer is written, then the connection closes
/// (those requests say `Connection: close`). A connection whose client went away for good just
/// idles until the test's runtime shuts down.
struct HalfCloseListener(tokio::net::TcpListener);

impl axum::serve::Listener for HalfCloseListener {
    type Io = HalfCloseStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.0.accept().await {
                Ok((stream, addr)) => return (HalfCloseStream(stream), addr),
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

struct HalfCloseStream(tokio::net::TcpStream);

impl tokio::io::AsyncRead for HalfCloseStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.0).poll_read(cx, buf) {
            // End of file: never reported (see the listener).
            Poll::Ready(Ok(())) if buf.filled().len() == before && buf.remaining() > 0 => {
                Poll::Pending
            }
            other => other,
        }
    }
}

impl tokio::io::AsyncWrite for HalfCloseStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

// ------------------------------------------------------------------------------------------------
// State

struct Fake {
    faults: Vec<Fault>,
    db: Mutex<Db>,
    /// Rendered PNGs by size (the upscaled ones are big enough to be worth keeping).
    thumbnails: Mutex<HashMap<(u32, u32), Bytes>>,
    /// Under [`Fault::WritesMediaInPlace`]: content-addressed files, as written so far.
    files: Mutex<HashMap<[u8; 32], Bytes>>,
    /// Under [`Fault::ThumbnailGenerationRace`]: thumbnails being generated, and done.
    generating: Mutex<HashSet<String>>,
    generated: Mutex<HashSet<String>>,
    /// For fetching preview pages.
    http: reqwest::Client,
}

#[derive(Default)]
struct Db {
    /// Access token → session.
    sessions: HashMap<String, Session>,
    /// Tokens that were logged out.
    revoked: HashSet<String>,
    /// Registered localparts.
    localparts: HashSet<String>,
    first_user: Option<String>,
    /// Media id → media (all local to `SERVER_NAME`).
    media: HashMap<String, Media>,
    guests: u64,
}

#[derive(Clone)]
struct Session {
    user_id: String,
    device_id: String,
    guest: bool,
}

struct Media {
    owner: String,
    /// `None` while pending (created, not uploaded).
    content: Option<Content>,
}

#[derive(Clone)]
struct Content {
    bytes: Bytes,
    content_type: String,
    /// The upload carried a Content-Type header.
    typed: bool,
    filename: Option<String>,
    /// Under [`Fault::WritesMediaInPlace`]: the SHA-256 of the file the bytes live in.
    file: Option<[u8; 32]>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A Matrix error (`{"errcode", "error"}`), rendered by [`Fake::render_error`].
struct MatrixError {
    status: u16,
    errcode: &'static str,
    message: String,
}

impl MatrixError {
    fn new(status: u16, errcode: &'static str, message: impl Into<String>) -> Self {
        MatrixError {
            status,
            errcode,
            message: message.into(),
        }
    }
}

type Reply = Result<Response, MatrixError>;

/// One parsed request.
struct Req {
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
    /// Upload, create or async PUT (for `UploadAcceptsInvalidToken`).
    uploads: bool,
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
    Logout,
    Whoami,
    Upload,
    Create,
    AsyncUpload {
        server: String,
        id: String,
    },
    Download {
        server: String,
        id: String,
        name: Option<String>,
    },
    Thumbnail {
        server: String,
        id: String,
    },
    Config,
    Preview,
    LegacyDownload {
        server: String,
        id: String,
        name: Option<String>,
    },
    LegacyThumbnail {
        server: String,
        id: String,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ThumbMethod {
    Scale,
    Crop,
}

async fn handle(State(fake): State<Arc<Fake>>, request: Request) -> Response {
    let mut response = match fake.dispatch(request).await {
        Ok(r) => r,
        Err(e) => fake.render_error(e),
    };
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
        .headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("fake-target/1"));
    response
}

// ------------------------------------------------------------------------------------------------
// Helpers

fn random_string(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; len];
    getrandom::fill(&mut bytes).expect("getrandom");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// A DNS name or IPv4 address, or a bracketed IPv6 address, with an optional port.
fn valid_server_name(name: &str) -> bool {
    let (host, port) = match name.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(':') && (!h.starts_with('[') || h.ends_with(']')) => {
            (h, Some(p))
        }
        _ => (name, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty()
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !host.is_empty()
            && host.len() <= 255
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    port_ok && host_ok
}

fn valid_media_id(id: &str, allow_dot: bool) -> bool {
    !id.is_empty()
        && id.bytes().all(|b| {
            b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (allow_dot && b == b'.')
        })
}

/// RFC 7230 `token`: such a file name can go in `filename=` unquoted.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
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

/// `content="…"` of the first `<meta>` naming `property`.
fn og_value(page: &str, property: &str) -> Option<String> {
    let at = page.find(&format!("\"{property}\""))?;
    let rest = &page[at..];
    let start = rest.find("content=\"")? + "content=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
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

// ------------------------------------------------------------------------------------------------
// The server

impl Fake {
    fn has(&self, fault: Fault) -> bool {
        self.faults.contains(&fault)
    }

    /// A Matrix error: standard JSON, or plain text under `ErrorsNotJson`.
    fn render_error(&self, e: MatrixError) -> Response {
        let MatrixError {
            status,
            errcode,
            mut message,
        } = e;
        if self.has(Fault::ScriptInErrors) {
            message.push(' ');
            message.push_str(HOSTILE_TEXT);
        }
        if self.has(Fault::ErrorsNotJson) {
            response(
                status,
                &[(header::CONTENT_TYPE, "text/plain; charset=utf-8".into())],
                format!("{errcode}: {message}"),
            )
        } else if self.has(Fault::ErrorsWithoutMessage) {
            json_response(status, &json!({"errcode": errcode}))
        } else {
            json_response(status, &json!({"errcode": errcode, "error": message}))
        }
    }

    async fn dispatch(&self, request: Request) -> Reply {
        let (parts, body) = request.into_parts();
        // Read the whole body first, then answer (also for uploads over the limit).
        let body = axum::body::to_bytes(body, 8 * UPLOAD_LIMIT)
            .await
            .map_err(|_| MatrixError::new(413, "M_TOO_LARGE", "request body too large"))?;
        if parts.method == Method::OPTIONS {
            return Ok(self.preflight());
        }
        let segs: Vec<String> = parts
            .uri
            .path()
            .split('/')
            .skip(1)
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .collect();
        let Some((endpoint, method)) = self.route(&segs) else {
            return Err(MatrixError::new(
                404,
                "M_UNRECOGNIZED",
                "Unrecognized request",
            ));
        };
        if parts.method != method {
            return Err(MatrixError::new(
                405,
                "M_UNRECOGNIZED",
                "Unrecognized request method",
            ));
        }
        let not_served = match endpoint {
            Endpoint::Preview => self.has(Fault::PreviewsNotServed),
            Endpoint::Create => self.has(Fault::CreateNotServed),
            _ => false,
        };
        if not_served {
            return Err(MatrixError::new(
                404,
                "M_UNRECOGNIZED",
                "Unrecognized request",
            ));
        }
        let uploads = matches!(
            endpoint,
            Endpoint::Upload | Endpoint::Create | Endpoint::AsyncUpload { .. }
        );
        let req = Req {
            query: parse_query(parts.uri.query()),
            headers: parts.headers,
            body,
            uploads,
        };
        match endpoint {
            Endpoint::Versions => Ok(json_response(
                200,
                &json!({"versions": ["v1.11", "v1.12", "v1.13"], "unstable_features": {"org.matrix.msc3916.stable": true}}),
            )),
            Endpoint::FederationVersion if self.has(Fault::NoFederationVersion) => Err(
                MatrixError::new(404, "M_UNRECOGNIZED", "Unrecognized request"),
            ),
            Endpoint::FederationVersion => Ok(json_response(
                200,
                &json!({"server": {"name": "FakeTarget", "version": "0"}}),
            )),
            Endpoint::Register => self.register(&req),
            Endpoint::Logout => self.logout(&req),
            Endpoint::Whoami => {
                let s = self.caller(&req)?;
                Ok(json_response(
                    200,
                    &json!({"user_id": s.user_id, "device_id": s.device_id, "is_guest": s.guest}),
                ))
            }
            Endpoint::Upload => self.upload(&req).await,
            Endpoint::Create => self.create(&req),
            Endpoint::AsyncUpload { server, id } => self.async_upload(&req, &server, &id),
            Endpoint::Download { server, id, name } => {
                self.guest_may_read(&self.caller(&req)?)?;
                self.download(&req, &server, &id, name.as_deref()).await
            }
            Endpoint::Thumbnail { server, id } => {
                self.guest_may_read(&self.caller(&req)?)?;
                self.thumbnail(&req, &server, &id).await
            }
            Endpoint::Config => {
                self.config_or_preview_caller(&req)?;
                let size = if self.has(Fault::ConfigNotInteger) {
                    json!(UPLOAD_LIMIT.to_string())
                } else {
                    json!(UPLOAD_LIMIT)
                };
                Ok(json_response(200, &json!({"m.upload.size": size})))
            }
            Endpoint::Preview => {
                let s = self.config_or_preview_caller(&req)?;
                self.preview(&req, &s).await
            }
            Endpoint::LegacyDownload { server, id, name } => {
                if self.has(Fault::DeprecatedRedirects) {
                    let tail = name
                        .map(|n| format!("/{}", utf8_percent_encode(&n, NON_ALPHANUMERIC)))
                        .unwrap_or_default();
                    let location = format!("/_matrix/client/v1/media/download/{server}/{id}{tail}");
                    return Ok(response(
                        307,
                        &[(header::LOCATION, location)],
                        Body::empty(),
                    ));
                }
                if self.has(Fault::NotFrozen) {
                    return self.download(&req, &server, &id, name.as_deref()).await;
                }
                if self.has(Fault::DeprecatedAnswersAPage) {
                    let page = "<html><body>Use /_matrix/client/v1/media/download</body></html>";
                    return Ok(response(
                        200,
                        &[(header::CONTENT_TYPE, "text/html".to_string())],
                        Body::from(page),
                    ));
                }
                Err(MatrixError::new(
                    404,
                    "M_NOT_FOUND",
                    "Not found (media is frozen on this endpoint)",
                ))
            }
            Endpoint::LegacyThumbnail { server, id } => {
                if self.has(Fault::NotFrozen) {
                    return self.thumbnail(&req, &server, &id).await;
                }
                Err(MatrixError::new(
                    404,
                    "M_NOT_FOUND",
                    "Not found (media is frozen on this endpoint)",
                ))
            }
        }
    }

    fn route(&self, segs: &[String]) -> Option<(Endpoint, Method)> {
        let s: Vec<&str> = segs.iter().map(String::as_str).collect();
        let own = |x: &str| x.to_string();
        Some(match s.as_slice() {
            ["_matrix", "client", "versions"] => (Endpoint::Versions, Method::GET),
            ["_matrix", "federation", "v1", "version"] => {
                (Endpoint::FederationVersion, Method::GET)
            }
            ["_matrix", "client", "v3", "register"] => (Endpoint::Register, Method::POST),
            ["_matrix", "client", "v3", "logout"] => (Endpoint::Logout, Method::POST),
            ["_matrix", "client", "v3", "account", "whoami"] => (Endpoint::Whoami, Method::GET),
            ["_matrix", "media", "v3", "upload"] => (Endpoint::Upload, Method::POST),
            ["_matrix", "media", "v1", "create"] => (Endpoint::Create, Method::POST),
            ["_matrix", "media", "v3", "upload", server, id] => (
                Endpoint::AsyncUpload {
                    server: own(server),
                    id: own(id),
                },
                Method::PUT,
            ),
            ["_matrix", "client", "v1", "media", "download", server, id] => (
                Endpoint::Download {
                    server: own(server),
                    id: own(id),
                    name: None,
                },
                Method::GET,
            ),
            [
                "_matrix",
                "client",
                "v1",
                "media",
                "download",
                server,
                id,
                name,
            ] if !self.has(Fault::NoFileNameRoute) => (
                Endpoint::Download {
                    server: own(server),
                    id: own(id),
                    name: Some(own(name)),
                },
                Method::GET,
            ),
            ["_matrix", "client", "v1", "media", "thumbnail", server, id] => (
                Endpoint::Thumbnail {
                    server: own(server),
                    id: own(id),
                },
                Method::GET,
            ),
            ["_matrix", "client", "v1", "media", "config"] => (Endpoint::Config, Method::GET),
            ["_matrix", "client", "v1", "media", "preview_url"] => (Endpoint::Preview, Method::GET),
            ["_matrix", "media", "v3", "download", server, id] => (
                Endpoint::LegacyDownload {
                    server: own(server),
                    id: own(id),
                    name: None,
                },
                Method::GET,
            ),
            ["_matrix", "media", "v3", "download", server, id, name] => (
                Endpoint::LegacyDownload {
                    server: own(server),
                    id: own(id),
                    name: Some(own(name)),
                },
                Method::GET,
            ),
            ["_matrix", "media", "v3", "thumbnail", server, id] => (
                Endpoint::LegacyThumbnail {
                    server: own(server),
                    id: own(id),
                },
                Method::GET,
            ),
            ["_matrix", "media", "v3", "config"] if !self.has(Fault::DeprecatedConfigRemoved) => {
                (Endpoint::Config, Method::GET)
            }
            ["_matrix", "media", "v3", "preview_url"] => (Endpoint::Preview, Method::GET),
            _ => return None,
        })
    }

    fn preflight(&self) -> Response {
        if self.has(Fault::OptionsNeedsAuth) {
            return self.render_error(MatrixError::new(
                401,
                "M_MISSING_TOKEN",
                "Missing access token",
            ));
        }
        let mut headers = vec![(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            "X-Requested-With, Content-Type, Authorization".to_string(),
        )];
        if !self.has(Fault::PreflightWithoutMethods) {
            headers.push((
                header::ACCESS_CONTROL_ALLOW_METHODS,
                "GET, HEAD, POST, PUT, DELETE, OPTIONS".to_string(),
            ));
        }
        response(204, &headers, Body::empty())
    }

    // --- accounts ------------------------------------------------------------------------------

    /// The session of the request's access token (header or query; guests included).
    fn caller(&self, req: &Req) -> Result<Session, MatrixError> {
        let from_header = req
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_string);
        let from_query = if self.has(Fault::QueryTokenRejected) {
            None
        } else {
            req.q("access_token").map(str::to_string)
        };
        let token = match (from_header, from_query) {
            (Some(_), Some(_)) => {
                return Err(MatrixError::new(
                    401,
                    "M_MISSING_TOKEN",
                    "Mixing Authorization headers and access_token query parameters",
                ));
            }
            (Some(t), None) | (None, Some(t)) => t,
            (None, None) => {
                let errcode = if self.has(Fault::MissingTokenWrongErrcode) {
                    "M_UNKNOWN_TOKEN"
                } else {
                    "M_MISSING_TOKEN"
                };
                return Err(MatrixError::new(401, errcode, "Missing access token"));
            }
        };
        let db = lock(&self.db);
        if let Some(s) = db.sessions.get(&token) {
            return Ok(s.clone());
        }
        let lax_here = self.has(Fault::UploadAcceptsInvalidToken) && req.uploads;
        if (self.has(Fault::AcceptInvalidToken) || lax_here)
            && !db.revoked.contains(&token)
            && let Some(user) = &db.first_user
        {
            return Ok(Session {
                user_id: user.clone(),
                device_id: "FAKEDEVICE".into(),
                guest: false,
            });
        }
        Err(MatrixError::new(
            401,
            "M_UNKNOWN_TOKEN",
            "Unknown access token",
        ))
    }

    fn guest_forbidden(&self) -> MatrixError {
        MatrixError::new(
            403,
            "M_GUEST_ACCESS_FORBIDDEN",
            "Guest access is not allowed on this endpoint",
        )
    }

    /// Download and thumbnail: guests are allowed (v1.12).
    fn guest_may_read(&self, s: &Session) -> Result<(), MatrixError> {
        if s.guest && self.has(Fault::GuestCannotDownload) {
            Err(self.guest_forbidden())
        } else {
            Ok(())
        }
    }

    /// Upload, create and async upload: no guests.
    fn uploader(&self, req: &Req) -> Result<Session, MatrixError> {
        let s = self.caller(req)?;
        if s.guest && !self.has(Fault::GuestCanUpload) {
            Err(self.guest_forbidden())
        } else {
            Ok(s)
        }
    }

    /// Config and preview_url: no guests.
    fn config_or_preview_caller(&self, req: &Req) -> Result<Session, MatrixError> {
        let s = self.caller(req)?;
        if s.guest && !self.has(Fault::GuestCanUseConfigAndPreview) {
            Err(self.guest_forbidden())
        } else {
            Ok(s)
        }
    }

    fn register(&self, req: &Req) -> Reply {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or_else(|_| json!({}));
        let field = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
        let mut db = lock(&self.db);
        let guest = req.q("kind") == Some("guest");
        let (localpart, device_id) = if guest {
            db.guests += 1;
            if self.has(Fault::GuestHonoursBody) {
                (
                    field("username").unwrap_or_else(|| format!("guest{}", db.guests)),
                    field("device_id").unwrap_or_else(|| random_string(10)),
                )
            } else {
                (format!("guest{}", db.guests), random_string(10))
            }
        } else {
            let auth_type = body
                .get("auth")
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str);
            if auth_type != Some("m.login.dummy") {
                // User-interactive authentication: one stage, the dummy one. Always JSON.
                return Ok(json_response(
                    401,
                    &json!({"flows": [{"stages": ["m.login.dummy"]}], "params": {}, "session": "s"}),
                ));
            }
            let localpart = field("username").unwrap_or_else(|| random_string(8).to_lowercase());
            if db.localparts.contains(&localpart) {
                return Err(MatrixError::new(
                    400,
                    "M_USER_IN_USE",
                    "User ID already taken",
                ));
            }
            (
                localpart,
                field("device_id").unwrap_or_else(|| random_string(10)),
            )
        };
        db.localparts.insert(localpart.clone());
        let user_id = format!("@{localpart}:{SERVER_NAME}");
        if !guest && db.first_user.is_none() {
            db.first_user = Some(user_id.clone());
        }
        let token = format!("fake_{}", random_string(32));
        db.sessions.insert(
            token.clone(),
            Session {
                user_id: user_id.clone(),
                device_id: device_id.clone(),
                guest,
            },
        );
        Ok(json_response(
            200,
            &json!({"user_id": user_id, "access_token": token, "device_id": device_id}),
        ))
    }

    fn logout(&self, req: &Req) -> Reply {
        self.caller(req)?;
        if !self.has(Fault::LoggedOutStillValid) {
            let token = req
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .or_else(|| req.q("access_token"))
                .unwrap_or_default()
                .to_string();
            let mut db = lock(&self.db);
            db.sessions.remove(&token);
            db.revoked.insert(token);
        }
        Ok(json_response(200, &json!({})))
    }

    // --- upload ---------------------------------------------------------------------------------

    fn new_media_id(&self) -> String {
        let id = random_string(24);
        if self.has(Fault::UnsafeMediaIds) {
            format!("{}.{}", &id[..12], &id[12..])
        } else {
            id
        }
    }

    fn check_size(&self, req: &Req) -> Result<(), MatrixError> {
        if req.body.len() > UPLOAD_LIMIT {
            return Err(MatrixError::new(
                413,
                "M_TOO_LARGE",
                "Upload is larger than m.upload.size",
            ));
        }
        Ok(())
    }

    fn content_of(&self, req: &Req) -> Result<Content, MatrixError> {
        let content_type = match req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
        {
            Some(ct) => ct.to_string(),
            None if self.has(Fault::UploadRequiresContentType) => {
                return Err(MatrixError::new(
                    400,
                    "M_MISSING_PARAM",
                    "Content-Type is required",
                ));
            }
            None => "application/octet-stream".to_string(),
        };
        Ok(Content {
            bytes: req.body.clone(),
            typed: req.headers.contains_key(header::CONTENT_TYPE),
            content_type,
            filename: req.q("filename").map(str::to_string),
            file: None,
        })
    }

    async fn upload(&self, req: &Req) -> Reply {
        let s = self.uploader(req)?;
        self.check_size(req)?;
        let mut content = self.content_of(req)?;
        if self.has(Fault::WritesMediaInPlace) {
            content.file = Some(self.write_in_place(&content.bytes).await);
        }
        let id = self.new_media_id();
        lock(&self.db).media.insert(
            id.clone(),
            Media {
                owner: s.user_id,
                content: Some(content),
            },
        );
        Ok(json_response(
            200,
            &json!({"content_uri": format!("mxc://{SERVER_NAME}/{id}")}),
        ))
    }

    /// Writes `bytes` to its content-addressed file the racy way: truncate, then append 64 KiB
    /// a millisecond, while readers see whatever is there.
    async fn write_in_place(&self, bytes: &Bytes) -> [u8; 32] {
        use sha2::Digest;
        let sha: [u8; 32] = sha2::Sha256::digest(bytes).into();
        const CHUNK: usize = 64 * 1024;
        lock(&self.files).insert(sha, Bytes::new());
        let mut end = 0;
        while end < bytes.len() {
            end = (end + CHUNK).min(bytes.len());
            lock(&self.files).insert(sha, bytes.slice(..end));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        sha
    }

    /// The bytes of the media's file as they are now (under [`Fault::WritesMediaInPlace`]).
    fn file_now(&self, content: &Content) -> Option<Bytes> {
        content
            .file
            .and_then(|sha| lock(&self.files).get(&sha).cloned())
    }

    /// Under [`Fault::ThumbnailGenerationRace`]: the first request for a size generates it for
    /// 50 ms; the others meanwhile get 500.
    async fn generate_once(&self, key: String) -> Result<(), MatrixError> {
        if !self.has(Fault::ThumbnailGenerationRace) || lock(&self.generated).contains(&key) {
            return Ok(());
        }
        if !lock(&self.generating).insert(key.clone()) {
            return Err(MatrixError::new(
                500,
                "M_UNKNOWN",
                "thumbnail generation in progress",
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        lock(&self.generating).remove(&key);
        lock(&self.generated).insert(key);
        Ok(())
    }

    fn create(&self, req: &Req) -> Reply {
        let s = self.uploader(req)?;
        let id = self.new_media_id();
        lock(&self.db).media.insert(
            id.clone(),
            Media {
                owner: s.user_id,
                content: None,
            },
        );
        let expires = if self.has(Fault::ExpiresInPast) {
            now_ms() - 3_600_000
        } else {
            now_ms() + 24 * 3_600_000
        };
        Ok(json_response(
            200,
            &json!({"content_uri": format!("mxc://{SERVER_NAME}/{id}"), "unused_expires_at": expires}),
        ))
    }

    fn async_upload(&self, req: &Req, server: &str, id: &str) -> Reply {
        if self.has(Fault::GuestCanPutCreatedMedia) && self.caller(req).is_ok_and(|s| s.guest) {
            let content = self.content_of(req)?;
            if let Some(m) = lock(&self.db).media.get_mut(id) {
                m.content = Some(content);
                return Ok(json_response(200, &json!({})));
            }
        }
        let s = self.uploader(req)?;
        self.check_size(req)?;
        let lax = self.has(Fault::PutNoExistenceCheck);
        if server != SERVER_NAME && !lax {
            return Err(MatrixError::new(
                404,
                "M_NOT_FOUND",
                "Media is not local to this server",
            ));
        }
        let content = self.content_of(req)?;
        let mut db = lock(&self.db);
        match db.media.get_mut(id) {
            None if lax => {
                db.media.insert(
                    id.to_string(),
                    Media {
                        owner: s.user_id,
                        content: Some(content),
                    },
                );
            }
            None => return Err(MatrixError::new(404, "M_NOT_FOUND", "Unknown media id")),
            Some(m) => {
                if m.owner != s.user_id && !self.has(Fault::NoOwnerCheck) {
                    return Err(MatrixError::new(
                        403,
                        "M_FORBIDDEN",
                        "Media was created by another user",
                    ));
                }
                if m.content.is_some() && !self.has(Fault::NoOverwriteCheck) {
                    return Err(MatrixError::new(
                        409,
                        "M_CANNOT_OVERWRITE_MEDIA",
                        "Media already uploaded",
                    ));
                }
                m.content = Some(content);
            }
        }
        if self.has(Fault::PutAnswersNonObject) {
            return Ok(json_response(200, &json!([])));
        }
        Ok(json_response(200, &json!({})))
    }

    // --- download -------------------------------------------------------------------------------

    /// `Ok(true)` when the ids are unsafe but the fault lets them through to be served.
    fn check_ids(&self, server: &str, id: &str) -> Result<bool, MatrixError> {
        let crash = || MatrixError::new(500, "M_UNKNOWN", "Internal server error");
        if !valid_server_name(server) {
            return if self.has(Fault::ServerNameNotSanitised) {
                Ok(true)
            } else if self.has(Fault::InvalidIdsCrash) {
                Err(crash())
            } else {
                Err(MatrixError::new(
                    400,
                    "M_INVALID_PARAM",
                    "Invalid server name",
                ))
            };
        }
        if !valid_media_id(id, self.has(Fault::UnsafeMediaIds)) {
            return if self.has(Fault::MediaIdNotSanitised) {
                Ok(true)
            } else if self.has(Fault::InvalidIdsCrash) {
                Err(crash())
            } else {
                Err(MatrixError::new(400, "M_INVALID_PARAM", "Invalid media id"))
            };
        }
        Ok(false)
    }

    /// The media's content, waiting up to `timeout_ms` (capped) while it is pending.
    async fn content(&self, req: &Req, server: &str, id: &str) -> Result<Content, MatrixError> {
        if self.check_ids(server, id)? {
            // The unsanitised path reached the file system: a file outside the media store.
            return Ok(Content {
                bytes: Bytes::from_static(b"root:x:0:0:root:/root:/bin/sh\n"),
                content_type: "text/plain".into(),
                typed: true,
                filename: None,
                file: None,
            });
        }
        if server != SERVER_NAME {
            return Err(MatrixError::new(
                404,
                "M_NOT_FOUND",
                "Remote media is not available from this fake",
            ));
        }
        let wait = req
            .q("timeout_ms")
            .and_then(|t| t.parse::<u64>().ok())
            .map_or(Duration::from_secs(20), Duration::from_millis)
            .min(PENDING_WAIT_CAP);
        let deadline = Instant::now() + wait;
        loop {
            let found = lock(&self.db).media.get(id).map(|m| m.content.clone());
            match found {
                None => return Err(MatrixError::new(404, "M_NOT_FOUND", "Media not found")),
                Some(Some(content)) => return Ok(content),
                Some(None) if self.has(Fault::PendingReturns404) => {
                    return Err(MatrixError::new(404, "M_NOT_FOUND", "Media not found"));
                }
                Some(None) if Instant::now() >= deadline => {
                    return Err(MatrixError::new(
                        504,
                        "M_NOT_YET_UPLOADED",
                        "Media has not been uploaded yet",
                    ));
                }
                Some(None) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// The `filename` / `filename*` parameter for a name.
    fn filename_param(&self, name: &str) -> String {
        if self.has(Fault::AsciiOnlyFilenames) && !name.is_ascii() {
            let lossy: String = name
                .chars()
                .map(|c| if c.is_ascii() { c } else { '?' })
                .collect();
            format!("filename=\"{lossy}\"")
        } else if is_token(name) {
            format!("filename={name}")
        } else {
            format!(
                "filename*=utf-8''{}",
                utf8_percent_encode(name, ATTR_CHAR_ENCODE)
            )
        }
    }

    /// CSP, CORP and Cache-Control, as the faults allow.
    fn security_headers(&self, headers: &mut Vec<(header::HeaderName, String)>) {
        if !self.has(Fault::NoCsp) {
            headers.push((header::CONTENT_SECURITY_POLICY, CSP.into()));
        }
        if !self.has(Fault::NoCorp) {
            headers.push((
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin".into(),
            ));
        }
        headers.push((header::CACHE_CONTROL, "private, max-age=60".into()));
    }

    async fn download(&self, req: &Req, server: &str, id: &str, path_name: Option<&str>) -> Reply {
        let content = self.content(req, server, id).await?;
        let mut bytes = self
            .file_now(&content)
            .unwrap_or_else(|| content.bytes.clone())
            .to_vec();
        if self.has(Fault::WrongBytes)
            && let Some(last) = bytes.last_mut()
        {
            *last ^= 0xFF;
        }
        let media_type = if self.has(Fault::InlineAllowListWithParams) {
            content.content_type.to_ascii_lowercase()
        } else {
            essence(&content.content_type)
        };
        let inline = SAFE_INLINE_TYPES.contains(&media_type.as_str())
            || (self.has(Fault::HtmlInline) && media_type == "text/html");
        let name = match path_name {
            Some(n) if !self.has(Fault::IgnorePathFileName) => Some(n.to_string()),
            _ => content.filename.clone(),
        };
        let name = if self.has(Fault::NoFilename) {
            None
        } else if self.has(Fault::InventedFilename) {
            name.or_else(|| Some("file".to_string()))
        } else {
            name
        };
        let mut headers = Vec::new();
        if !self.has(Fault::NoContentType) {
            let served = if self.has(Fault::UntypedServedAsJson) && !content.typed {
                "application/json".to_string()
            } else {
                content.content_type.clone()
            };
            headers.push((header::CONTENT_TYPE, served));
        }
        if !self.has(Fault::NoDisposition) {
            let kind = if inline { "inline" } else { "attachment" };
            let kind = match path_name {
                Some(_) if self.has(Fault::PathNameDispositionWithoutType) => "",
                _ => kind,
            };
            let value = match &name {
                Some(n) if kind.is_empty() => self.filename_param(n),
                Some(n) => format!("{kind}; {}", self.filename_param(n)),
                None => kind.to_string(),
            };
            headers.push((header::CONTENT_DISPOSITION, value));
        }
        self.security_headers(&mut headers);
        Ok(response(200, &headers, bytes))
    }

    // --- thumbnails -----------------------------------------------------------------------------

    fn dimension(&self, req: &Req, name: &str) -> Result<u32, MatrixError> {
        match req.q(name) {
            None if self.has(Fault::BadParamsOk) => Ok(96),
            None => Err(MatrixError::new(
                400,
                "M_MISSING_PARAM",
                format!("Missing {name}"),
            )),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if n >= 0 => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
                _ if self.has(Fault::InvalidParamsOk) => Ok(96),
                _ => Err(MatrixError::new(
                    400,
                    "M_INVALID_PARAM",
                    format!("{name} must be a non-negative integer"),
                )),
            },
        }
    }

    async fn thumbnail(&self, req: &Req, server: &str, id: &str) -> Reply {
        let (width, height) = (
            self.dimension(req, "width")?,
            self.dimension(req, "height")?,
        );
        let method = match req.q("method") {
            None | Some("scale") => ThumbMethod::Scale,
            Some("crop") => ThumbMethod::Crop,
            Some(_) if self.has(Fault::BogusMethodFallsBack) => ThumbMethod::Scale,
            Some(_) => {
                return Err(MatrixError::new(
                    400,
                    "M_INVALID_PARAM",
                    "method must be crop or scale",
                ));
            }
        };
        let animated = match req.q("animated") {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => {
                return Err(MatrixError::new(
                    400,
                    "M_INVALID_PARAM",
                    "animated must be true or false",
                ));
            }
        };
        let content = self.content(req, server, id).await?;
        if let Some(now) = self.file_now(&content)
            && now.len() < content.bytes.len()
        {
            // The thumbnailer read a file still being written: an empty thumbnail.
            let png = "image/png".to_string();
            return Ok(self.thumbnail_response(png, "thumbnail.png", Bytes::new()));
        }
        let method_name = req.q("method").unwrap_or("scale");
        if content.bytes.len() > 1024 * 1024 {
            // Only big images take long enough to generate for requests to overlap.
            self.generate_once(format!("{id}/{width}x{height}/{method_name}"))
                .await?;
        }
        if self.has(Fault::NoThumbnailAbove800x600) && (width > 800 || height > 600) {
            return Err(MatrixError::new(
                400,
                "M_UNKNOWN",
                "Cannot generate thumbnail",
            ));
        }
        let Ok(info) = decode_info(&content.bytes) else {
            if self.has(Fault::ThumbnailServesNonImage) && (width > 800 || height > 600) {
                let mut headers = vec![
                    (header::CONTENT_TYPE, content.content_type.clone()),
                    (header::CONTENT_DISPOSITION, "attachment".to_string()),
                ];
                self.security_headers(&mut headers);
                return Ok(response(200, &headers, content.bytes.to_vec()));
            }
            if self.has(Fault::ThumbnailOfNonImageIsOriginal) {
                let png = "image/png".to_string();
                return Ok(self.thumbnail_response(png, "thumbnail.png", content.bytes.clone()));
            }
            return Err(MatrixError::new(
                400,
                "M_UNKNOWN",
                "Cannot generate thumbnails for this media",
            ));
        };
        let original = |me: &Self| {
            let ext = content
                .content_type
                .rsplit('/')
                .next()
                .unwrap_or("bin")
                .to_string();
            me.thumbnail_response(
                content.content_type.clone(),
                &format!("thumbnail.{ext}"),
                content.bytes.clone(),
            )
        };
        let animated = animated && !self.has(Fault::StaticForAnimatedTrue);
        if info.format == ImageFormat::Gif
            && info.animated
            && (animated || self.has(Fault::AnimatedAlways))
        {
            return Ok(original(self));
        }
        let (sw, sh) = (info.width.max(1), info.height.max(1));
        let upscale = self.has(Fault::UpscaleThumbnails);
        // Scale: the smallest size at least as big as asked that keeps the source aspect.
        let factor = (f64::from(width) / f64::from(sw)).max(f64::from(height) / f64::from(sh));
        let scaled = || {
            let w = (f64::from(sw) * factor).ceil() as u32;
            let h = (f64::from(sh) * factor).ceil() as u32;
            (w.min(sw), h.min(sh))
        };
        let (w, h) = match method {
            ThumbMethod::Scale | ThumbMethod::Crop if upscale && (width > sw || height > sh) => {
                (width, height)
            }
            ThumbMethod::Scale
                if self.has(Fault::SmallScaleSquare) && width <= 32 && height <= 32 =>
            {
                (width, height)
            }
            ThumbMethod::Scale if factor >= 1.0 => return Ok(original(self)),
            ThumbMethod::Scale => scaled(),
            ThumbMethod::Crop if self.has(Fault::CropKeepsAspect) => scaled(),
            ThumbMethod::Crop => (width.min(sw), height.min(sh)),
        };
        let (w, h) = if self.has(Fault::SmallThumbnails) {
            (w / 2, h / 2)
        } else {
            (w, h)
        };
        let (w, h) = (w.clamp(1, MAX_RENDER), h.clamp(1, MAX_RENDER));
        let png = self.render(w, h);
        let content_type = if self.has(Fault::ThumbnailMislabelled) {
            "image/jpeg".to_string()
        } else if self.has(Fault::ThumbnailTypeFromSource) {
            content.content_type.clone()
        } else {
            "image/png".to_string()
        };
        Ok(self.thumbnail_response(content_type, "thumbnail.png", png))
    }

    fn render(&self, w: u32, h: u32) -> Bytes {
        let mut cache = lock(&self.thumbnails);
        cache
            .entry((w, h))
            .or_insert_with(|| Bytes::from(png::solid_rgb(w, h, [0x20, 0x80, 0xC0])))
            .clone()
    }

    fn thumbnail_response(&self, content_type: String, filename: &str, bytes: Bytes) -> Response {
        let kind = if self.has(Fault::ThumbnailAttachment) {
            "attachment"
        } else {
            "inline"
        };
        let disposition = if self.has(Fault::ThumbnailNoFilename) {
            kind.to_string()
        } else {
            format!("{kind}; filename={filename}")
        };
        let mut headers = vec![
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ];
        self.security_headers(&mut headers);
        response(200, &headers, bytes)
    }

    // --- URL previews ---------------------------------------------------------------------------

    async fn preview(&self, req: &Req, s: &Session) -> Reply {
        if self.has(Fault::PreviewRefusesUsers) {
            return Err(MatrixError::new(401, "M_UNKNOWN_TOKEN", "Unknown token"));
        }
        let Some(url) = req.q("url") else {
            return Err(MatrixError::new(400, "M_MISSING_PARAM", "Missing url"));
        };
        let fail =
            |e: String| MatrixError::new(502, "M_UNKNOWN", format!("Cannot preview {url}: {e}"));
        let page_url = reqwest::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        let page = self
            .http
            .get(page_url.clone())
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let page = page.text().await.map_err(|e| fail(e.to_string()))?;
        let mut answer = serde_json::Map::new();
        if let Some(title) = og_value(&page, "og:title") {
            answer.insert("og:title".into(), json!(title));
        }
        if let Some(image) = og_value(&page, "og:image")
            && !self.has(Fault::PreviewWithoutImage)
        {
            let image_url = page_url.join(&image).map_err(|e| fail(e.to_string()))?;
            let r = self
                .http
                .get(image_url.clone())
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let content_type = r
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_string();
            let bytes = r.bytes().await.map_err(|e| fail(e.to_string()))?;
            let size = bytes.len();
            let id = self.new_media_id();
            lock(&self.db).media.insert(
                id.clone(),
                Media {
                    owner: s.user_id.clone(),
                    content: Some(Content {
                        bytes,
                        content_type,
                        typed: true,
                        filename: None,
                        file: None,
                    }),
                },
            );
            let image_value = if self.has(Fault::PreviewImageNotMxc) {
                image_url.to_string()
            } else {
                format!("mxc://{SERVER_NAME}/{id}")
            };
            answer.insert("og:image".into(), json!(image_value));
            answer.insert("matrix:image:size".into(), json!(size));
        }
        Ok(json_response(200, &Value::Object(answer)))
    }
}
