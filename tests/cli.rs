//! The command line: exit codes and messages for usage, suite and preflight errors, and `list`.

use std::process::Command;

mod harness;
#[allow(dead_code)]
mod support;

use harness::mediaconf;

#[test]
fn list_shows_every_case_with_level_versions_and_reference() {
    let (code, stdout, _) = mediaconf(&["list"]);
    assert_eq!(code, 0);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("C-04 "))
        .expect("C-04 listed");
    assert!(
        line.contains("MUST") && line.contains("v1.12+") && line.contains("Content-Disposition"),
        "{line}"
    );
    let (code, guest, _) = mediaconf(&["list", "--profile", "guest"]);
    assert_eq!(code, 0);
    assert!(guest.lines().filter(|l| l.starts_with('H')).count() >= 15);
    assert!(!guest.contains("C-04"));
}

#[test]
fn unknown_profile_is_a_usage_error_naming_the_known_ones() {
    let (code, _, stderr) = mediaconf(&["list", "--profile", "clients"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown profile `clients`") && stderr.contains("client, "),
        "{stderr}"
    );
}

#[test]
fn bad_flags_are_usage_errors() {
    assert_eq!(mediaconf(&["run"]).0, 2, "--target is required");
    let (code, _, stderr) = mediaconf(&["run", "--target", "ftp://x"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("is not an http(s) URL"), "{stderr}");
    let (code, _, stderr) = mediaconf(&["run", "--target", "http://127.0.0.1:1", "--spec", "1.12"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("--spec: `1.12` is not a spec version"),
        "{stderr}"
    );
    let (code, _, stderr) = mediaconf(&[
        "run",
        "--target",
        "http://127.0.0.1:1",
        "--user-token",
        "a",
        "--registration-token",
        "b",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("give only one of"), "{stderr}");
    assert_eq!(
        mediaconf(&["run", "--target", "http://127.0.0.1:1", "--jobs", "0"]).0,
        2
    );
}

#[test]
fn a_bad_baseline_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.txt");
    std::fs::write(&path, "C-01 known\nC-02\n").unwrap();
    let (code, _, stderr) = mediaconf(&[
        "run",
        "--target",
        "http://127.0.0.1:1",
        "--baseline",
        path.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("b.txt:2: `C-02` has no reason"), "{stderr}");
}

#[test]
fn an_unreachable_target_is_a_preflight_error_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));
    let (code, _, stderr) = mediaconf(&[
        "run",
        "--target",
        "http://127.0.0.1:1",
        "--timeout",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("client API is not reachable"), "{stderr}");
    assert!(
        stderr.contains("fix: check --target http://127.0.0.1:1"),
        "{stderr}"
    );
    // The reports are still written, so CI shows why nothing ran.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let report = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!(report.test_suites[0].name.as_str(), "preflight");
    assert_eq!(report.errors, 1);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(doc["error"].as_str().unwrap().contains("not reachable"));
}

#[test]
fn a_bad_suite_directory_is_a_suite_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("x.toml"),
        "profile = \"x\"\n[[case]]\nid = \"X-01\"\nlevl = \"MUST\"\n",
    )
    .unwrap();
    let (code, _, stderr) = mediaconf(&["list", "--suite", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("x.toml:4:1"), "{stderr}");
    assert!(stderr.contains("unknown field `levl`"), "{stderr}");
}

#[test]
fn keygen_writes_a_0600_synapse_format_key_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    let (code, stdout, stderr) = mediaconf(&["keygen", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let text = std::fs::read_to_string(&path).unwrap();
    let fields: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(fields.len(), 3, "ed25519 <version> <seed>: {text}");
    assert_eq!(fields[0], "ed25519");
    assert!(
        stdout.contains(&format!("ed25519:{}", fields[1])),
        "{stdout}"
    );
    assert!(
        !stdout.contains(fields[2]) && !stderr.contains(fields[2]),
        "the seed is never printed"
    );
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (code, _, stderr) = mediaconf(&["keygen", "--out", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("refusing to overwrite") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "not overwritten"
    );
    // The key exists, the CA does not: the CA is created, the key kept, and that is success.
    let ca = dir.path().join("ca.pem");
    let (code, stdout, stderr) = mediaconf(&[
        "keygen",
        "--out",
        path.to_str().unwrap(),
        "--peer-ca-out",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(ca.is_file(), "the missing CA is created");
    assert!(stdout.contains("kept the existing key"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "key kept");
    let (code, _, stderr) = mediaconf(&[
        "keygen",
        "--out",
        path.to_str().unwrap(),
        "--peer-ca-out",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "nothing missing: the overwrite is refused");
    assert!(stderr.contains("refusing to overwrite"), "{stderr}");
    let (code, _, _) = mediaconf(&["keygen", "--out", path.to_str().unwrap(), "--force"]);
    assert_eq!(code, 0);
    assert_ne!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "--force replaces it"
    );
}

#[test]
fn list_selects_cases_by_glob() {
    let (code, stdout, _) = mediaconf(&["list", "--case", "F-2*", "--skip", "F-25.*"]);
    assert_eq!(code, 0);
    let ids: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|id| id.contains('-'))
        .collect();
    assert!(
        ids.contains(&"F-21") && ids.contains(&"F-24.status"),
        "{stdout}"
    );
    assert!(
        ids.iter()
            .all(|id| id.starts_with("F-2") && !id.starts_with("F-25.")),
        "{stdout}"
    );
    let (_, _, stderr) = mediaconf(&["list", "--case", "NOPE-*"]);
    assert!(
        stderr.contains("the pattern `NOPE-*` matches no case id"),
        "{stderr}"
    );
}

#[test]
fn diff_reports_regressions_with_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, cases: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{{\"cases\": [{cases}]}}")).unwrap();
        path.to_str().unwrap().to_string()
    };
    let old = write(
        "old.json",
        r#"{"id":"C-01","outcome":"passed","reason":""},{"id":"C-02","outcome":"failed","reason":"x"}"#,
    );
    let new = write(
        "new.json",
        r#"{"id":"C-01","outcome":"failed","reason":"status: expected 200, got 500"},{"id":"C-02","outcome":"passed","reason":""}"#,
    );
    let (code, stdout, _) = mediaconf(&["diff", &old, &new]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("newly failing (1):"), "{stdout}");
    assert!(
        stdout.contains("C-01") && stdout.contains("passed → failed"),
        "{stdout}"
    );
    assert!(stdout.contains("newly passing (1):"), "{stdout}");
    let (code, stdout, _) = mediaconf(&["diff", &new, &old, "--markdown"]);
    assert_eq!(code, 1, "C-02 fails again: {stdout}");
    assert!(stdout.starts_with("## mediaconf diff"), "{stdout}");
    let (code, stdout, _) = mediaconf(&["diff", &old, &old]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("no changes"), "{stdout}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[]").unwrap();
    let (code, _, stderr) = mediaconf(&["diff", &old, bad.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.json"), "{stderr}");
}

#[test]
fn lint_checks_suite_files_without_a_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "profile = \"mine\"\n[[case]]\nid = \"MY-01\"\ntitle = \"t\"\nlevel = \"MUST\"\nspec = \"x\"\nsince = \"v1.11\"\n[case.request]\npath = \"/_matrix/client/versions\"\n[case.expect]\nstatus = 200\n",
    )
    .unwrap();
    let (code, stdout, stderr) = mediaconf(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with("ok: 1 case(s) in 1 directory"),
        "{stdout}"
    );
    std::fs::write(
        dir.path().join("bad.toml"),
        "profile = \"mine\"\n[[case]]\nid = \"MY-02\"\nstauts = 1\n",
    )
    .unwrap();
    let (code, _, stderr) = mediaconf(&["lint", dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("bad.toml:4:1"), "{stderr}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let (code, stdout, _) = mediaconf(&["completions", "bash"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("mediaconf") && stdout.contains("--allow-skipped"),
        "bash completion"
    );
    let (code, stdout, _) = mediaconf(&["man"]);
    assert_eq!(code, 0);
    assert!(
        stdout.starts_with(".ie") || stdout.contains(".TH mediaconf"),
        "{}",
        &stdout[..200.min(stdout.len())]
    );
}

#[test]
fn a_key_file_readable_by_others_gets_a_warning_with_the_fix() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let (code, _, _) = mediaconf(&["keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(mediaconf::run::preflight::readable_by_others(&key, "the signing key").is_none());
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warning = mediaconf::run::preflight::readable_by_others(&key, "the signing key").unwrap();
    assert!(
        warning.contains("mode 644") && warning.contains("chmod 600"),
        "{warning}"
    );
}

#[test]
fn a_secret_beginning_with_a_dash_is_its_flags_value() {
    for flag in [
        "--registration-shared-secret",
        "--registration-token",
        "--user-token",
    ] {
        let (code, stdout, stderr) = mediaconf(&[
            "run",
            "--no-config",
            "--target",
            "http://127.0.0.1:1",
            flag,
            "-_xSecretFromBase64url",
        ]);
        // The value is taken, so the run gets as far as the (unreachable) target.
        assert_eq!(code, 2, "{flag}: {stderr}");
        assert!(!stderr.contains("unexpected argument"), "{flag}: {stderr}");
        assert!(stderr.contains("not reachable"), "{flag}: {stderr}");
        assert!(
            !stdout.contains("SecretFromBase64url") && !stderr.contains("SecretFromBase64url"),
            "{flag}: the secret was printed"
        );
    }
}

#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(["list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone (as `| head -1` would be): the rest of the list meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!first.is_empty());
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cases_left_out_by_case_are_one_line() {
    let fake = support::fake_target::FakeTarget::start(support::fake_target::Fault::None).await;
    let url = fake.url();
    let (_, stdout, _) = tokio::task::spawn_blocking(move || {
        mediaconf(&[
            "run",
            "--no-config",
            "--color",
            "never",
            "--target",
            &url,
            "--profile",
            "client",
            "--case",
            "A-01.*",
        ])
    })
    .await
    .unwrap();
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("not selected"))
        .collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let n: usize = lines[0]
        .split_whitespace()
        .next()
        .and_then(|w| w.parse().ok())
        .unwrap_or_else(|| panic!("no count in {:?}", lines[0]));
    assert!(n > 50, "{stdout}");
    assert!(lines[0].contains("A-01.*"), "{stdout}");
    assert!(stdout.contains("A-01.download"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_banner_names_the_implementation() {
    use support::fake_target::{FakeTarget, Fault};
    for (fault, name) in [
        (Fault::None, "FakeTarget 0"),
        (Fault::NoFederationVersion, "fake-target/1 (Server header)"),
    ] {
        let fake = FakeTarget::start(fault).await;
        let url = fake.url();
        let (_, stdout, _) = tokio::task::spawn_blocking(move || {
            mediaconf(&[
                "run",
                "--no-config",
                "--color",
                "never",
                "--target",
                &url,
                "--case",
                "A-01.versions",
            ])
        })
        .await
        .unwrap();
        let banner = stdout
            .lines()
            .find(|l| l.starts_with("mediaconf "))
            .unwrap_or("");
        assert!(
            banner.contains(&format!("({name}, spec")),
            "{fault:?}: {stdout}"
        );
    }
}

#[test]
fn an_unknown_auth_variant_is_refused_with_the_known_ones() {
    let (code, _, stderr) = mediaconf(&[
        "request",
        "--target",
        "https://127.0.0.1:1",
        "--auth-variant",
        "nope",
        "GET",
        "/_matrix/federation/v1/media/download/x",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("unknown --auth-variant `nope`") && stderr.contains("unquoted-colon"),
        "{stderr}"
    );
}
