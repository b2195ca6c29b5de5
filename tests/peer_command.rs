//! `mediaconf peer`, run as a user would: the real binary prints its server name, CA and one
//! mxc URI per scenario, serves the scenarios and `--fixtures` files, logs each request as one
//! line and as JSON, never serves a file outside the fixtures directory, and stops with exit 0
//! on SIGTERM and on SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Reads stdout lines until one contains `needle` (or 10 s pass).
    fn wait_for(&mut self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(line.clone());
                if line.contains(needle) {
                    return line;
                }
            }
        }
        let _ = self.child.kill();
        panic!(
            "no line with {needle:?}; output so far:\n{}",
            self.seen.join("\n")
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &std::path::Path, listen: &str, fixtures: &std::path::Path) -> Running {
    let log = dir.join("log.jsonl");
    spawn(
        dir,
        &[
            "--listen",
            listen,
            "--fixtures",
            fixtures.to_str().unwrap(),
            "--log-json",
            log.to_str().unwrap(),
        ],
    )
}

/// `mediaconf peer FLAGS` with its key and CA in `dir`, its stdout read line by line.
fn spawn(dir: &std::path::Path, flags: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .arg("peer")
        .args(flags)
        .arg("--signing-key")
        .arg(dir.join("k.key"))
        .arg("--ca-out")
        .arg(dir.join("ca.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start mediaconf peer");
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        lines,
        seen: Vec::new(),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

fn stop(mut running: Running, signal: &str) {
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap()
            .success()
    );
    running.wait_for("stopped after");
    let status = running.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "exit after {signal}");
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_serves_scenarios_and_fixtures_logs_requests_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::write(fixtures.join("hello.txt"), "hello from a fixture").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "outside the fixtures").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), fixtures.join("link.txt")).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut peer = start(dir.path(), &listen, &fixtures);
    // A loopback listen address signs as localhost:PORT by default.
    let name = listen.replace("127.0.0.1", "localhost");
    peer.wait_for(&format!("mediaconf peer {name}"));
    peer.wait_for("trust");
    let uri = peer.wait_for(&format!("mxc://{name}/inline-bytes_1"));
    assert!(uri.contains("answers the PNG inline"), "{uri}");
    peer.wait_for(&format!("mxc://{name}/fixture_hello-txt"));
    peer.wait_for("not served: link.txt");
    peer.wait_for("Requests");
    assert!(dir.path().join("ca.pem").exists());

    let http = client();
    let base = format!("https://{listen}");
    let png = http
        .get(format!(
            "{base}/_matrix/media/v3/download/{name}/inline-bytes_1"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.bytes().await.unwrap()[..4], *b"\x89PNG");
    let line = peer.wait_for("inline-bytes_1");
    assert!(
        line.contains("→ 200 image/png (inline-bytes)") && line.contains("[not signed]"),
        "{line}"
    );

    let fixture = http
        .get(format!(
            "{base}/_matrix/media/v3/download/{name}/fixture_hello-txt"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(fixture.text().await.unwrap(), "hello from a fixture");
    // The symlink out of the directory, and paths that try to leave it, are never served.
    for path in [
        format!("/_matrix/media/v3/download/{name}/fixture_link-txt"),
        format!("/_matrix/media/v3/download/{name}/..%2Fsecret.txt"),
        format!("/_matrix/media/v3/download/{name}/%2e%2e%252Fsecret.txt"),
        "/cdn/../../secret.txt".to_string(),
        "/cdn/%2Ftmp%2Fsecret.txt".to_string(),
    ] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        let status = answer.status();
        let body = answer.text().await.unwrap();
        assert!(
            !body.contains("outside the fixtures"),
            "{path} served the secret"
        );
        assert!(status.is_client_error(), "{path}: {status}");
    }
    let signed = http
        .get(format!(
            "{base}/_matrix/federation/v1/media/download/unrecognized_1"
        ))
        .header(
            "Authorization",
            "X-Matrix origin=\"nowhere.invalid\",destination=\"peer.invalid\",key=\"ed25519:x\",sig=\"AAAA\"",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signed.status(), 404);
    let line = peer.wait_for("unrecognized_1");
    assert!(
        line.contains("bad signature: cannot fetch the key of nowhere.invalid"),
        "{line}"
    );

    // Credentials someone sends the peer are not logged, on stdout or in --log-json.
    let bearer = "syt_bearer_secret_4711";
    let query_token = "syt_query_secret_0815";
    let signature = "c2lnbmF0dXJlc2VjcmV0";
    let with_credentials = http
        .get(format!(
            "{base}/_matrix/media/v3/download/{name}/inline-bytes_2?access_token={query_token}"
        ))
        .header("Authorization", format!("Bearer {bearer}"))
        .send()
        .await
        .unwrap();
    assert_eq!(with_credentials.status(), 200);
    peer.wait_for("inline-bytes_2");
    http.get(format!(
        "{base}/_matrix/federation/v1/media/download/inline-bytes_3"
    ))
    .header(
        "Authorization",
        format!("X-Matrix origin=\"nowhere.invalid\",key=\"ed25519:x\",sig=\"{signature}\""),
    )
    .send()
    .await
    .unwrap();
    peer.wait_for("inline-bytes_3");

    let seen = peer.seen.join("\n");
    stop(peer, "-TERM");
    let log = std::fs::read_to_string(dir.path().join("log.jsonl")).unwrap();
    let key_file = std::fs::read_to_string(dir.path().join("k.key")).unwrap();
    let seed = key_file.split_whitespace().last().unwrap().to_string();
    let ca_key = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains("key") && e.file_name() != "k.key")
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect::<Vec<_>>();
    assert!(!ca_key.is_empty(), "the CA key file is next to ca.pem");
    let ca_key_body: String = ca_key[0]
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    for (what, secret) in [
        ("a bearer token", bearer),
        ("an access_token query", query_token),
        ("an X-Matrix signature", signature),
        ("the signing-key seed", seed.as_str()),
        ("the CA key", &ca_key_body[..40.min(ca_key_body.len())]),
    ] {
        assert!(
            secret.len() >= 16,
            "{what}: {secret:?} is too short to search for"
        );
        assert!(!seen.contains(secret), "{what} on stdout:\n{seen}");
        assert!(!log.contains(secret), "{what} in --log-json:\n{log}");
    }
    assert!(
        log.contains("Bearer <redacted>") && log.contains("access_token=<redacted>"),
        "{log}"
    );
    let entries: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("each log line is JSON"))
        .collect();
    assert!(entries.len() >= 8, "{log}");
    assert!(entries.iter().any(
        |e| e["path"].as_str().unwrap_or("").contains("inline-bytes_1") && e["status"] == 200
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn peer_stops_on_sigint() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut peer = start(dir.path(), &listen, dir.path());
    peer.wait_for("Requests");
    stop(peer, "-INT");
}

/// `--cdn-host`: the Location parts name the CDN under the host a containerized homeserver
/// reaches this machine by (what `run --image` does for its own peer).
#[tokio::test(flavor = "multi_thread")]
async fn cdn_host_names_the_cdn_in_location_parts() {
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let mut peer = spawn(
        dir.path(),
        &["--listen", &listen, "--cdn-host", "host.example.test"],
    );
    let cdn = peer.wait_for("CDN ");
    assert!(cdn.contains("named http://host.example.test:"), "{cdn}");
    peer.wait_for("Requests");
    let body = client()
        .get(format!(
            "https://{listen}/_matrix/federation/v1/media/download/location_1"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("Location: http://host.example.test:"),
        "{body}"
    );
    stop(peer, "-TERM");
}

#[test]
fn a_taken_port_is_an_error_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(["peer", "--listen", &taken.local_addr().unwrap().to_string()])
        .arg("--signing-key")
        .arg(dir.path().join("k.key"))
        .arg("--ca-out")
        .arg(dir.path().join("ca.pem"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("address already in use"), "{stderr}");
}
