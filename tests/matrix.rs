//! `mediaconf matrix`: the comparison of implementations from their JSON reports, as a user
//! runs it (the real binary): labelled and unlabelled reports, the HTML page and the Markdown
//! written, a report that is not one refused with exit 2 and its name.

mod harness;

use harness::mediaconf;

fn report(version: &str, outcome_c02: &str) -> String {
    serde_json::json!({
        "mediaconf_version": "0.1.0",
        "target": {"url": "http://127.0.0.1:1", "server_version": version},
        "cases": [
            {"id": "C-01", "title": "download returns the uploaded bytes", "level": "MUST",
             "outcome": "passed", "reason": ""},
            {"id": "C-02", "title": "download Content-Type", "level": "MUST",
             "outcome": outcome_c02, "reason": format!("C-02 {outcome_c02} on {version}")},
            {"id": "G-08", "title": "no remote Content-Type", "level": "MUST",
             "outcome": "expected_failure", "reason": "baselined"},
        ]
    })
    .to_string()
}

#[test]
fn two_reports_make_a_page_and_a_table_with_the_disagreement_first() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, report("Synapse 1.163.2", "passed")).unwrap();
    std::fs::write(&b, report("Other 0.1", "failed")).unwrap();
    let html = dir.path().join("matrix.html");
    let md = dir.path().join("matrix.md");
    let (code, stdout, stderr) = mediaconf(&[
        "matrix",
        a.to_str().unwrap(),
        &format!("image-run={}", b.display()),
        "--html",
        html.to_str().unwrap(),
        "--markdown",
        md.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("2 implementations, 1 disagreements"),
        "{stderr}"
    );
    let md = std::fs::read_to_string(md).unwrap();
    assert!(
        md.contains("| case | level | Synapse 1.163.2 | image-run |"),
        "{md}"
    );
    let disagree = md.find("## Where they disagree").unwrap();
    let download = md.find("## C. Download").unwrap();
    assert!(md[disagree..download].contains("C-02"), "{md}");
    assert!(
        md[download..].contains("| G-08 ") || md.contains("## G."),
        "{md}"
    );
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(
        page.contains("title=\"failed: C-02 failed on Other 0.1\""),
        "{page}"
    );
}

#[test]
fn without_outputs_the_markdown_goes_to_stdout_and_bad_reports_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    std::fs::write(&a, report("A 1", "passed")).unwrap();
    let (code, stdout, _) = mediaconf(&["matrix", a.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("# mediaconf: implementations side by side"),
        "{stdout}"
    );
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"not\": \"a report\"}").unwrap();
    let (code, _, stderr) = mediaconf(&["matrix", a.to_str().unwrap(), bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("bad.json: not a mediaconf JSON report"),
        "{stderr}"
    );
    let (code, _, stderr) = mediaconf(&["matrix", "/nonexistent/x.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read /nonexistent/x.json"),
        "{stderr}"
    );
}
