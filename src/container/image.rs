//! One container of a Complement image: started with the contract's CA and server name, its
//! ports published on free loopback ports (or on the host's network, see [`Network`]), watched
//! until `GET /_matrix/client/versions` answers 200 (or the container exits, or the deadline
//! passes), its log kept, and removed when dropped, whatever happened.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::runtime::{Network, Runtime, SLIRP_HOST_LOOPBACK};
use crate::peer::tls::PeerCa;

/// Where the container's APIs are on this host and how it reaches this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addresses {
    /// The loopback port of the client API (the contract's 8008).
    pub client_port: u16,
    /// The loopback port of the federation API (the contract's 8448); the server name is
    /// `localhost:PORT`, a name its certificate (signed by our CA) is valid for and every
    /// process here resolves, so the tester reaches it under its server name.
    pub federation_port: u16,
    /// The host name under which the container reaches this host's loopback servers (key
    /// server, CDN, preview page); `None` on the host's network, where loopback is shared.
    pub host_alias: Option<String>,
}

impl Addresses {
    /// Free loopback ports for a published container, or 8008 and 8448 on the host's network.
    fn choose(network: Network, runtime: &Runtime) -> Result<Addresses, ImageError> {
        match network {
            Network::Host => Ok(Addresses {
                client_port: 8008,
                federation_port: 8448,
                host_alias: None,
            }),
            Network::Published => {
                let [client_port, federation_port] = free_loopback_ports()?;
                Ok(Addresses {
                    client_port,
                    federation_port,
                    host_alias: Some(runtime.host_alias().to_owned()),
                })
            }
        }
    }

    pub fn client_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    pub fn server_name(&self) -> String {
        format!("localhost:{}", self.federation_port)
    }

    pub fn federation_url(&self) -> String {
        format!("https://localhost:{}", self.federation_port)
    }

    /// The runtime's `run` flags for this network.
    fn network_args(&self) -> Vec<String> {
        let Some(alias) = &self.host_alias else {
            return vec!["--network".into(), "host".into()];
        };
        vec![
            "--network".into(),
            "slirp4netns:allow_host_loopback=true".into(),
            "--add-host".into(),
            format!("{alias}:{SLIRP_HOST_LOOPBACK}"),
            "--publish".into(),
            format!("127.0.0.1:{}:8008", self.client_port),
            "--publish".into(),
            format!("127.0.0.1:{}:8448", self.federation_port),
        ]
    }
}

/// Two ports free on 127.0.0.1 now (both held until both are chosen, so they differ).
fn free_loopback_ports() -> Result<[u16; 2], ImageError> {
    let bind = || {
        std::net::TcpListener::bind(("127.0.0.1", 0))
            .and_then(|l| Ok((l.local_addr()?.port(), l)))
            .map_err(|e| ImageError::Setup(format!("no free loopback port: {e}")))
    };
    let (a, _held_a) = bind()?;
    let (b, _held_b) = bind()?;
    Ok([a, b])
}

/// What to start.
#[derive(Debug, Clone)]
pub struct ImageSpec {
    pub image: String,
    /// `--image-env K=V`.
    pub env: Vec<(String, String)>,
    /// How long the server may take to answer `/versions`.
    pub startup: Duration,
}

/// Why a container could not be used; every variant is a preflight error (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{0}")]
    Setup(String),
    #[error(
        "the container of {image} exited before its server answered; its last log lines:\n{log}"
    )]
    Exited { image: String, log: String },
    #[error(
        "the server of {image} did not answer GET /_matrix/client/versions within {secs} s; its last log lines:\n{log}"
    )]
    NeverAnswered {
        image: String,
        secs: u64,
        log: String,
    },
}

/// Reads a container's log (while it runs), for the lines under a failed case.
#[derive(Debug, Clone)]
pub struct LogSource {
    runtime: Runtime,
    id: String,
}

impl LogSource {
    /// The log with an RFC 3339 time before each line (for [`super::log_window`]).
    pub fn read_with_times(&self) -> String {
        read_log(&self.runtime, &self.id, true)
    }
}

fn read_log(runtime: &Runtime, id: &str, timestamps: bool) -> String {
    let mut cmd = runtime.command();
    cmd.arg("logs");
    if timestamps {
        cmd.arg("--timestamps");
    }
    match cmd.arg(id).stdin(Stdio::null()).output() {
        Ok(o) => format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) => format!("(cannot read the log: {e})"),
    }
}

/// A running container; removed when dropped.
#[derive(Debug)]
pub struct Container {
    runtime: Runtime,
    id: String,
    pub image: String,
    /// Its ports on this host and how it reaches this host.
    pub addresses: Addresses,
    /// How long the server may take to answer `/versions` ([`ImageSpec::startup`]).
    startup: Duration,
    /// Holds `ca.crt` and `ca.key`, mounted as `/complement/ca`.
    _ca_dir: tempfile::TempDir,
    removed: bool,
}

/// Starts `spec.image` with `ca` mounted as the Complement CA, networked as `network`.
pub fn start(
    runtime: &Runtime,
    network: Network,
    spec: &ImageSpec,
    ca: &PeerCa,
) -> Result<Container, ImageError> {
    let addresses = Addresses::choose(network, runtime)?;
    if network == Network::Host {
        host_ports_free()?;
    }
    let ca_dir = tempfile::Builder::new()
        .prefix("mediaconf-ca-")
        .tempdir()
        .map_err(|e| ImageError::Setup(format!("cannot create the CA directory: {e}")))?;
    write_ca(ca_dir.path(), ca)?;
    let mut cmd = runtime.command();
    cmd.args(["run", "--detach"])
        .args(addresses.network_args())
        .args(["--label", "mediaconf=1"])
        .args(["--env", &format!("SERVER_NAME={}", addresses.server_name())]);
    for (k, v) in &spec.env {
        cmd.args(["--env", &format!("{k}={v}")]);
    }
    cmd.args([
        "--volume",
        &format!("{}:/complement/ca:ro", ca_dir.path().display()),
        &spec.image,
    ]);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ImageError::Setup(format!("cannot run {}: {e}", runtime.program)))?;
    if !out.status.success() {
        return Err(ImageError::Setup(run_failed(
            runtime,
            &spec.image,
            &out.stderr,
        )));
    }
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    super::register(runtime, &id);
    Ok(Container {
        runtime: runtime.clone(),
        id,
        image: spec.image.clone(),
        addresses,
        startup: spec.startup,
        _ca_dir: ca_dir,
        removed: false,
    })
}

/// Why `run` failed: for an image the runtime does not have (it tried a registry), what to do
/// first and the runtime's last line; else all it said.
fn run_failed(runtime: &Runtime, image: &str, stderr: &[u8]) -> String {
    let said = String::from_utf8_lossy(stderr);
    if runtime.has_image(image) {
        return format!("{} run {image} failed: {}", runtime.program, said.trim());
    }
    format!(
        "{0} has no local image {image}: build it (README, \"Testing your own server\"), check \
         the name with `{0} images`, or pass --container-runtime for the runtime that built it \
         ({0} run said: {1})",
        runtime.program,
        said.lines().last().unwrap_or("").trim()
    )
}

/// On the host's network the container takes 8008 and 8448 itself.
fn host_ports_free() -> Result<(), ImageError> {
    for port in [8008, 8448] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(ImageError::Setup(format!(
                "port {port} is taken on this host: with --image-network host the container \
                 listens on 8008 and 8448 itself; stop what uses the port"
            )));
        }
    }
    Ok(())
}

fn write_ca(dir: &Path, ca: &PeerCa) -> Result<(), ImageError> {
    use std::os::unix::fs::PermissionsExt;
    let err = |e: std::io::Error| ImageError::Setup(format!("cannot write the CA: {e}"));
    std::fs::write(dir.join("ca.crt"), &ca.cert_pem).map_err(err)?;
    std::fs::write(dir.join("ca.key"), &ca.key_pem).map_err(err)?;
    // The server in the container may run as another user: it must read both files.
    for name in ["ca.crt", "ca.key"] {
        std::fs::set_permissions(dir.join(name), std::fs::Permissions::from_mode(0o644))
            .map_err(err)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(err)
}

impl Container {
    /// Waits until the server answers `/versions` with 200, printing a progress line every
    /// 5 s; fails when the container exits or `startup` passes, with its last log lines.
    pub async fn wait_ready(&self) -> Result<(), ImageError> {
        let startup = self.startup;
        let started = Instant::now();
        let mut next_note = Duration::from_secs(5);
        loop {
            if versions_answers(self.addresses.client_port).await {
                return Ok(());
            }
            if !self.running() {
                return Err(ImageError::Exited {
                    image: self.image.clone(),
                    log: self.last_log_lines(30),
                });
            }
            let waited = started.elapsed();
            if waited >= startup {
                return Err(ImageError::NeverAnswered {
                    image: self.image.clone(),
                    secs: startup.as_secs(),
                    log: self.last_log_lines(30),
                });
            }
            if waited >= next_note {
                eprintln!(
                    "image      waiting for {} to answer /_matrix/client/versions ({} s of {} s)",
                    self.image,
                    waited.as_secs(),
                    startup.as_secs()
                );
                next_note += Duration::from_secs(5);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn running(&self) -> bool {
        let out = self
            .runtime
            .command()
            .args(["inspect", "--format", "{{.State.Running}}", &self.id])
            .stdin(Stdio::null())
            .output();
        out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "true")
    }

    /// The container's whole log (stdout and stderr).
    pub fn log(&self) -> String {
        read_log(&self.runtime, &self.id, false)
    }

    /// What reads the log while the run goes on.
    pub fn log_source(&self) -> LogSource {
        LogSource {
            runtime: self.runtime.clone(),
            id: self.id.clone(),
        }
    }

    /// The last `n` lines of the log, indented.
    pub fn last_log_lines(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..]
            .iter()
            .map(|l| format!("  | {l}"))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Writes the log to `path`.
    pub fn save_log(&self, path: &Path) -> Result<PathBuf, String> {
        std::fs::write(path, self.log())
            .map(|()| path.to_path_buf())
            .map_err(|e| format!("cannot write the container log {}: {e}", path.display()))
    }

    /// Stops and removes the container (idempotent).
    pub fn remove(&mut self) {
        if self.removed {
            return;
        }
        super::remove(&self.runtime, &self.id);
        self.removed = true;
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        self.remove();
    }
}

/// `GET /_matrix/client/versions` on the container's client port answered 200 (a plain TCP
/// exchange: the port is on loopback and only the status line matters).
async fn versions_answers(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request = format!(
            "GET /_matrix/client/versions HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
    };
    tokio::time::timeout(Duration::from_secs(2), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}

/// `K=V` of `--image-env`, or the error naming the bad one.
pub fn parse_env(pairs: &[String]) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(format!("--image-env {p}: expected NAME=VALUE")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_container_gets_loopback_ports_and_reaches_the_host_under_its_alias() {
        let published = Addresses {
            client_port: 41000,
            federation_port: 41001,
            host_alias: Some("host.containers.internal".into()),
        };
        assert_eq!(
            published.network_args(),
            [
                "--network",
                "slirp4netns:allow_host_loopback=true",
                "--add-host",
                "host.containers.internal:10.0.2.2",
                "--publish",
                "127.0.0.1:41000:8008",
                "--publish",
                "127.0.0.1:41001:8448",
            ]
        );
        assert_eq!(published.server_name(), "localhost:41001");
        assert_eq!(published.federation_url(), "https://localhost:41001");
        assert_eq!(published.client_url(), "http://127.0.0.1:41000");
        let host = Addresses {
            client_port: 8008,
            federation_port: 8448,
            host_alias: None,
        };
        assert_eq!(host.network_args(), ["--network", "host"]);
        let [a, b] = free_loopback_ports().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn image_env_pairs_are_parsed_and_bad_ones_named() {
        assert_eq!(
            parse_env(&["A=1".into(), "B=x=y".into()]).unwrap(),
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "x=y".to_owned())
            ]
        );
        assert!(
            parse_env(&["=1".into()])
                .unwrap_err()
                .contains("NAME=VALUE")
        );
        assert!(parse_env(&["nothing".into()]).is_err());
    }
}
