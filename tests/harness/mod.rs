//! Shared by the fault-matrix tests: runs the `mediaconf` binary with a JSON report, reads the
//! report back, and compares the cases a run broke with the cases a fault should break.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::process::Command;

use serde_json::Value;

/// Runs the `mediaconf` binary to completion, without the caller's MEDIACONF_* settings:
/// (exit code, stdout, stderr).
pub fn mediaconf(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(args)
        .env_remove("MEDIACONF_TARGET")
        .env_remove("MEDIACONF_REGISTRATION_TOKEN")
        .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
        .env_remove("MEDIACONF_USER_TOKEN")
        .output()
        .expect("run mediaconf");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One case of the JSON report.
#[derive(Debug)]
pub struct CaseResult {
    pub level: String,
    pub outcome: String,
    pub reason: String,
    /// The first `curl` reproduction among the case's steps.
    pub reproduction: Option<String>,
}

/// What one run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub exit_code: Option<i32>,
    pub cases: BTreeMap<String, CaseResult>,
    /// Exit code, stdout and stderr, for failure messages.
    pub output: String,
}

/// `--peer-listen` on a free loopback port, `--signing-key DIR/k.key` and `--peer-ca-out
/// DIR/ca.pem`: the flags of every run that signs requests or serves the mock peer.
pub fn peer_args(dir: &std::path::Path) -> Vec<OsString> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    vec![
        "--peer-listen".into(),
        format!("127.0.0.1:{port}").into(),
        "--signing-key".into(),
        dir.join("k.key").into(),
        "--peer-ca-out".into(),
        dir.join("ca.pem").into(),
    ]
}

/// Runs `mediaconf run <args> --json <tmp> --color never --quiet --no-config` with the
/// developer's own `MEDIACONF_*` settings and `mediaconf.toml` left out, and reads the report. `label` names the run in panics.
pub async fn run_mediaconf(args: Vec<OsString>, label: String) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let json_path = dir.path().join("report.json");
    let path = json_path.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .arg("run")
            .args(args)
            .arg("--json")
            .arg(&path)
            .args(["--color", "never", "--quiet", "--no-config"])
            .env_remove("MEDIACONF_TARGET")
            .env_remove("MEDIACONF_REGISTRATION_TOKEN")
            .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
            .env_remove("MEDIACONF_USER_TOKEN")
            .output()
    })
    .await
    .expect("mediaconf runner task")
    .expect("start mediaconf");
    let output_text = format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(&json_path)
        .unwrap_or_else(|e| panic!("{label}: no JSON report ({e}); {output_text}"));
    let json: Value = serde_json::from_str(&text).expect("JSON report parses");
    let field = |c: &Value, k: &str| {
        c.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let cases = json
        .get("cases")
        .and_then(Value::as_array)
        .expect("report has cases")
        .iter()
        .map(|c| {
            let result = CaseResult {
                level: field(c, "level"),
                outcome: field(c, "outcome"),
                reason: field(c, "reason"),
                reproduction: c
                    .get("steps")
                    .and_then(Value::as_array)
                    .and_then(|steps| {
                        steps
                            .iter()
                            .find_map(|s| s.get("reproduction").and_then(Value::as_str))
                    })
                    .map(str::to_string),
            };
            (field(c, "id"), result)
        })
        .collect();
    Run {
        exit_code: output.status.code(),
        cases,
        output: output_text,
    }
}

/// Compares the failed and warned cases with `expected`: every broken case must be expected and
/// have a reason, MUST cases fail and others warn, and every expected case must be broken.
/// Problems are appended; returns whether any case failed (which means exit code 1).
pub fn compare_broken(
    cases: &BTreeMap<String, CaseResult>,
    expected: &[&str],
    problems: &mut Vec<String>,
) -> bool {
    let expected_set: BTreeSet<&str> = expected.iter().copied().collect();
    if expected_set.len() != expected.len() {
        problems.push("breaks() lists an id twice".to_string());
    }
    let broken: BTreeMap<&str, &CaseResult> = cases
        .iter()
        .filter(|(_, c)| matches!(c.outcome.as_str(), "failed" | "warned"))
        .map(|(id, c)| (id.as_str(), c))
        .collect();
    for (id, c) in &broken {
        if !expected_set.contains(id) {
            problems.push(format!(
                "{id} is {} but not listed in breaks(): {}",
                c.outcome, c.reason
            ));
        } else if c.reason.trim().is_empty() {
            problems.push(format!("{id} is {} without a reason", c.outcome));
        }
        let want = if c.level == "MUST" {
            "failed"
        } else {
            "warned"
        };
        if c.outcome != want {
            problems.push(format!("{id} is a {} case but {}", c.level, c.outcome));
        }
    }
    for id in &expected_set {
        match cases.get(*id) {
            None => problems.push(format!(
                "{id} is listed in breaks() but is not a case of the run"
            )),
            Some(c) if !broken.contains_key(id) => problems.push(format!(
                "{id} is listed in breaks() but {} ({})",
                c.outcome, c.reason
            )),
            Some(_) => {}
        }
    }
    broken.values().any(|c| c.outcome == "failed")
}

/// Checks the INFO cases a fault must show as an observation: each is an INFO case whose
/// reason is a finding ("observed: CHECK: …"), not only the answer ("observed: answered …").
/// INFO cases never fail or warn, so this is how a fault matrix proves they still notice.
pub fn compare_observed(
    cases: &BTreeMap<String, CaseResult>,
    expected: &[&str],
    problems: &mut Vec<String>,
) {
    for id in expected {
        match cases.get(*id) {
            None => problems.push(format!(
                "{id} is listed in observes() but is not a case of the run"
            )),
            Some(c) if c.level != "INFO" => {
                problems.push(format!("{id} is listed in observes() but is {}", c.level))
            }
            Some(c)
                if !c.reason.starts_with("observed: ")
                    || c.reason.starts_with("observed: answered") =>
            {
                problems.push(format!(
                    "{id} observed no finding: {} ({})",
                    c.outcome, c.reason
                ))
            }
            Some(_) => {}
        }
    }
}

/// Coverage of a fault matrix: every MUST case that ran in the no-fault run is in `covered`
/// (broken by some fault) or in `not_covered` with a reason, and `not_covered` lists only
/// running MUST cases that no fault breaks. Returns the problems found.
pub fn coverage_problems(
    cases: &BTreeMap<String, CaseResult>,
    covered: &BTreeSet<&str>,
    not_covered: &[(&str, &str)],
) -> Vec<String> {
    let listed: BTreeMap<&str, &str> = not_covered.iter().copied().collect();
    let mut problems = Vec::new();
    for (id, c) in cases {
        let runs_must = c.level == "MUST" && c.outcome != "skipped";
        if runs_must && !covered.contains(id.as_str()) && !listed.contains_key(id.as_str()) {
            problems.push(format!(
                "{id}: a MUST case no fault breaks (add a fault, or a NOT_COVERED entry)"
            ));
        }
    }
    for (id, why) in not_covered {
        if why.trim().is_empty() {
            problems.push(format!("NOT_COVERED {id} has no reason"));
        }
        match cases.get(*id) {
            None => problems.push(format!(
                "NOT_COVERED lists {id}, which is not a case of the run"
            )),
            Some(c) if c.level != "MUST" || c.outcome == "skipped" => problems.push(format!(
                "NOT_COVERED lists {id}, which is {} and {}",
                c.level, c.outcome
            )),
            Some(_) if covered.contains(id) => problems.push(format!(
                "NOT_COVERED lists {id}, but a fault breaks it: remove the entry"
            )),
            Some(_) => {}
        }
    }
    problems
}
