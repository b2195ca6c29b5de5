//! One container of a Complement image: started with the contract's CA and server name on the
//! host's network (client API on 127.0.0.1:8008, federation on localhost:8448), watched until
//! `GET /_matrix/client/versions` answers 200 (or the container exits, or the deadline passes),
//! its log kept, and removed when dropped, whatever happened.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::runtime::Runtime;
use crate::peer::tls::PeerCa;

/// The client API of the container (the contract's port 8008, on the host's network).
pub const CLIENT_URL: &str = "http://127.0.0.1:8008";
/// The server name the container is given: the federation port 8448 under a name its
/// certificate (signed by our CA) is valid for and every process here resolves.
pub const SERVER_NAME: &str = "localhost:8448";
/// The federation API of the container.
pub const FEDERATION_URL: &str = "https://localhost:8448";

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
    /// How long the server may take to answer `/versions` ([`ImageSpec::startup`]).
    startup: Duration,
    /// Holds `ca.crt` and `ca.key`, mounted as `/complement/ca`.
    _ca_dir: tempfile::TempDir,
    removed: bool,
}

/// Starts `spec.image` with `ca` mounted as the Complement CA. The ports 8008 and 8448 must be
/// free on this host (the container uses the host's network, so it reaches mediaconf's key
/// server and mock peer on loopback).
pub fn start(runtime: &Runtime, spec: &ImageSpec, ca: &PeerCa) -> Result<Container, ImageError> {
    for port in [8008, 8448] {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
            return Err(ImageError::Setup(format!(
                "port {port} is taken on this host: --image runs the container on the host's \
                 network, where it listens on 8008 and 8448; stop what uses the port"
            )));
        }
    }
    let ca_dir = tempfile::Builder::new()
        .prefix("mediaconf-ca-")
        .tempdir()
        .map_err(|e| ImageError::Setup(format!("cannot create the CA directory: {e}")))?;
    write_ca(ca_dir.path(), ca)?;
    let mut cmd = runtime.command();
    cmd.args(["run", "--detach", "--network", "host"])
        .args(["--label", "mediaconf=1"])
        .args(["--env", &format!("SERVER_NAME={SERVER_NAME}")]);
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
        return Err(ImageError::Setup(format!(
            "{} run {} failed: {}",
            runtime.program,
            spec.image,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    super::register(runtime, &id);
    Ok(Container {
        runtime: runtime.clone(),
        id,
        image: spec.image.clone(),
        startup: spec.startup,
        _ca_dir: ca_dir,
        removed: false,
    })
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
            if versions_answers().await {
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
/// exchange: the server is on loopback and only the status line matters).
async fn versions_answers() -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", 8008))
            .await
            .ok()?;
        stream
            .write_all(
                b"GET /_matrix/client/versions HTTP/1.1\r\nHost: 127.0.0.1:8008\r\nConnection: close\r\n\r\n",
            )
            .await
            .ok()?;
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
