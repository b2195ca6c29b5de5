//! The mock remote homeserver ("peer", `$MOCK` in the checklist) served over HTTPS.
//!
//! What it does: [`Peer::start`] binds the listen address, generates a CA and leaf certificate
//! ([`super::tls`]), writes the CA PEM for the operator (the target must trust it, e.g.
//! Synapse's `federation_custom_ca_list`), and serves with axum over axum-server/rustls:
//! * `GET /_matrix/key/v2/server` and the pre-v1.7 `GET /_matrix/key/v2/server/{keyId}`: the
//!   self-signed key document ([`super::key_document`]) with `valid_until_ts` = now + 24 h;
//! * anything else: `404 M_UNRECOGNIZED` (a known path with another method: `405
//!   M_UNRECOGNIZED`, as the spec asks).
//!
//! It records every request as an [`Observation`] (time, method, path, headers, remote address,
//! our status), counts key fetches, and supports key rotation (K-02): [`Peer::rotate`] publishes
//! a throw-away key beside the long-lived one and demotes the previous throw-away key to
//! `old_verify_keys` (the long-lived key is never demoted, so runs stay repeatable). A second key, listed only in `old_verify_keys` from the
//! start, is available for "signed with an old key" cases (F-23).
//!
//! What it does not do (yet): the mock media endpoints and their faults (a later issue; see the
//! marked place in [`router`]), notary endpoints (`/_matrix/key/v2/query`), request bodies in
//! observations, `.well-known` delegation, or plain HTTP (Synapse federates over TLS only).

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use tokio::task::JoinHandle;

use super::key_document::{
    KeyDocumentError, OldKey, server_key_document, server_key_document_with,
};
use super::media::Fixture;
use super::response::{json_response, matrix_error};
use super::signature::SignatureJudge;
use super::tls::{self, TlsError};
use crate::exchange::SignatureVerdict;
use crate::federation::signing_key::{KeyError, SigningKey, random_version};

/// How long the served key document claims to be valid.
pub const KEY_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Most requests kept; older ones are dropped first, so a flood cannot grow memory forever.
pub const MAX_OBSERVATIONS: usize = 20_000;
/// Longest header value kept in an observation (the rest is cut, marked with `…`).
const MAX_HEADER_VALUE: usize = 2048;

/// How long [`Peer::shutdown`] lets open connections finish.
const GRACE: Duration = Duration::from_secs(2);

/// What the peer needs to start.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The peer's server name as the target sees it, e.g. `127.0.0.1:9443`.
    pub server_name: String,
    /// The current signing key (published in `verify_keys`).
    pub key: SigningKey,
    /// Where to write the CA certificate (PEM).
    pub ca_out: PathBuf,
    /// Where the plain-HTTP CDN listener (`Location` targets) listens; `None`: no CDN listener.
    pub cdn_listen: Option<SocketAddr>,
    /// The host name in the CDN's URLs (`None`: its listen address), for a target that reaches
    /// this host under another name.
    pub cdn_host: Option<String>,
    /// The media bytes the scenarios serve (a PNG).
    pub media: Vec<u8>,
    /// Server name → base URL to fetch its key document from (to verify its signatures).
    pub key_sources: BTreeMap<String, String>,
    /// Files served as inline media (`mediaconf peer --fixtures`).
    pub fixtures: Vec<Fixture>,
    /// Every observation is also sent here as it is recorded (`mediaconf peer`'s log).
    pub log: Option<tokio::sync::mpsc::UnboundedSender<Observation>>,
}

impl PeerConfig {
    /// A key server only: no CDN listener, the built-in PNG, no fixtures, no log.
    pub fn new(listen: SocketAddr, server_name: &str, key: SigningKey, ca_out: PathBuf) -> Self {
        PeerConfig {
            listen,
            server_name: server_name.to_owned(),
            key,
            ca_out,
            cdn_listen: None,
            cdn_host: None,
            media: super::media::DEFAULT_PNG.to_vec(),
            key_sources: BTreeMap::new(),
            fixtures: Vec::new(),
            log: None,
        }
    }
}

/// One request the peer received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// Milliseconds since the peer started.
    pub at_ms: u64,
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Path and query as received, e.g. `/_matrix/key/v2/server?x=1`.
    pub path: String,
    /// Request headers in order (names lowercase; non-UTF-8 values lossily decoded).
    pub headers: Vec<(String, String)>,
    /// The client's address.
    pub remote: SocketAddr,
    /// The status code the peer answered with.
    pub status: u16,
    /// The verdict on the request's `X-Matrix` signature.
    pub signature: SignatureVerdict,
    /// What the peer answered, in a few words (`multipart, PNG inline (inline-bytes)`).
    pub answered: String,
}

impl Observation {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Errors starting the peer.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// Something else already listens on the address.
    #[error(
        "cannot listen on {addr}: address already in use (another process holds this port; stop it or pass --peer-listen with another port)"
    )]
    AddrInUse {
        /// The listen address.
        addr: SocketAddr,
    },
    /// Binding failed for another reason.
    #[error("cannot listen on {addr}: {source} ({hint})")]
    Bind {
        /// The listen address.
        addr: SocketAddr,
        /// The underlying error.
        source: io::Error,
        /// What to try.
        hint: &'static str,
    },
    /// Generating the certificates failed.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// rustls rejected the generated certificate or key.
    #[error("cannot load the generated tls certificate: {0}")]
    TlsConfig(io::Error),
    /// Writing the CA file failed.
    #[error(
        "cannot write the ca certificate to {}: {source} (check that the directory exists and is writable)",
        path.display()
    )]
    WriteCa {
        /// The CA output path.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Generating the old signing key failed.
    #[error("cannot generate the old signing key: {0}")]
    Key(#[from] KeyError),
    /// The configured key cannot be published (e.g. its ID clashes with the old key's).
    #[error(transparent)]
    KeyDocument(#[from] KeyDocumentError),
}

/// Mutable state shared by the handlers and the [`Peer`] handle.
#[derive(Debug)]
struct PeerState {
    /// The long-lived key (`--signing-key`): always in `verify_keys`, never demoted, so a
    /// target that caches our key document for its validity accepts it in the next run too.
    current: SigningKey,
    /// The throw-away key of the last rotation (K-02), published beside `current`.
    rotation: Option<SigningKey>,
    old: Vec<OldKey>,
    observations: std::collections::VecDeque<Observation>,
    key_fetches: usize,
    /// K-03: the key document claims to have expired an hour ago.
    expired: bool,
}

#[derive(Debug)]
pub(super) struct Shared {
    pub(super) server_name: String,
    started: Instant,
    state: Mutex<PeerState>,
    /// What the media endpoints serve.
    pub(super) media: Arc<super::media::MediaConfig>,
    judge: SignatureJudge,
    log: Option<tokio::sync::mpsc::UnboundedSender<Observation>>,
}

impl Shared {
    /// Locks the state; a panic in another holder does not make the data unusable here.
    fn lock(&self) -> MutexGuard<'_, PeerState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `[A-Za-z0-9]{8}` from the operating system's random source.
fn random_suffix() -> Result<String, KeyError> {
    // `random_version` gives `a_` + 4 random characters; two of them make 8.
    Ok(format!(
        "{}{}",
        &random_version()?[2..],
        &random_version()?[2..]
    ))
}

/// A running mock peer. Dropping it stops the server; [`Peer::shutdown`] stops it gracefully.
#[derive(Debug)]
pub struct Peer {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    ca_path: PathBuf,
    old_key: SigningKey,
    handle: axum_server::Handle<SocketAddr>,
    task: Option<JoinHandle<io::Result<()>>>,
    cdn_addr: Option<SocketAddr>,
    /// The host name in the CDN's URLs, when not its listen address.
    cdn_host: Option<String>,
    cdn_task: Option<JoinHandle<io::Result<()>>>,
}

impl Peer {
    /// Binds (error with a fix hint if the port is taken), generates TLS, writes the CA PEM to
    /// `ca_out`, serves HTTPS. Must be called inside a tokio runtime.
    pub async fn start(config: PeerConfig) -> Result<Peer, PeerError> {
        // Only aws-lc-rs is compiled into rustls here, but an explicit default avoids a panic
        // should another dependency ever enable a second provider. Already installed is fine.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();

        let listener = bind(config.listen)?;
        let local_addr = listener.local_addr().map_err(|source| PeerError::Bind {
            addr: config.listen,
            source,
            hint: "check the listen address",
        })?;

        let old_key = SigningKey::generate(&format!("mcold_{}", random_suffix()?))?;
        let old = vec![OldKey {
            key: old_key.clone(),
            expired_ts: now_ms(),
        }];
        // Fail now rather than on every request if the keys cannot be published.
        server_key_document(&config.server_name, &config.key, &old, now_ms())?;

        let (ca, _created) = load_or_create_ca(&config.ca_out)?;
        let (cert_pem, key_pem) = tls::issue_leaf(&config.server_name, &ca.key_pem)?;
        let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem(
            cert_pem.into_bytes(),
            key_pem.into_bytes(),
        )
        .await
        .map_err(PeerError::TlsConfig)?;

        let cdn_listener = match config.cdn_listen {
            Some(addr) => Some(bind(addr)?),
            None => None,
        };
        let cdn_bind_addr = config.cdn_listen.unwrap_or(local_addr);
        let cdn_error = move |source| PeerError::Bind {
            addr: cdn_bind_addr,
            source,
            hint: "check the --peer-cdn-listen address",
        };
        let cdn_addr = match &cdn_listener {
            Some(l) => Some(l.local_addr().map_err(cdn_error)?),
            None => None,
        };
        let media = super::media::MediaConfig {
            png: config.media,
            fixtures: config.fixtures,
            cdn_http: cdn_addr.map_or_else(
                || "http://127.0.0.1:9".to_owned(),
                |a| match &config.cdn_host {
                    Some(host) => format!("http://{host}:{}", a.port()),
                    None => format!("http://{a}"),
                },
            ),
            peer_https: format!("https://{}", config.server_name),
            server_name: config.server_name.clone(),
        };
        let shared = Arc::new(Shared {
            media: Arc::new(media),
            judge: SignatureJudge::new(config.key_sources),
            log: config.log,
            server_name: config.server_name,
            started: Instant::now(),
            state: Mutex::new(PeerState {
                current: config.key,
                rotation: None,
                old,
                observations: std::collections::VecDeque::new(),
                key_fetches: 0,
                expired: false,
            }),
        });

        let handle = axum_server::Handle::new();
        let mut server = axum_server::tls_rustls::from_tcp_rustls(listener, rustls_config)
            .map_err(|source| PeerError::Bind {
                addr: local_addr,
                source,
                hint: "check the listen address",
            })?
            .handle(handle.clone());
        // One flat write buffer instead of a queue of at most 16 buffers: a body of many small
        // frames (the one-byte-chunks scenario: 1,200 chunks) is then encoded into one buffer and
        // sent as a few TLS records, not as a TLS record and a writev per handful of chunks.
        // The HTTP framing the target parses is the same.
        server.http_builder().http1().writev(false);
        let app = router(shared.clone());
        let task =
            tokio::spawn(server.serve(app.into_make_service_with_connect_info::<SocketAddr>()));
        let cdn_task = match cdn_listener {
            Some(listener) => {
                listener.set_nonblocking(true).map_err(cdn_error)?;
                let listener = tokio::net::TcpListener::from_std(listener).map_err(cdn_error)?;
                let app =
                    cdn_router(shared.clone()).into_make_service_with_connect_info::<SocketAddr>();
                Some(tokio::spawn(
                    async move { axum::serve(listener, app).await },
                ))
            }
            None => None,
        };

        Ok(Peer {
            shared,
            local_addr,
            ca_path: config.ca_out,
            old_key,
            handle,
            task: Some(task),
            cdn_addr,
            cdn_host: config.cdn_host.clone(),
            cdn_task,
        })
    }

    /// The server name the peer signs as.
    pub fn server_name(&self) -> &str {
        &self.shared.server_name
    }

    /// The plain-HTTP CDN listener's address, when one was asked for.
    pub fn cdn_addr(&self) -> Option<SocketAddr> {
        self.cdn_addr
    }

    /// The address actually bound (the real port when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The host name in the CDN's URLs (`PeerConfig::cdn_host`), when one was given.
    pub fn cdn_host(&self) -> Option<&str> {
        self.cdn_host.as_deref()
    }

    /// Where the CA certificate was written.
    pub fn ca_path(&self) -> &Path {
        &self.ca_path
    }

    /// The key currently published in `verify_keys`.
    pub fn current_key(&self) -> SigningKey {
        self.shared.lock().current.clone()
    }

    /// A key listed only in `old_verify_keys` (generated at start, version `mcold_<random>`).
    pub fn old_key(&self) -> SigningKey {
        self.old_key.clone()
    }

    /// K-02: publishes a new throw-away key (version `mc_<random>`) in `verify_keys` beside
    /// the long-lived key; the previous throw-away key, if any, moves to `old_verify_keys` with
    /// `expired_ts` = now. The long-lived key is never demoted. Returns the new key.
    ///
    /// # Panics
    ///
    /// When the operating system's random source fails.
    pub fn rotate(&self) -> SigningKey {
        let suffix = random_suffix().expect("the operating system's random source failed");
        let new = SigningKey::generate(&format!("mc_{suffix}"))
            .expect("the operating system's random source failed");
        let mut state = self.shared.lock();
        if let Some(previous) = state.rotation.replace(new.clone()) {
            state.old.push(OldKey {
                key: previous,
                expired_ts: now_ms(),
            });
        }
        new
    }

    /// K-03: serve the key document with `valid_until_ts` an hour in the past (`true`) or with
    /// the usual validity (`false`).
    pub fn set_expired(&self, expired: bool) {
        self.shared.lock().expired = expired;
    }

    /// The throw-away key of the last rotation, if there was one.
    pub fn rotation_key(&self) -> Option<SigningKey> {
        self.shared.lock().rotation.clone()
    }

    /// Every request received so far (at most [`MAX_OBSERVATIONS`], the newest), in the order
    /// the answers were sent.
    pub fn observations(&self) -> Vec<Observation> {
        self.shared.lock().observations.iter().cloned().collect()
    }

    /// The requests for which `wanted` holds, without copying the others.
    pub fn observations_where(&self, wanted: impl Fn(&Observation) -> bool) -> Vec<Observation> {
        let state = self.shared.lock();
        state
            .observations
            .iter()
            .filter(|o| wanted(o))
            .cloned()
            .collect()
    }

    /// Number of key document requests (`GET /_matrix/key/v2/server[/{keyId}]`) answered.
    pub fn key_fetches(&self) -> usize {
        self.shared.lock().key_fetches
    }

    /// Stops accepting connections, lets open ones finish (at most 2 s) and waits for the server
    /// task to end.
    pub async fn shutdown(mut self) {
        self.handle.graceful_shutdown(Some(GRACE));
        if let Some(task) = self.cdn_task.take() {
            task.abort();
        }
        if let Some(task) = self.task.take() {
            // A panic or I/O error in the server task has nothing left to report to.
            let _ = task.await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        // Stops the accept loop and every connection task, then makes sure of it.
        self.handle.shutdown();
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(task) = self.cdn_task.take() {
            task.abort();
        }
    }
}

/// Binds a listener, with a fix hint for the usual failures.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, PeerError> {
    std::net::TcpListener::bind(addr).map_err(|source| match source.kind() {
        io::ErrorKind::AddrInUse => PeerError::AddrInUse { addr },
        io::ErrorKind::PermissionDenied => PeerError::Bind {
            addr,
            source,
            hint: "ports below 1024 need privileges; choose a port of 1024 or above",
        },
        io::ErrorKind::AddrNotAvailable => PeerError::Bind {
            addr,
            source,
            hint: "the ip address is not assigned to this machine; use 127.0.0.1 or 0.0.0.0",
        },
        _ => PeerError::Bind {
            addr,
            source,
            hint: "check the listen address",
        },
    })
}

/// The plain-HTTP CDN listener: `GET /cdn/{mediaId}` only.
fn cdn_router(shared: Arc<Shared>) -> Router {
    let media = Router::new()
        .route("/cdn/{media_id}", get(super::media::cdn))
        .with_state(shared.media.clone());
    Router::new()
        .merge(media)
        .fallback(unrecognized)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// The peer's routes. Every request, including unknown ones, goes through [`record`].
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(
            "/_matrix/key/v2/server",
            get(key_document).fallback(method_not_allowed),
        )
        .route(
            "/_matrix/key/v2/server/{key_id}",
            get(key_document).fallback(method_not_allowed),
        )
        .merge(media_routes(shared.media.clone()))
        .fallback(unrecognized)
        .layer(middleware::from_fn_with_state(shared.clone(), record))
        .with_state(shared)
}

/// The media endpoints ([`super::media`]), with only the media configuration as their state.
fn media_routes(media: Arc<super::media::MediaConfig>) -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/_matrix/federation/v1/media/download/{media_id}",
            get(super::media::federation_download),
        )
        .route(
            "/_matrix/federation/v1/media/thumbnail/{media_id}",
            get(super::media::federation_thumbnail),
        )
        .route(
            "/_matrix/media/{version}/download/{server}/{media_id}",
            get(super::media::legacy_download),
        )
        .route(
            "/_matrix/media/{version}/download/{server}/{media_id}/{file_name}",
            get(super::media::legacy_download_named),
        )
        .route(
            "/_matrix/media/{version}/thumbnail/{server}/{media_id}",
            get(super::media::legacy_thumbnail),
        )
        .route("/cdn/{media_id}", get(super::media::cdn))
        .with_state(media)
}

/// Records the request and the status of our answer.
async fn record(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let at_ms = shared.elapsed_ms();
    let method = request.method().to_string();
    let path = request
        .uri()
        .path_and_query()
        .map_or_else(|| request.uri().path().to_owned(), |pq| pq.to_string());
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let bytes = value.as_bytes();
            let mut text =
                String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_HEADER_VALUE)]).into_owned();
            if bytes.len() > MAX_HEADER_VALUE {
                text.push('…');
            }
            (name.as_str().to_owned(), text)
        })
        .collect();
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let signature = shared
        .judge
        .judge(
            authorization.as_deref(),
            &method,
            &path,
            &shared.server_name,
        )
        .await;
    let response = next.run(request).await;
    let answered = response
        .extensions()
        .get::<super::media::AnswerNote>()
        .map_or_else(
            || response.status().to_string(),
            |n| format!("{} {}", response.status().as_u16(), n.0),
        );
    let observation = Observation {
        at_ms,
        method,
        path,
        headers,
        remote,
        status: response.status().as_u16(),
        signature,
        answered,
    };
    if let Some(log) = &shared.log {
        let _ = log.send(observation.clone());
    }
    let mut state = shared.lock();
    if state.observations.len() >= MAX_OBSERVATIONS {
        state.observations.pop_front();
    }
    state.observations.push_back(observation);
    drop(state);
    response
}

async fn key_document(State(shared): State<Arc<Shared>>) -> Response {
    let (current, rotation, old, expired) = {
        let mut state = shared.lock();
        state.key_fetches += 1;
        (
            state.current.clone(),
            state.rotation.clone(),
            state.old.clone(),
            state.expired,
        )
    };
    let valid_until = if expired {
        now_ms().saturating_sub(3_600_000)
    } else {
        now_ms().saturating_add(u64::try_from(KEY_VALIDITY.as_millis()).unwrap_or(u64::MAX))
    };
    let rotation: Vec<SigningKey> = rotation.into_iter().collect();
    match server_key_document_with(&shared.server_name, &current, &rotation, &old, valid_until) {
        Ok(doc) => json_response(StatusCode::OK, &doc),
        Err(e) => matrix_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "M_UNKNOWN",
            &format!("mediaconf peer: {e}"),
        ),
    }
}

async fn unrecognized() -> Response {
    matrix_error(
        StatusCode::NOT_FOUND,
        "M_UNRECOGNIZED",
        "Unrecognized request",
    )
}

async fn method_not_allowed() -> Response {
    matrix_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "M_UNRECOGNIZED",
        "Unrecognized request",
    )
}

/// Where the CA's private key is kept: next to the CA certificate, `<ca file>.key`.
pub fn ca_key_path(ca_out: &Path) -> PathBuf {
    let mut name = ca_out.as_os_str().to_owned();
    name.push(".key");
    PathBuf::from(name)
}

/// The CA in `ca_out` (and its key in `<ca_out>.key`), or a new one written there (key with mode
/// 0600) when either file is missing. Reusing it lets a target keep trusting the CA file across
/// runs (Synapse reads `federation_custom_ca_list` only at start). `true` when created.
pub fn load_or_create_ca(ca_out: &Path) -> Result<(tls::PeerCa, bool), PeerError> {
    let key_path = ca_key_path(ca_out);
    if ca_out.exists() && key_path.exists() {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| PeerError::WriteCa {
                path: path.to_path_buf(),
                source,
            })
        };
        return Ok((
            tls::PeerCa {
                cert_pem: read(ca_out)?,
                key_pem: read(&key_path)?,
            },
            false,
        ));
    }
    let ca = tls::generate_ca()?;
    let write_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| PeerError::WriteCa { path, source }
    };
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(write_err(&key_path))?;
        file.write_all(ca.key_pem.as_bytes())
            .map_err(write_err(&key_path))?;
    }
    std::fs::write(ca_out, ca.cert_pem.as_bytes()).map_err(write_err(ca_out))?;
    Ok((ca, true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peer::key_document::check_server_key_document;

    const NAME: &str = "localhost:8448";

    async fn start(dir: &Path) -> Peer {
        Peer::start(PeerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            NAME,
            SigningKey::generate("mc_first").unwrap(),
            dir.join("peer-ca.pem"),
        ))
        .await
        .unwrap()
    }

    /// The target client (`src/client/transport.rs`) against a TLS server whose CA it does not
    /// know: refused with the certificate explained, unless `--insecure`.
    #[tokio::test]
    async fn the_target_client_checks_certificates_unless_insecure() {
        use crate::client::{HttpClient, OutgoingRequest};
        use crate::exchange::TransportFailure;
        let dir = tempfile::tempdir().unwrap();
        let peer = start(dir.path()).await;
        let request = OutgoingRequest {
            method: "GET".into(),
            url: format!("https://{}/_matrix/key/v2/server", peer.local_addr()),
            headers: Vec::new(),
            body: Default::default(),
            timeout: Duration::from_secs(10),
        };
        let strict = HttpClient::new(1 << 20, Default::default(), false).unwrap();
        match strict.send_once(&request).await.1 {
            Err(TransportFailure::Connect(text) | TransportFailure::Other(text)) => {
                assert!(text.contains("TLS certificate"), "{text}");
                assert!(text.contains("--insecure"), "{text}");
            }
            other => panic!("an unknown CA was accepted: {other:?}"),
        }
        let insecure = HttpClient::new(1 << 20, Default::default(), true).unwrap();
        let response = insecure.send_once(&request).await.1.unwrap();
        assert_eq!(response.status, 200);
        assert!(response.body.starts_with(b"{"), "{:?}", response.body);
    }

    fn client(ca_path: &Path) -> reqwest::Client {
        let pem = std::fs::read(ca_path).unwrap();
        reqwest::Client::builder()
            .no_proxy()
            .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap()
    }

    async fn get_json(
        client: &reqwest::Client,
        url: &str,
    ) -> (reqwest::StatusCode, String, serde_json::Value) {
        let resp = client.get(url).send().await.unwrap();
        let status = resp.status();
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, ctype, resp.json().await.unwrap())
    }

    #[tokio::test]
    async fn serves_rotates_records_and_shuts_down() {
        let dir = tempfile::tempdir().unwrap();
        let peer = start(dir.path()).await;
        assert_eq!(peer.server_name(), NAME);
        assert!(peer.ca_path().is_file());
        assert_eq!(peer.key_fetches(), 0);
        let base = format!("https://127.0.0.1:{}", peer.local_addr().port());
        let client = client(peer.ca_path());

        // K-01: the served document passes our own F-31 checker.
        let first = peer.current_key();
        let old = peer.old_key();
        assert!(old.version().starts_with("mcold_"), "{}", old.key_id);
        let (status, ctype, doc) =
            get_json(&client, &format!("{base}/_matrix/key/v2/server")).await;
        assert_eq!(status, 200);
        assert_eq!(ctype, "application/json");
        assert_eq!(check_server_key_document(&doc, NAME, now_ms()), vec![]);
        assert_eq!(
            doc["verify_keys"][&first.key_id]["key"],
            first.public_key_b64()
        );
        assert_eq!(
            doc["old_verify_keys"][&old.key_id]["key"],
            old.public_key_b64()
        );
        assert!(doc["verify_keys"].get(&old.key_id).is_none());
        let valid_until = doc["valid_until_ts"].as_u64().unwrap();
        assert!(valid_until > now_ms() + 23 * 3_600_000);
        assert_eq!(peer.key_fetches(), 1);

        // K-02: rotations use throw-away keys; the long-lived key stays in verify_keys.
        let second = peer.rotate();
        assert_ne!(second.key_id, first.key_id);
        assert!(second.version().starts_with("mc_"));
        assert_eq!(peer.current_key().key_id, first.key_id);
        assert_eq!(peer.rotation_key().unwrap().key_id, second.key_id);
        let third = peer.rotate();
        let url = format!("{base}/_matrix/key/v2/server/{}", first.key_id);
        let (status, _, doc) = get_json(&client, &url).await;
        assert_eq!(status, 200);
        assert_eq!(check_server_key_document(&doc, NAME, now_ms()), vec![]);
        let mut verify: Vec<&String> = doc["verify_keys"].as_object().unwrap().keys().collect();
        verify.sort();
        let mut want = vec![&first.key_id, &third.key_id];
        want.sort();
        assert_eq!(verify, want);
        let olds = doc["old_verify_keys"].as_object().unwrap();
        assert_eq!(olds.len(), 2);
        assert_eq!(olds[&second.key_id]["key"], second.public_key_b64());
        assert!(olds[&second.key_id]["expired_ts"].as_u64().unwrap() <= now_ms());
        assert!(olds.contains_key(&old.key_id));
        assert!(!olds.contains_key(&first.key_id));
        assert_eq!(peer.key_fetches(), 2);

        // Unknown path and wrong method.
        let (status, ctype, body) = get_json(
            &client,
            &format!("{base}/_matrix/federation/v1/version?x=1"),
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(ctype, "application/json");
        assert_eq!(
            body,
            serde_json::json!({"errcode": "M_UNRECOGNIZED", "error": "Unrecognized request"})
        );
        let resp = client
            .post(format!("{base}/_matrix/key/v2/server"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 405);
        let body: serde_json::Value = resp.json().await.unwrap();
        assert_eq!(body["errcode"], "M_UNRECOGNIZED");
        assert_eq!(peer.key_fetches(), 2);

        // Observations.
        let obs = peer.observations();
        let summary: Vec<(&str, &str, u16)> = obs
            .iter()
            .map(|o| (o.method.as_str(), o.path.as_str(), o.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("GET", "/_matrix/key/v2/server", 200),
                ("GET", url.strip_prefix(&base).unwrap(), 200),
                ("GET", "/_matrix/federation/v1/version?x=1", 404),
                ("POST", "/_matrix/key/v2/server", 405),
            ]
        );
        assert!(obs.iter().all(|o| o.remote.ip().is_loopback()));
        assert!(obs.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        assert!(obs[0].header("Host").unwrap().starts_with("127.0.0.1:"));

        // Shutdown: new connections are refused.
        let addr = peer.local_addr();
        peer.shutdown().await;
        let err = self::client(&dir.path().join("peer-ca.pem"))
            .get(format!("https://{addr}/_matrix/key/v2/server"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
    }

    #[tokio::test]
    async fn drop_stops_the_server() {
        let dir = tempfile::tempdir().unwrap();
        let peer = start(dir.path()).await;
        let addr = peer.local_addr();
        drop(peer);
        // The accept loop ends on its next poll; give the runtime a moment.
        let mut refused = false;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(addr).await.is_err() {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(refused, "server still accepting after drop");
    }

    #[tokio::test]
    async fn port_in_use_is_reported_with_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let err = Peer::start(PeerConfig::new(
            taken.local_addr().unwrap(),
            NAME,
            SigningKey::generate("mc_first").unwrap(),
            dir.path().join("ca.pem"),
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, PeerError::AddrInUse { .. }), "{err:?}");
        assert!(err.to_string().contains("pass --peer-listen"), "{err}");
        assert!(!dir.path().join("ca.pem").exists());
    }

    #[tokio::test]
    async fn unwritable_ca_path_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let err = Peer::start(PeerConfig::new(
            "127.0.0.1:0".parse().unwrap(),
            NAME,
            SigningKey::generate("mc_first").unwrap(),
            dir.path().join("missing-dir").join("ca.pem"),
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, PeerError::WriteCa { .. }), "{err:?}");
        assert!(err.to_string().contains("directory exists"), "{err}");
    }

    #[test]
    fn the_ca_is_created_once_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let (first, created) = load_or_create_ca(&ca).unwrap();
        assert!(created);
        let mode = std::fs::metadata(ca_key_path(&ca))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "the CA key is private");
        let (again, created) = load_or_create_ca(&ca).unwrap();
        assert!(!created);
        assert_eq!(first.cert_pem, again.cert_pem);
        assert_eq!(first.key_pem, again.key_pem);
        std::fs::remove_file(ca_key_path(&ca)).unwrap();
        let (fresh, created) = load_or_create_ca(&ca).unwrap();
        assert!(created, "a lone certificate without its key is replaced");
        assert_ne!(fresh.cert_pem, first.cert_pem);
    }
}
