//! The JUnit report validates against `schema/junit.xsd` (the shape Jenkins, GitLab and GitHub
//! test-report actions read) with `xmllint`, for a run with failures and
//! selection skips, and for a run that fails in preflight; and the schema rejects what those
//! tools would (so the validation can fail).

#[allow(dead_code)]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::fake_target::{FakeTarget, Fault};

fn schema() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("schema/junit.xsd")
}

/// `Ok` when `xmllint` validates `file`, `Err` with its output otherwise; `None` when the
/// validation was skipped on purpose (MEDIACONF_SKIP_XMLLINT=1 and no xmllint).
fn validate(file: &Path) -> Option<Result<(), String>> {
    let output = match Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(schema())
        .arg(file)
        .output()
    {
        Ok(output) => output,
        Err(e) if std::env::var("MEDIACONF_SKIP_XMLLINT").as_deref() == Ok("1") => {
            eprintln!("xmllint not available ({e}); skipped on request (MEDIACONF_SKIP_XMLLINT=1)");
            return None;
        }
        Err(e) => panic!(
            "xmllint is needed to validate the JUnit report ({e}): apt-get install libxml2-utils (or set MEDIACONF_SKIP_XMLLINT=1)"
        ),
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(if output.status.success() {
        Ok(())
    } else {
        Err(text)
    })
}

fn run(target: &str, extra: &[&str], junit: &Path) -> Option<i32> {
    Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args([
            "run", "--target", target, "--quiet", "--color", "never", "--junit",
        ])
        .arg(junit)
        .args(extra)
        .env_remove("MEDIACONF_TARGET")
        .env_remove("MEDIACONF_REGISTRATION_TOKEN")
        .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
        .env_remove("MEDIACONF_USER_TOKEN")
        .output()
        .expect("run mediaconf")
        .status
        .code()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_with_failures_and_skipped_cases_validates() {
    let fake = FakeTarget::start(Fault::WrongBytes).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let url = fake.url();
    let code = tokio::task::spawn_blocking({
        let junit = junit.clone();
        move || {
            run(
                &url,
                &["--profile", "client,guest", "--skip", "C-1*"],
                &junit,
            )
        }
    })
    .await
    .unwrap();
    assert_eq!(code, Some(1), "WrongBytes fails MUST cases");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<failure"), "the report has failures");
    assert!(xml.contains("<skipped"), "the report has skips");
    if let Some(result) = validate(&junit) {
        result.unwrap_or_else(|e| panic!("the JUnit report does not validate:\n{e}"));
    }
}

#[test]
fn a_preflight_failure_validates() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    assert_eq!(run("http://127.0.0.1:9", &[], &junit), Some(2));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("<error"), "{xml}");
    if let Some(result) = validate(&junit) {
        result.unwrap_or_else(|e| panic!("the JUnit report does not validate:\n{e}"));
    }
}

#[test]
fn the_schema_rejects_what_ci_tools_would() {
    let dir = tempfile::tempdir().unwrap();
    for (what, xml) in [
        (
            "a testcase without a name",
            r#"<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" errors="0"><testcase/></testsuite></testsuites>"#,
        ),
        (
            "a negative count",
            r#"<testsuites tests="-1" failures="0" errors="0"/>"#,
        ),
        (
            "a failure and a skip on one testcase",
            r#"<testsuites tests="1" failures="1" errors="0"><testsuite name="s" tests="1" failures="1" errors="0"><testcase name="t"><failure/><skipped/></testcase></testsuite></testsuites>"#,
        ),
        (
            "a time that is not a number",
            r#"<testsuites tests="1" failures="0" errors="0"><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="t" time="soon"/></testsuite></testsuites>"#,
        ),
    ] {
        let file = dir.path().join("bad.xml");
        std::fs::write(&file, xml).unwrap();
        if let Some(result) = validate(&file) {
            assert!(result.is_err(), "the schema accepts {what}");
        }
    }
}
