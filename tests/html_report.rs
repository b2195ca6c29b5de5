//! The HTML report as a person sees it: the real binary runs against the in-process fake target
//! with `Fault::ScriptInErrors` (every error text carries a `<script>` and an `onerror` image)
//! plus a small suite of our own that fails one MUST and warns one SHOULD on such an error,
//! writing `--json` and `--html`. The page is then opened in headless Chromium: the counts on it
//! equal the JSON summary, `#filter=failed` hides every other cell and case, the target's script
//! never ran (title unchanged, no mark on the root element) and its text is shown escaped. A
//! screenshot goes to `target/test-artifacts/html-report.png`.
//!
//! Without `chromium` the test fails with the command that installs it, unless
//! `MEDIACONF_SKIP_BROWSER=1` (then only the static checks run).

#[allow(dead_code)] // the other faults are for tests/fault_matrix.rs
mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;
use serde_json::Value;
use support::fake_target::{FakeTarget, Fault};

/// A MUST case that fails and a SHOULD case that warns, both on an error whose text is hostile.
const OWN_SUITE: &str = r#"
profile = "html-demo"

[[case]]
id = "X-01"
title = "a download of media that does not exist answers 200 (it cannot)"
level = "MUST"
spec = "v1.11 client-server-api GET /_matrix/client/v1/media/download/{serverName}/{mediaId}"
since = "v1.11"
[case.request]
path = "/_matrix/client/v1/media/download/{server_name}/doesnotexist"
[case.expect]
status = 200

[[case]]
id = "X-02"
title = "a thumbnail of media that does not exist answers 200 (it cannot)"
level = "SHOULD"
spec = "v1.11 client-server-api GET /_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}"
since = "v1.11"
[case.request]
path = "/_matrix/client/v1/media/thumbnail/{server_name}/doesnotexist"
query = { width = "32", height = "32" }
[case.expect]
status = 200
"#;

/// Runs `mediaconf run` in `dir` with the developer's own settings removed.
fn mediaconf(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .arg("run")
        .args(args)
        .args(["--color", "never", "--quiet"])
        .current_dir(dir)
        .env_remove("MEDIACONF_TARGET")
        .env_remove("MEDIACONF_REGISTRATION_TOKEN")
        .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
        .env_remove("MEDIACONF_USER_TOKEN")
        .output()
        .expect("start mediaconf")
}

/// The JSON summary's numbers by key (`passed`, `expected_failures`, …).
fn json_summary(path: &Path) -> Vec<(String, u64)> {
    let json: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("JSON report"))
        .expect("JSON parses");
    json["summary"]
        .as_object()
        .expect("summary object")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().expect("count")))
        .collect()
}

/// `data-count-<outcome>` of the page for a JSON summary key.
fn page_count(html: &str, json_key: &str) -> Option<u64> {
    let outcome = match json_key {
        "expected_failures" => "expected-failure",
        "unexpected_passes" => "unexpected-pass",
        other => other,
    };
    let re = Regex::new(&format!(r#"data-count-{outcome}="(\d+)""#)).unwrap();
    re.captures(html).map(|c| c[1].parse().unwrap())
}

/// Every opening tag with `class` starting with `cell` or `case`: (outcome, hidden).
fn filterable(dom: &str) -> Vec<(String, bool)> {
    let tag = Regex::new(r#"<(?:a|details) [^>]*class="(?:cell|case)\b[^>]*>"#).unwrap();
    let outcome = Regex::new(r#"data-outcome="([a-z-]+)""#).unwrap();
    tag.find_iter(dom)
        .map(|m| {
            let t = m.as_str();
            let o = outcome.captures(t).expect("data-outcome")[1].to_string();
            (o, t.contains(" hidden"))
        })
        .collect()
}

/// Runs headless Chromium (its own profile, output into files so no pipe can fill up) and
/// returns its stdout; kills it if it outlives a minute.
fn chromium(args: &[String]) -> String {
    let scratch = tempfile::tempdir().expect("chromium scratch dir");
    let (out_path, err_path) = (scratch.path().join("out"), scratch.path().join("err"));
    let mut child = Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!(
            "--user-data-dir={}",
            scratch.path().join("profile").display()
        ))
        .args(args)
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait for chromium").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    if out.is_empty() && !args.iter().any(|a| a.starts_with("--screenshot")) {
        panic!(
            "chromium printed nothing: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
    }
    out
}

/// Whether to run the browser part: panics with the install command when chromium is missing,
/// unless the skip is asked for.
fn browser_available() -> bool {
    let found = Command::new("chromium")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return true;
    }
    if std::env::var("MEDIACONF_SKIP_BROWSER").as_deref() == Ok("1") {
        eprintln!("MEDIACONF_SKIP_BROWSER=1: skipped the headless-browser part (no chromium)");
        return false;
    }
    panic!(
        "chromium is not installed: install it with `apt-get install -y --no-install-recommends chromium` \
         (or set MEDIACONF_SKIP_BROWSER=1 to skip the browser part)"
    );
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/test-artifacts");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn html_report_in_a_browser() {
    let fake = FakeTarget::start(Fault::ScriptInErrors).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let suite = dir.path().join("suite");
    std::fs::create_dir(&suite).unwrap();
    std::fs::write(suite.join("html-demo.toml"), OWN_SUITE).unwrap();
    let (json, html) = (dir.path().join("r.json"), dir.path().join("r.html"));
    let url = fake.url();
    let run_dir = dir.path().to_path_buf();
    let args: Vec<String> = [
        "--target",
        &url,
        "--profile",
        "client,guest,legacy,html-demo",
        "--suite",
        suite.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let output = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        mediaconf(&run_dir, &args)
    })
    .await
    .unwrap();
    drop(fake);
    let log = format!(
        "exit {:?}\n{}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(output.status.code(), Some(1), "X-01 fails: {log}");

    let page = std::fs::read_to_string(&html).expect("HTML report written");
    let summary = json_summary(&json);
    assert!(
        summary.iter().any(|(k, n)| k == "failed" && *n == 1),
        "{summary:?}"
    );
    assert!(
        summary.iter().any(|(k, n)| k == "warned" && *n == 1),
        "{summary:?}"
    );
    for (key, n) in &summary {
        assert_eq!(page_count(&page, key), Some(*n), "count {key} in the file");
    }
    assert!(
        !page.contains("<script>document.title"),
        "raw target script in the file"
    );
    assert!(
        !page.contains("<img src=x"),
        "raw target markup in the file"
    );
    assert!(page.contains("&lt;script&gt;document.title=&#39;pwned&#39;"));
    assert!(page.contains("http-equiv=\"Content-Security-Policy\""));
    assert!(
        !page.contains(" src=\"") && !page.contains("<link"),
        "loads nothing"
    );
    assert_eq!(page.matches("<script>").count(), 1, "only our own script");
    assert!(
        page.contains(
            "href=\"https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid\""
        ),
        "X-01 links its spec section"
    );

    if !browser_available() {
        return;
    }
    let file_url = format!("file://{}", html.display());

    // Filter failed: every other cell and case is hidden, the failed ones are not.
    let dom = chromium(&["--dump-dom".into(), format!("{file_url}#filter=failed")]);
    assert!(
        dom.contains("<body data-filter=\"failed\">"),
        "the script applied the filter"
    );
    let items = filterable(&dom);
    assert!(
        items.len() > 20,
        "cells and cases in the DOM: {}",
        items.len()
    );
    for (outcome, hidden) in &items {
        assert_eq!(
            *hidden,
            outcome != "failed",
            "{outcome} cell/case hidden = {hidden}"
        );
    }
    assert_eq!(
        items.iter().filter(|(_, h)| !h).count(),
        2,
        "X-01's cell and case"
    );
    for (key, n) in &summary {
        assert_eq!(page_count(&dom, key), Some(*n), "count {key} on the page");
    }
    // The target's script did not run; its text is there.
    let title = Regex::new(r"<title>([^<]*)</title>").unwrap();
    let shown = &title.captures(&dom).expect("title")[1];
    assert!(
        shown.starts_with("mediaconf — http://127.0.0.1:"),
        "title {shown}"
    );
    assert!(!dom.contains("data-pwned=\"1\""), "the target's script ran");
    assert!(
        dom.contains("&lt;script&gt;document.title='pwned'"),
        "escaped text shown"
    );
    assert!(
        dom.contains("&lt;img src=x onerror="),
        "escaped markup shown"
    );

    // No filter: nothing hidden.
    let dom = chromium(&["--dump-dom".into(), file_url.clone()]);
    assert!(filterable(&dom).iter().all(|(_, hidden)| !hidden));

    let png = artifacts().join("html-report.png");
    let _ = std::fs::remove_file(&png);
    chromium(&[
        format!("--screenshot={}", png.display()),
        "--window-size=1400,1800".into(),
        "--hide-scrollbars".into(),
        file_url,
    ]);
    assert!(
        png.metadata().is_ok_and(|m| m.len() > 10_000),
        "screenshot written"
    );
    eprintln!("screenshot: {}", png.display());
}

#[test]
fn html_report_when_preflight_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let html = dir.path().join("r.html");
    let output = mediaconf(
        dir.path(),
        &["--target", &url, "--html", html.to_str().unwrap()],
    );
    assert_eq!(output.status.code(), Some(2));
    let page = std::fs::read_to_string(&html).expect("HTML report written");
    assert!(page.contains("The run did not start"));
    assert!(page.contains("preflight failed"));
    assert!(page.contains("data-count-failed=\"0\""));
}

/// The comparison page of `mediaconf matrix`, as a browser renders it: the disagreeing case in
/// the first section with both outcomes, the reason in the cell's hover text, a screenshot kept
/// in target/test-artifacts/matrix.png.
#[test]
fn matrix_page_in_a_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = |version: &str, outcome: &str| {
        serde_json::json!({"target": {"url": "http://x", "server_version": version}, "cases": [
            {"id": "C-01", "title": "download returns the bytes", "level": "MUST", "outcome": "passed", "reason": ""},
            {"id": "C-02", "title": "download Content-Type", "level": "MUST", "outcome": outcome,
             "reason": format!("C-02 <b>{outcome}</b> on {version}")}
        ]})
        .to_string()
    };
    let (a, b) = (dir.path().join("a.json"), dir.path().join("b.json"));
    std::fs::write(&a, report("Synapse 1.163.2", "passed")).unwrap();
    std::fs::write(&b, report("Other 0.1", "failed")).unwrap();
    let page = dir.path().join("matrix.html");
    let out = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(["matrix", a.to_str().unwrap(), b.to_str().unwrap(), "--html"])
        .arg(&page)
        .output()
        .expect("start mediaconf");
    assert!(out.status.success(), "{out:?}");
    if !browser_available() {
        return;
    }
    let url = format!("file://{}", page.display());
    let dom = chromium(&["--dump-dom".into(), url.clone()]);
    let disagree = dom
        .find("Where they disagree")
        .expect("a disagreement section");
    let download = dom.find("C. Download").expect("the download section");
    let first = &dom[disagree..download];
    assert!(first.contains("C-02") && !first.contains("C-01"), "{first}");
    assert!(
        first.contains("title=\"failed: C-02 &lt;b&gt;failed&lt;/b&gt; on Other 0.1\""),
        "{first}"
    );
    assert!(
        !dom.contains("<b>failed</b>"),
        "a reason was rendered as markup"
    );
    let shot = artifacts().join("matrix.png");
    chromium(&[
        format!("--screenshot={}", shot.display()),
        "--window-size=1100,700".into(),
        url,
    ]);
    assert!(shot.exists());
}
