//! A hostile target: a download that never answers, one that streams an endless body, and one
//! that puts terminal escape codes in its answers. The run must end, report each case with the
//! reason, and keep the output clean.

use std::process::Command;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};

const SUITE: &str = r#"
profile = "hostile"

[[case]]
id = "X-01"
title = "a download that never answers"
level = "MUST"
spec = "hostile"
since = "v1.1"
[case.request]
path = "/hang"
auth = "none"
[case.expect]
status = 200

[[case]]
id = "X-02"
title = "a download that never ends"
level = "MUST"
spec = "hostile"
since = "v1.1"
[case.request]
path = "/endless"
auth = "none"
[case.expect]
status = 200
body-equals = "png"

[[case]]
id = "X-03"
title = "an answer with terminal escape codes"
level = "MUST"
spec = "hostile"
since = "v1.1"
[case.request]
path = "/escape"
auth = "none"
[case.expect]
status = 200
"#;

async fn serve() -> std::net::SocketAddr {
    let app = Router::new()
        .route(
            "/_matrix/client/versions",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], r#"{"versions":["v1.12"]}"#) }),
        )
        .route(
            "/_matrix/client/v3/register",
            post(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"user_id":"@u:hostile.test","access_token":"hostile_token_123","device_id":"D"}"#,
                )
            }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        )
        .route(
            "/endless",
            get(|| async {
                let chunk = bytes_of(64 * 1024);
                let stream = futures_stream(chunk);
                Body::from_stream(stream).into_response()
            }),
        )
        .route(
            "/escape",
            get(|| async {
                (StatusCode::IM_A_TEAPOT, [(header::CONTENT_TYPE, "application/json")], "{\"errcode\":\"\u{1b}[2J\u{1b}[31mPWNED\"}")
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn bytes_of(n: usize) -> Vec<u8> {
    vec![b'x'; n]
}

/// An endless stream of the same chunk.
fn futures_stream(
    chunk: Vec<u8>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send {
    struct Endless(Vec<u8>);
    impl futures_core::Stream for Endless {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(Some(Ok(self.0.clone())))
        }
    }
    Endless(chunk)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_target_cannot_hang_or_flood_the_run() {
    let addr = serve().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.toml"), SUITE).unwrap();
    let json = dir.path().join("r.json");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking({
        let (dir, json) = (dir.path().to_path_buf(), json.clone());
        move || {
            Command::new(env!("CARGO_BIN_EXE_mediaconf"))
                .args([
                    "run",
                    "--target",
                    &format!("http://{addr}"),
                    "--suite",
                    dir.to_str().unwrap(),
                ])
                .args([
                    "--profile",
                    "hostile",
                    "--timeout",
                    "3",
                    "--deadline",
                    "60",
                    "--max-body-mib",
                    "1",
                ])
                .args(["--json", json.to_str().unwrap(), "--color", "always"])
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(took < Duration::from_secs(30), "the run took {took:?}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let reason = |id: &str| {
        doc["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap()["reason"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        reason("X-01").contains("no complete response within 3.0 s"),
        "{}",
        reason("X-01")
    );
    assert!(
        reason("X-02").contains("truncated at the body cap"),
        "{}",
        reason("X-02")
    );
    assert!(reason("X-03").contains("418"), "{}", reason("X-03"));
    assert!(
        !stdout.contains("\u{1b}[2J"),
        "the target's escape codes reach the terminal"
    );
    assert!(
        stdout.contains("1b 5b 32 4a"),
        "a body with control characters is shown as bytes: {stdout}"
    );
    assert!(
        !stdout.contains("hostile_token_123"),
        "the access token is redacted"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_target_without_spec_versions_is_a_preflight_error() {
    let app = Router::new().route(
        "/_matrix/client/versions",
        get(|| async {
            (
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"versions":"v1.12"}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .args([
                "run",
                "--target",
                &format!("http://{addr}"),
                "--timeout",
                "5",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("advertises no spec version"), "{stderr}");
    assert!(stderr.contains("--spec"), "{stderr}");
}
