//! Interrupts: a real SIGINT or SIGTERM sent to the real binary while a case hangs stops the run
//! at once (long before the request's timeout), marks the unfinished case `interrupted`, still
//! writes the JUnit and JSON reports, and exits with the documented code 130. An interrupt during
//! preflight writes the reports with the error; a second interrupt exits at once.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::header;
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
title = "a quick answer"
level = "MUST"
spec = "hostile"
since = "v1.1"
[case.request]
path = "/quick"
auth = "none"
[case.expect]
status = 200
"#;

/// What the target has been asked so far, route by route (so a test signals the run once it is
/// where the test wants it, not after a guessed delay).
type Seen = tokio::sync::mpsc::UnboundedReceiver<&'static str>;

/// A target whose discovery and registration answer, and whose `/hang` never does; with
/// `hang_versions`, `/versions` never answers either (an interrupt during preflight).
async fn serve(hang_versions: bool) -> (std::net::SocketAddr, Seen) {
    let (seen_tx, seen) = tokio::sync::mpsc::unbounded_channel();
    let (versions_tx, quick_tx, hang_tx) = (seen_tx.clone(), seen_tx.clone(), seen_tx);
    let app = Router::new()
        .route(
            "/_matrix/client/versions",
            get(move || async move {
                let _ = versions_tx.send("versions");
                if hang_versions {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                ([(header::CONTENT_TYPE, "application/json")], r#"{"versions":["v1.12"]}"#)
            }),
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
            "/quick",
            get(move || async move {
                let _ = quick_tx.send("quick");
                "ok"
            }),
        )
        .route(
            "/hang",
            get(move || async move {
                let _ = hang_tx.send("hang");
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "never"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, seen)
}

struct Outcome {
    code: Option<i32>,
    stopped_after: Duration,
    stderr: String,
    junit: Option<String>,
    json: Option<serde_json::Value>,
}

/// Starts a run against the target, waits until the target has been asked every route in
/// `wait_for` (and 200 ms more, for the answers to be read), sends `signals` (e.g. `["-INT"]`)
/// to it and collects what it left.
async fn interrupt_run(
    (addr, mut seen): (std::net::SocketAddr, Seen),
    wait_for: &[&str],
    signals: &[&str],
) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hostile.toml"), SUITE).unwrap();
    let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(["run", "--target", &format!("http://{addr}"), "--suite"])
        .arg(dir.path())
        .args([
            "--profile",
            "hostile",
            "--timeout",
            "120",
            "--color",
            "never",
            "--junit",
        ])
        .arg(&junit)
        .arg("--json")
        .arg(&json)
        .env_remove("MEDIACONF_TARGET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start mediaconf");
    let mut missing: Vec<&str> = wait_for.to_vec();
    let reached = tokio::time::timeout(Duration::from_secs(30), async {
        while !missing.is_empty() {
            let Some(route) = seen.recv().await else {
                break;
            };
            missing.retain(|m| *m != route);
        }
        missing.is_empty()
    })
    .await
    .unwrap_or(false);
    if !reached {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the run never asked the target for all of {wait_for:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().to_string();
    let sent = Instant::now();
    for signal in signals {
        let status = Command::new("kill")
            .args([*signal, pid.as_str()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }
    // The run must end long before the 120 s request timeout; give up after 20 s.
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if sent.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mediaconf did not stop within 20 s of the interrupt");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let stopped_after = sent.elapsed();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Outcome {
        code,
        stopped_after,
        stderr,
        junit: std::fs::read_to_string(&junit).ok(),
        json: std::fs::read_to_string(&json)
            .ok()
            .map(|t| serde_json::from_str(&t).expect("the JSON report parses")),
    }
}

fn check_interrupted_run(run: &Outcome, how: &str) {
    assert_eq!(run.code, Some(130), "{how}: exit code\n{}", run.stderr);
    assert!(
        run.stopped_after < Duration::from_secs(5),
        "{how}: stopped {:?} after the signal, not at once",
        run.stopped_after
    );
    assert!(
        run.stderr.contains("interrupted: stopping the cases"),
        "{}",
        run.stderr
    );
    let json = run.json.as_ref().expect("JSON report written");
    let cases = json["cases"].as_array().unwrap();
    let outcome = |id: &str| {
        cases
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["outcome"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(outcome("X-01"), "interrupted", "{how}: {json}");
    assert_eq!(
        outcome("X-02"),
        "passed",
        "{how}: the finished case keeps its verdict"
    );
    assert_eq!(json["summary"]["interrupted"], 1);
    let junit = run.junit.as_ref().expect("JUnit report written");
    let parsed = quick_junit::Report::deserialize_from_str(junit).expect("JUnit parses");
    assert!(
        parsed.errors >= 1,
        "the interrupted case is a JUnit error: {junit}"
    );
    assert!(junit.contains("interrupted"), "{junit}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_the_run_and_writes_the_reports() {
    let run = interrupt_run(serve(false).await, &["hang", "quick"], &["-INT"]).await;
    check_interrupted_run(&run, "SIGINT");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_the_run_and_writes_the_reports() {
    let run = interrupt_run(serve(false).await, &["hang", "quick"], &["-TERM"]).await;
    check_interrupted_run(&run, "SIGTERM");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupt_during_preflight_still_writes_the_reports() {
    let run = interrupt_run(serve(true).await, &["versions"], &["-INT"]).await;
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.stopped_after < Duration::from_secs(5));
    let json = run.json.expect("JSON report written");
    assert!(
        json["error"].as_str().unwrap_or("").contains("interrupted"),
        "{json}"
    );
    assert!(run.junit.expect("JUnit written").contains("interrupted"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_interrupt_exits_at_once() {
    // Two signals back to back: the second arrives while the first is being handled, or after
    // the run ended; either way the process exits 130 at once.
    let run = interrupt_run(serve(true).await, &["versions"], &["-INT", "-INT"]).await;
    assert_eq!(run.code, Some(130), "{}", run.stderr);
    assert!(run.stopped_after < Duration::from_secs(5));
}
