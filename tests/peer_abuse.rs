//! The mock peer under abuse (`mediaconf peer`, the real binary): 1,000 connections that never
//! send anything stay open while 10,000 malformed requests arrive one after another on the
//! plain-HTTP CDN listener (garbage, bad versions, huge header lines, thousands of headers,
//! conflicting lengths, bodies on GET, traversal paths) and 500 requests with forged or
//! malformed `X-Matrix` headers arrive on the HTTPS listener. Afterwards the peer still answers
//! every scenario as [`scenario::answer`] says, its resident memory grew by less than 64 MiB,
//! and no answer ever contained a file from outside its fixtures directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use mediaconf::peer::scenario::{self, Context, Endpoint, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SECRET: &str = "this file is outside the fixtures";

/// Kills the peer when the test ends, also when it panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The malformed request number `i` (ten kinds, in turn).
fn malformed(i: usize) -> Vec<u8> {
    match i % 10 {
        0 => b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n".to_vec(),
        1 => b"GET /cdn/inline-bytes_1 HTTP/9.9\r\n\r\n".to_vec(),
        2 => format!("GET /cdn/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100_000)).into_bytes(),
        3 => {
            let mut r = b"GET /cdn/inline-bytes_1 HTTP/1.1\r\nHost: x\r\n".to_vec();
            for n in 0..2000 {
                r.extend_from_slice(format!("X-H{n}: v\r\n").as_bytes());
            }
            r.extend_from_slice(b"\r\n");
            r
        }
        4 => b"GET /cdn/inline-bytes_1 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
        5 => {
            let mut r =
                b"GET /cdn/inline-bytes_1 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
                    .to_vec();
            r.extend(std::iter::repeat_n(b'z', 1_000_000));
            r
        }
        6 => b"GET /cdn/../../../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        7 => b"GET /cdn/..%2F..%2Fsecret.txt HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        8 => b"BREW /cdn/%00%ff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        _ => format!("GET /{} HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n", "x/".repeat(500), "y".repeat(70_000)).into_bytes(),
    }
}

/// Sends `request` on a new connection and reads what comes back (at most 64 KiB or 2 s).
async fn send_raw(addr: &str, request: &[u8]) -> Vec<u8> {
    let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
        return Vec::new();
    };
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while answer.len() < 65_536 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn the_peer_survives_abuse_and_still_serves_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = dir.path().join("fixtures");
    std::fs::create_dir(&fixtures).unwrap();
    std::fs::write(fixtures.join("ok.txt"), "a fixture").unwrap();
    std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), fixtures.join("escape.txt")).unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let cdn = format!("127.0.0.1:{}", free_port());
    // The peer's server name: a loopback listen address signs as localhost:PORT.
    let name = listen.replace("127.0.0.1", "localhost");
    let child = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args([
            "peer",
            "--listen",
            &listen,
            "--cdn-listen",
            &cdn,
            "--fixtures",
        ])
        .arg(&fixtures)
        .arg("--signing-key")
        .arg(dir.path().join("k.key"))
        .arg("--ca-out")
        .arg(dir.path().join("ca.pem"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mediaconf peer");
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("peer output").expect("utf-8 line");
        if line.starts_with("Requests") {
            break;
        }
    }
    // Drain the request log so the peer never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let pid = child.0.id();
    let http = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("https://{listen}");
    let warm = http
        .get(format!(
            "{base}/_matrix/federation/v1/media/download/inline-bytes_warm"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(warm.status(), 200);
    let before = rss_kib(pid);

    // 1,000 connections that never send anything, open for the whole flood.
    let mut idle = Vec::new();
    for i in 0..1000 {
        let addr = if i % 2 == 0 { &listen } else { &cdn };
        if let Ok(s) = tokio::net::TcpStream::connect(addr).await {
            idle.push(s);
        }
    }
    assert!(
        idle.len() >= 990,
        "only {} idle connections opened",
        idle.len()
    );

    // 10,000 malformed requests in a row on the CDN listener.
    let mut leaked = 0;
    for i in 0..10_000 {
        let answer = send_raw(&cdn, &malformed(i)).await;
        if String::from_utf8_lossy(&answer).contains(SECRET) {
            leaked += 1;
        }
    }
    assert_eq!(leaked, 0, "a malformed request got the secret file");

    // 500 forged or malformed X-Matrix headers on the HTTPS listener.
    let headers = [
        "X-Matrix origin=\"127.0.0.1:1\",key=\"ed25519:a\",sig=\"AAAA\"".to_string(),
        "X-Matrix garbage".to_string(),
        format!(
            "X-Matrix origin=\"o\",key=\"ed25519:a\",sig=\"{}\"",
            "A".repeat(8000)
        ),
        "X-Matrix origin=\"a\\\"b\",key=\"nope\",sig=\"!!\"".to_string(),
        "Bearer abc".to_string(),
    ];
    for i in 0..500 {
        let answer = http
            .get(format!(
                "{base}/_matrix/federation/v1/media/download/not-found_{i}"
            ))
            .header("Authorization", &headers[i % headers.len()])
            .send()
            .await
            .expect("the peer answers forged headers");
        assert_eq!(answer.status(), 404);
    }
    for path in [
        "/cdn/fixture_escape-txt".to_string(),
        format!("/_matrix/media/v3/download/{name}/fixture_escape-txt"),
        format!("/_matrix/media/v3/download/{name}/..%2Fsecret.txt"),
        format!("/_matrix/media/v3/download/{name}/%252e%252e%252fsecret.txt"),
        "/cdn/%2e%2e/%2e%2e/secret.txt".to_string(),
    ] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert!(answer.status().is_client_error(), "{path}");
        assert!(!answer.text().await.unwrap().contains(SECRET), "{path}");
    }
    drop(idle);

    // Every scenario still answers as it should, all at once.
    let png = mediaconf::peer::media::DEFAULT_PNG;
    let checks = Scenario::ALL.iter().map(|s| {
        let http = http.clone();
        let base = base.clone();
        async move {
            let media_id = format!("{}_after", s.name());
            let ctx = Context {
                png,
                media_id: &media_id,
                cdn_http: "http://unused",
                peer_https: "https://unused",
            };
            let want = scenario::answer(*s, Endpoint::FederationDownload, &ctx).status;
            let got = http
                .get(format!(
                    "{base}/_matrix/federation/v1/media/download/{media_id}"
                ))
                .send()
                .await
                .map(|r| r.status().as_u16());
            (*s, want, got.map_err(|e| e.to_string()))
        }
    });
    for (s, want, got) in futures_util::future::join_all(checks).await {
        assert_eq!(got, Ok(want), "{s:?} after the abuse");
    }
    let fixture = http
        .get(format!(
            "{base}/_matrix/media/v3/download/{name}/fixture_ok-txt"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(fixture.text().await.unwrap(), "a fixture");

    let after = rss_kib(pid);
    println!("peer RSS: {before} KiB before the abuse, {after} KiB after");
    assert!(
        after < before + 64 * 1024,
        "the peer grew from {before} KiB to {after} KiB"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}
