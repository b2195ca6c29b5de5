//! The atomicity benchmark: how often C-26 catches a server that writes media in place.
//!
//! C-26 re-uploads the bytes of a 3.2 MB image twice while twelve downloads and four thumbnails
//! of it run. Against the fault-matrix fake with `WritesMediaInPlace` (a content-addressed file
//! truncated and rewritten in 64 KiB steps while readers read it) the race is likely, not
//! certain; against the conforming fake it can never fail. This prints both rates over 20 runs
//! each. Nothing is asserted.
//!
//! `cargo build --bin mediaconf && cargo run --example atomic_bench [RUNS]`
//! (`MEDIACONF_BIN` names another mediaconf binary.)

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Instant;

use support::fake_target::{FakeTarget, Fault};

fn mediaconf_bin() -> PathBuf {
    std::env::var_os("MEDIACONF_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/mediaconf"),
        PathBuf::from,
    )
}

/// One run of C-26 against a fresh fake: its outcome (`passed`, `failed`, …).
async fn run_once(fault: Fault) -> Result<String, String> {
    let fake = FakeTarget::start(fault).await;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let json = dir.path().join("report.json");
    let mut cmd = std::process::Command::new(mediaconf_bin());
    cmd.args([
        "run",
        "--no-config",
        "--quiet",
        "--case",
        "C-26",
        "--target",
    ])
    .arg(fake.url())
    .arg("--json")
    .arg(&json)
    .env_remove("MEDIACONF_TARGET");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", mediaconf_bin().display()))?;
    drop(fake);
    let text = std::fs::read_to_string(&json)
        .map_err(|e| format!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)))?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    report["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["id"] == "C-26"))
        .and_then(|c| c["outcome"].as_str())
        .map(str::to_owned)
        .ok_or_else(|| "C-26 missing from the report".to_owned())
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20);
    println!(
        "{:<34} {:>6} {:>8} {:>8} {:>10}",
        "target", "runs", "failed", "other", "mean run"
    );
    for (label, fault) in [
        ("racy fake (WritesMediaInPlace)", Fault::WritesMediaInPlace),
        ("conforming fake", Fault::None),
    ] {
        let (mut failed, mut other) = (0, Vec::new());
        let started = Instant::now();
        for _ in 0..runs {
            match run_once(fault).await.as_deref() {
                Ok("failed") => failed += 1,
                Ok("passed") => {}
                Ok(outcome) => other.push(outcome.to_owned()),
                Err(e) => other.push(e.clone()),
            }
        }
        let mean = started.elapsed().as_secs_f64() / runs.max(1) as f64;
        println!(
            "{label:<34} {runs:>6} {failed:>8} {:>8} {mean:>9.2}s",
            other.len()
        );
        for o in other.iter().take(3) {
            println!("  not passed or failed: {o}");
        }
    }
}
