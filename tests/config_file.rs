//! The config file as users meet it: the real binary, run in a directory holding a
//! `mediaconf.toml` (or given `--config FILE`), against the in-process fake homeserver.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use support::fake_target::{FakeTarget, Fault};

/// Runs `mediaconf ARGS` in `dir` without the developer's `MEDIACONF_*` settings.
async fn mediaconf(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (dir, args): (_, Vec<String>) = (
        dir.to_path_buf(),
        args.iter().map(|a| a.to_string()).collect(),
    );
    let out: Output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .args(&args)
            .current_dir(&dir)
            .env_remove("MEDIACONF_TARGET")
            .env_remove("MEDIACONF_REGISTRATION_TOKEN")
            .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
            .env_remove("MEDIACONF_USER_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A file that runs one client case against `target` and writes a JSON report.
fn one_case(target: &str) -> String {
    format!(
        "target = \"{target}\"\nprofile = [\"client\"]\ncase = [\"A-01.versions\"]\n\
         json = \"report.json\"\ntimeout = 5\nsigning-key = \"key\"\npeer-ca-out = \"ca.pem\"\n"
    )
}

fn outcome(report: &Path, id: &str) -> String {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(report).unwrap()).unwrap();
    let case = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id);
    case.unwrap()["outcome"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_file_in_the_current_directory_is_used() {
    let fake = FakeTarget::start(Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mediaconf.toml"), one_case(&fake.url())).unwrap();
    let (code, stdout, stderr) =
        mediaconf(dir.path(), &["run", "--quiet", "--color", "never"]).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report = dir.path().join("report.json");
    assert_eq!(outcome(&report, "A-01.versions"), "passed");
    assert!(
        outcome(&report, "A-02").starts_with("skipped"),
        "only the file's case runs"
    );
}

/// `--no-config` ignores ./mediaconf.toml: without the file's target, the run has none.
#[tokio::test(flavor = "multi_thread")]
async fn no_config_ignores_the_file() {
    let fake = FakeTarget::start(Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mediaconf.toml"), one_case(&fake.url())).unwrap();
    let (code, stdout, stderr) = mediaconf(
        dir.path(),
        &["run", "--no-config", "--quiet", "--color", "never"],
    )
    .await;
    assert_eq!(code, 2, "{stdout}\n{stderr}");
    assert!(
        stderr.contains("target"),
        "names the missing target: {stderr}"
    );
    assert!(
        !dir.path().join("report.json").exists(),
        "the file's report path was not used"
    );
}

/// `--config FILE` from elsewhere: relative paths are the file's; a flag (here `--target` and
/// `--json`) wins over the file.
#[tokio::test(flavor = "multi_thread")]
async fn a_flag_overrides_the_file() {
    let fake = FakeTarget::start(Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ci/conf.toml");
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    // The file's target is unreachable: the run passes only if --target wins.
    std::fs::write(&config, one_case("http://127.0.0.1:1")).unwrap();
    let config = config.to_str().unwrap();
    let (code, stdout, stderr) = mediaconf(
        dir.path(),
        &[
            "run",
            "--config",
            config,
            "--target",
            &fake.url(),
            "--json",
            "flag.json",
            "--quiet",
        ],
    )
    .await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(
        outcome(&dir.path().join("flag.json"), "A-01.versions"),
        "passed"
    );
    assert!(
        !dir.path().join("ci/report.json").exists(),
        "--json replaces the file's json"
    );
    // Without the flags, the file's values count, its paths relative to the file.
    let (code, _, stderr) = mediaconf(dir.path(), &["run", "--config", config, "--quiet"]).await;
    assert_eq!(code, 2, "the file's unreachable target: {stderr}");
    assert!(stderr.contains("not reachable"), "{stderr}");
    let doc = std::fs::read_to_string(dir.path().join("ci/report.json")).unwrap();
    assert!(doc.contains("not reachable"), "{doc}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_key_is_located_and_lists_the_allowed_keys() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mediaconf.toml"),
        "target = \"http://127.0.0.1:1\"\n# reports\n  junti = \"r.xml\"\n",
    )
    .unwrap();
    for command in ["run", "list"] {
        let (code, _, stderr) = mediaconf(dir.path(), &[command]).await;
        assert_eq!(code, 2, "{command}: {stderr}");
        assert!(
            stderr.contains("error: unknown key `junti` (did you mean `junit`?)")
                && stderr.contains("--> mediaconf.toml:3:3")
                && stderr.contains("3 |   junti = \"r.xml\"")
                && stderr.contains("allowed keys: target, server-name, federation-url,"),
            "{command}: {stderr}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_value_is_refused_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mediaconf.toml"),
        "target = \"http://127.0.0.1:1\"\nregistration-shared-secret = \"hunter2-value\"\n",
    )
    .unwrap();
    let (code, stdout, stderr) = mediaconf(dir.path(), &["run"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("--> mediaconf.toml:2:1")
            && stderr.contains("`registration-shared-secret-env = \"VARIABLE\"`"),
        "{stderr}"
    );
    assert!(!format!("{stdout}{stderr}").contains("hunter2"), "{stderr}");
    // The variable the file names must be set.
    std::fs::write(
        dir.path().join("mediaconf.toml"),
        "target = \"http://127.0.0.1:1\"\nuser-token-env = \"MEDIACONF_TEST_UNSET\"\n",
    )
    .unwrap();
    let (code, _, stderr) = mediaconf(dir.path(), &["run"]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("user-token-env names the environment variable MEDIACONF_TEST_UNSET, which is not set (mediaconf.toml:2:18"),
        "{stderr}"
    );
}

/// `init` writes the example, refuses to overwrite it without `--force`, and what it wrote
/// loads: `list` reads it, and a run (against the fake, selected by flags) writes the example's
/// reports.
#[tokio::test(flavor = "multi_thread")]
async fn init_writes_an_example_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = mediaconf(dir.path(), &["init"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("wrote mediaconf.toml"), "{stdout}");
    let written = std::fs::read_to_string(dir.path().join("mediaconf.toml")).unwrap();
    assert!(written.contains("registration-token-env"), "{written}");
    let (code, _, stderr) = mediaconf(dir.path(), &["init"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("already exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(mediaconf(dir.path(), &["init", "--force"]).await.0, 0);
    let (code, stdout, stderr) = mediaconf(dir.path(), &["list", "--case", "A-0*"]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("A-01.versions"), "{stdout}");
    let fake = FakeTarget::start(Fault::None).await;
    let run = [
        "run",
        "--target",
        &fake.url(),
        "--profile",
        "client",
        "--case",
        "A-01.versions",
        "--signing-key",
        "key",
        "--peer-ca-out",
        "ca.pem",
        "--quiet",
    ];
    let (code, stdout, stderr) = mediaconf(dir.path(), &run).await;
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let report = dir.path().join("mediaconf.json");
    assert_eq!(outcome(&report, "A-01.versions"), "passed");
    assert!(dir.path().join("mediaconf.xml").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = mediaconf(dir.path(), &["run", "--config", "nope.toml"]).await;
    assert_eq!(code, 2);
    assert!(
        stderr.contains("error: config file not found (given with --config;")
            && stderr.contains("--> nope.toml"),
        "{stderr}"
    );
    // Without a file anywhere, the target must come from a flag or the environment.
    let (code, _, stderr) = mediaconf(dir.path(), &["run"]).await;
    assert_eq!(code, 2);
    assert!(stderr.contains("no target: pass --target URL"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn help_names_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, run_help, _) = mediaconf(dir.path(), &["run", "--help"]).await;
    assert!(
        run_help.contains("--config <FILE>") && run_help.contains("mediaconf.toml"),
        "{run_help}"
    );
    let (_, help, _) = mediaconf(dir.path(), &["--help"]).await;
    assert!(help.contains("init"), "{help}");
}
