//! Settings of one run, already validated by the CLI layer.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::baseline::Baseline;
use crate::client::Registration;
use crate::redact::Redactor;
use crate::spec_version::SpecVersion;

/// How the run gets its main account.
#[derive(Clone)]
pub enum AccountSource {
    Register(Registration),
    /// `--user-token`: an existing account; registration-dependent needs are unavailable.
    ExistingToken(String),
}

/// Where the tester's own server (key server) listens and how it is known.
#[derive(Clone, Debug)]
pub struct FederationSettings {
    /// The signing key file (created with mode 0600 on first use).
    pub signing_key: PathBuf,
    pub peer_listen: std::net::SocketAddr,
    pub peer_server_name: String,
    /// Where the CA certificate of the key server is written.
    pub ca_out: PathBuf,
    /// Base URL of the target's federation API (`--federation-url`); `None`: found by server
    /// discovery from the target's server name (`src/run/discovery.rs`).
    pub federation_url: Option<String>,
    /// Where the mock peer's plain-HTTP CDN listens.
    pub cdn_listen: std::net::SocketAddr,
    /// The host name under which the target reaches the servers mediaconf starts on loopback
    /// (the CDN in `Location` parts, the preview page); `None`: their listen addresses. Set by
    /// `--image` for a container that reaches this host under an alias.
    pub reach_host: Option<String>,
}

/// `addr` with a port 0 replaced by one free now (the listener is released at once, so the
/// server that binds it later, and the names made from it, agree on the port).
pub fn with_free_port(addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddr> {
    if addr.port() != 0 {
        return Ok(addr);
    }
    std::net::TcpListener::bind(addr)?.local_addr()
}

impl FederationSettings {
    /// From the `--signing-key`/`--peer-*` flags and the target's federation base URL.
    /// A listen port of 0 is chosen now, so the default server name (`localhost:PORT`) names the
    /// port the peer will listen on.
    pub fn from_args(peer: &crate::cli::PeerArgs, federation_url: Option<String>) -> Self {
        let peer_listen = with_free_port(peer.peer_listen).unwrap_or(peer.peer_listen);
        FederationSettings {
            signing_key: peer.signing_key.clone(),
            peer_listen,
            peer_server_name: peer
                .peer_server_name
                .clone()
                .unwrap_or_else(|| crate::peer::default_server_name(peer_listen)),
            ca_out: peer.peer_ca_out.clone(),
            federation_url,
            cdn_listen: peer.peer_cdn_listen,
            reach_host: None,
        }
    }
}

/// Everything `execute` needs.
#[derive(Clone)]
pub struct RunConfig {
    /// Base URL of the client-server API, without a trailing slash.
    pub target: String,
    /// `--server-name`; derived from the user id when absent.
    pub server_name: Option<String>,
    pub profiles: BTreeSet<String>,
    pub spec_override: Option<SpecVersion>,
    pub account: AccountSource,
    pub jobs: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Whole-run deadline: cases not started by then are reported as not run.
    pub deadline: Duration,
    /// Largest response body kept, in bytes.
    pub max_body: usize,
    pub baseline: Baseline,
    pub extra_suites: Vec<PathBuf>,
    /// Secrets to redact besides tokens learned during the run.
    pub secrets: Vec<String>,
    pub federation: FederationSettings,
    /// `--quick`: slow cases are skipped.
    pub quick: bool,
    /// `--case` / `--skip`.
    pub selection: crate::plan::Selection,
    /// Where the preview page listens.
    pub preview_listen: std::net::SocketAddr,
    /// `--insecure`: accept any TLS certificate from the target (test set-ups).
    pub insecure: bool,
    /// A CA (PEM) whose certificates the target's are checked against besides the system's:
    /// the CA a `--image` container signs its certificate with.
    pub target_ca_pem: Option<String>,
    /// Shared with the reports, so tokens learned during the run are redacted there too.
    pub redactor: Redactor,
}
