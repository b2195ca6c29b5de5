//! End-to-end: start a real Synapse on loopback (scripts/synapse.sh), run every suite against it
//! with the project's baseline, and check the outcome, the reports and that no secret leaks.
//!
//! Runs when `MEDIACONF_E2E=1` (the README's test command, scripts/test.sh, sets it); otherwise
//! each test says loudly that it did nothing.

mod synapse_support;

mod harness;

use std::path::Path;

use synapse_support::{Synapse, e2e_enabled, repo};

const SECRET: &str = "mediaconf-test-registration-shared-secret";

/// `mediaconf run` against `target` with the shared secret, our key, CA and key-server address,
/// and `extra` flags.
fn run_signed(
    target: &str,
    key: &std::path::Path,
    ca: &std::path::Path,
    listen: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let mut args = vec![
        "run",
        "--target",
        target,
        "--registration-shared-secret",
        SECRET,
        // Synapse's federation listener has a self-signed certificate.
        "--insecure",
        "--signing-key",
        key.to_str().unwrap(),
        "--peer-ca-out",
        ca.to_str().unwrap(),
        "--peer-listen",
        listen,
        "--color",
        "never",
    ];
    args.extend_from_slice(extra);
    harness::mediaconf(&args)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn full_suites_against_synapse() {
    if !e2e_enabled("full_suites_against_synapse") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    let markdown = dir.path().join("r.md");
    let key = dir.path().join("signing.key");
    let ca = dir.path().join("ca.pem");
    // Our key and CA exist before Synapse starts, so Synapse verifies our key server's
    // certificate against the CA instead of skipping certificate checks.
    let (code, _, stderr) = harness::mediaconf(&[
        "keygen",
        "--out",
        key.to_str().unwrap(),
        "--peer-ca-out",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "keygen: {stderr}");
    let synapse = Synapse::start_trusting("synapse-e2e", 28008, 28448, Some(&ca));
    let config = read(&repo().join("target/synapse-e2e/homeserver.yaml"));
    assert!(
        config.contains("federation_verify_certificates: true"),
        "Synapse verifies federation certificates"
    );
    let target = synapse.url();
    let baseline = repo().join("baseline/synapse.toml");
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = harness::mediaconf(&[
        "run",
        "--target",
        &target,
        "--registration-shared-secret",
        SECRET,
        // Synapse's federation listener has a self-signed certificate.
        "--insecure",
        "--baseline",
        baseline.to_str().unwrap(),
        "--strict-baseline",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--markdown",
        markdown.to_str().unwrap(),
        "--signing-key",
        key.to_str().unwrap(),
        "--peer-ca-out",
        ca.to_str().unwrap(),
        "--peer-listen",
        "127.0.0.1:28450",
        "--jobs",
        "8",
        "--color",
        "never",
    ]);
    eprintln!(
        "{stdout}\n{stderr}\nwhole run: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        code, 0,
        "mediaconf exit code (1 = a failure not in baseline/synapse.toml, or a baseline entry that now passes)"
    );

    let report: serde_json::Value = serde_json::from_str(&read(&json)).expect("JSON report parses");
    let cases = report["cases"].as_array().expect("cases array");
    let client_side = ["client", "guest", "legacy"];
    let ran = cases
        .iter()
        .filter(|c| {
            client_side.contains(&c["profile"].as_str().unwrap_or("")) && c["outcome"] != "skipped"
        })
        .count();
    assert!(ran >= 80, "only {ran} client-side cases ran");
    let federation_ran = cases
        .iter()
        .filter(|c| c["profile"] == "federation" && c["outcome"] != "skipped")
        .count();
    assert!(
        federation_ran >= 30,
        "only {federation_ran} federation cases ran"
    );
    let remote_ran = cases
        .iter()
        .filter(|c| c["profile"] == "remote" && c["outcome"] != "skipped")
        .count();
    assert!(
        remote_ran >= 40,
        "only {remote_ran} remote cases ran (did Synapse fetch from the mock peer?)"
    );
    let key_text = read(&key);
    // The CA's private key (base64 lines of its PEM) must never be printed either.
    let ca_key_lines: Vec<String> = read(&repo_ca_key(&ca))
        .lines()
        .filter(|l| l.len() >= 40 && !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    assert!(!ca_key_lines.is_empty(), "the CA key file has a PEM body");
    let seed = key_text
        .split_whitespace()
        .nth(2)
        .expect("key file: ed25519 <version> <seed>");
    assert!(
        std::fs::metadata(&key)
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777)
            .unwrap()
            == 0o600
    );
    for case in cases {
        let outcome = case["outcome"].as_str().unwrap_or("");
        assert!(
            matches!(
                outcome,
                "passed" | "warned" | "skipped" | "expected-failure"
            ),
            "{} ended {outcome}: {}",
            case["id"],
            case["reason"]
        );
        let reason = case["reason"].as_str().unwrap_or("");
        assert!(
            case["set_up"].is_null(),
            "{} was not run for a set-up problem the harness should not have: {reason}",
            case["id"]
        );
    }
    let expected = cases
        .iter()
        .filter(|c| c["outcome"] == "expected-failure")
        .count();
    assert_eq!(
        expected,
        read(&baseline).matches("[[expected]]").count(),
        "every baseline entry is still a real failure"
    );

    let xml = read(&junit);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("JUnit XML is well-formed");
    assert!(parsed.test_suites.len() >= 3, "one testsuite per profile");

    for (name, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("junit", &xml),
        ("json", &read(&json)),
        ("markdown", &read(&markdown)),
    ] {
        assert!(
            !text.contains(SECRET),
            "the registration shared secret appears in {name}"
        );
        assert!(
            !text.contains("syt_"),
            "a Synapse access token appears in {name}"
        );
        assert!(!text.contains(seed), "the signing key appears in {name}");
        for line in &ca_key_lines {
            assert!(
                !text.contains(line.as_str()),
                "the CA key appears in {name}"
            );
        }
    }

    // The opt-in probe profiles: every probe reads "implemented…" or "not implemented…", and
    // no secret appears in what they print either.
    let probes_json = dir.path().join("probes.json");
    let (code, stdout, stderr) = run_signed(
        &target,
        &key,
        &ca,
        "127.0.0.1:28450",
        &[
            "--profile",
            "msc1902,unstable",
            "--json",
            probes_json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "probe profiles: {stdout}\n{stderr}");
    let probes_text = read(&probes_json);
    for (name, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("json", &probes_text),
    ] {
        assert!(
            !text.contains(SECRET) && !text.contains("syt_") && !text.contains(seed),
            "a secret appears in the probe run's {name}"
        );
    }
    let probes: serde_json::Value = serde_json::from_str(&probes_text).unwrap();
    for case in probes["cases"].as_array().unwrap() {
        let reason = case["reason"].as_str().unwrap_or("");
        assert!(reason.contains("implemented"), "{}: {reason}", case["id"]);
    }

    // Repeatable: the federation profile again, with the same key, CA and key-server address
    // (Synapse has cached our key document, and the first run's K-02 rotated keys), gives the
    // same outcome for every case.
    let again_json = dir.path().join("again.json");
    let (code, stdout, stderr) = run_signed(
        &target,
        &key,
        &ca,
        "127.0.0.1:28450",
        &[
            "--profile",
            "federation",
            "--json",
            again_json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "second federation run: {stdout}\n{stderr}");
    let again: serde_json::Value = serde_json::from_str(&read(&again_json)).unwrap();
    let outcomes = |cases: &[serde_json::Value]| -> Vec<(String, String)> {
        cases
            .iter()
            .filter(|c| c["profile"] == "federation")
            .map(|c| (c["id"].to_string(), c["outcome"].to_string()))
            .collect()
    };
    assert_eq!(
        outcomes(cases),
        outcomes(again["cases"].as_array().unwrap()),
        "the second run differs: {stdout}"
    );

    // The CA really is what Synapse trusts: a key server with another CA (and a new server
    // name, so nothing is cached) cannot be reached, and federation cases are skipped with the fix.
    let other_ca = dir.path().join("other-ca.pem");
    let (code, stdout, stderr) = run_signed(
        &target,
        &key,
        &other_ca,
        "127.0.0.1:28451",
        &["--profile", "federation"],
    );
    assert_eq!(
        code, 2,
        "the requested federation profile did not run: exit 2\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("never fetched our key")
            && stdout.contains("must reach https://localhost:28451/_matrix/key/v2/server"),
        "{stdout}"
    );
    assert!(stdout.contains("federation_custom_ca_list"), "{stdout}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("did not run:") && l.contains("--allow-skipped federation")),
        "{stderr}"
    );
}

/// Where mediaconf keeps the key of the CA written to `ca` (`<ca>.key`).
fn repo_ca_key(ca: &std::path::Path) -> std::path::PathBuf {
    mediaconf::peer::server::ca_key_path(ca)
}

#[test]
fn user_token_and_registration_token_never_printed() {
    if !e2e_enabled("user_token_and_registration_token_never_printed") {
        return;
    }
    let synapse = Synapse::start("synapse-e2e-token", 28009, 28449);
    let target = synapse.url();
    let token = register(&target);
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let json = dir.path().join("r.json");
    let (code, stdout, stderr) = harness::mediaconf(&[
        "run",
        "--target",
        &target,
        "--user-token",
        &token,
        "--profile",
        "legacy",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert!(
        code == 0 || code == 1,
        "run finished (exit {code}): {stderr}"
    );
    assert!(stdout.contains("(from --user-token)"), "{stdout}");
    for (name, text) in [
        ("stdout", &stdout),
        ("stderr", &stderr),
        ("junit", &read(&junit)),
        ("json", &read(&json)),
    ] {
        assert!(!text.contains(&token), "--user-token appears in {name}");
    }
    // A registration token is a secret too. This Synapse has open registration, so the run
    // registers with m.login.dummy and the token is never needed; it must not be printed anyway.
    let secret = "mediaconf-secret-regtoken-42";
    let (code, stdout, stderr) = harness::mediaconf(&[
        "run",
        "--target",
        &target,
        "--registration-token",
        secret,
        "--profile",
        "legacy",
    ]);
    assert!(
        code == 0 || code == 1,
        "run finished (exit {code}): {stderr}"
    );
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
}

/// Registers a user with m.login.dummy and returns its access token.
fn register(target: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let body = serde_json::json!({
            "username": format!("e2etoken{}", std::process::id()),
            "password": "pw-e2e",
            "auth": {"type": "m.login.dummy"}
        });
        let resp: serde_json::Value = reqwest::Client::new()
            .post(format!("{target}/_matrix/client/v3/register"))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        resp["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    })
}
