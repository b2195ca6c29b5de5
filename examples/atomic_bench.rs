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
mod common;
#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use support::fake_target::{FakeTarget, Fault};

/// One run of C-26 against a fresh fake: its outcome (`passed`, `failed`, …).
async fn run_once(fault: Fault) -> Result<String, String> {
    let fake = FakeTarget::start(fault).await;
    let text = common::run_for_report(&["--case", "C-26"], &fake.url()).await;
    drop(fake);
    let report: serde_json::Value = serde_json::from_str(&text?).map_err(|e| e.to_string())?;
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
