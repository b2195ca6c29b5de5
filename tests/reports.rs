//! Reports built from hand-made verdicts: JUnit is well-formed with one testsuite per profile,
//! JSON has the documented shape, outcomes map as documented, and secrets never appear.

use std::time::Duration;

use mediaconf::level::Level;
use mediaconf::outcome::{Finding, Outcome, StepReport, Summary, Verdict};
use mediaconf::redact::Redactor;
use mediaconf::report::human::HumanReporter;
use mediaconf::report::{json, junit};
use mediaconf::run::{Event, TargetInfo};

const SECRET: &str = "syt_c2VjcmV0_token_value";

fn verdict(id: &str, profile: &str, level: Level, outcome: Outcome, reason: &str) -> Verdict {
    Verdict {
        id: id.into(),
        title: format!("title of {id}"),
        level,
        profile: profile.into(),
        spec_ref: "v1.12 content_repo".into(),
        outcome,
        reason: reason.into(),
        steps: vec![StepReport {
            request_line: format!(
                "GET http://hs/_matrix/client/v1/media/download/x/y?access_token={SECRET}"
            ),
            response_summary: format!(
                "401\n{{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"bad {SECRET}\"}}\n\x1b[31m]]>"
            ),
            findings: vec![Finding::new("status", "200", "401 M_UNKNOWN_TOKEN")],
        }],
        duration: Duration::from_millis(12),
    }
}

fn verdicts() -> Vec<Verdict> {
    vec![
        verdict(
            "C-01",
            "client",
            Level::Must,
            Outcome::Failed,
            "status: expected 200, got 401",
        ),
        verdict(
            "C-06.png",
            "client",
            Level::Should,
            Outcome::Warned,
            "Content-Disposition type: expected inline",
        ),
        verdict(
            "H-03",
            "guest",
            Level::Must,
            Outcome::Skipped,
            "needs guest: guest registration is disabled",
        ),
        verdict(
            "C-19.bang",
            "client",
            Level::Must,
            Outcome::ExpectedFailure,
            "baseline: known",
        ),
        verdict("C-17", "legacy", Level::Gap, Outcome::Passed, ""),
        verdict(
            "C-18.dot",
            "client",
            Level::Must,
            Outcome::UnexpectedPass,
            "listed in the baseline but passed",
        ),
    ]
}

fn redactor() -> Redactor {
    let r = Redactor::default();
    r.add(SECRET);
    r
}

#[test]
fn junit_is_well_formed_and_maps_outcomes() {
    let target = TargetInfo {
        url: "http://hs".into(),
        server_name: "hs".into(),
        ..Default::default()
    };
    let xml = junit::render_junit(&target, &verdicts(), false, &redactor()).unwrap();
    assert!(!xml.contains(SECRET), "secret in JUnit: {xml}");
    assert!(
        !xml.contains('\x1b'),
        "escape characters must not reach the XML"
    );
    let report = quick_junit::Report::deserialize_from_str(&xml).expect("well-formed JUnit");
    let names: Vec<&str> = report
        .test_suites
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>();
    assert_eq!(names, ["client", "guest", "legacy"]);
    let client = &report.test_suites[0];
    assert_eq!(
        client.failures, 1,
        "only the MUST failure is a <failure> without --strict-baseline"
    );
    assert_eq!(
        client.skipped, 1,
        "the expected failure is reported as skipped"
    );
    assert!(
        xml.contains("status: expected 200, got 401"),
        "failure message has expected vs actual"
    );
    assert!(
        xml.contains("v1.12 content_repo"),
        "failure message names the spec rule"
    );
    assert!(
        xml.contains("guest registration is disabled"),
        "skip reason is kept"
    );

    let strict = junit::render_junit(&target, &verdicts(), true, &redactor()).unwrap();
    let strict = quick_junit::Report::deserialize_from_str(&strict).unwrap();
    assert_eq!(
        strict.test_suites[0].failures, 2,
        "--strict-baseline makes an unexpected pass a failure"
    );
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct JsonDoc {
    mediaconf_version: String,
    target: serde_json::Value,
    summary: JsonSummary,
    duration_ms: u64,
    cases: Vec<JsonCase>,
}

#[derive(serde::Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct JsonSummary {
    passed: usize,
    failed: usize,
    warned: usize,
    skipped: usize,
    expected_failures: usize,
    unexpected_passes: usize,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct JsonCase {
    id: String,
    title: String,
    level: String,
    profile: String,
    spec: String,
    outcome: String,
    reason: String,
    duration_ms: u64,
    steps: Vec<serde_json::Value>,
}

#[test]
fn json_has_the_documented_shape() {
    let target = TargetInfo {
        url: "http://hs".into(),
        server_name: "hs".into(),
        ..Default::default()
    };
    let text = json::render_json(&target, &verdicts(), 1234, &redactor()).unwrap();
    assert!(!text.contains(SECRET), "secret in JSON");
    let doc: JsonDoc = serde_json::from_str(&text).expect("JSON matches the documented schema");
    assert_eq!(
        doc.summary,
        JsonSummary {
            passed: 1,
            failed: 1,
            warned: 1,
            skipped: 1,
            expected_failures: 1,
            unexpected_passes: 1
        }
    );
    let outcomes: Vec<&str> = doc.cases.iter().map(|c| c.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "failed",
            "warned",
            "skipped",
            "expected-failure",
            "passed",
            "unexpected-pass"
        ]
    );
    assert_eq!(doc.cases[0].level, "MUST");
    assert_eq!(Summary::of(&verdicts()).total(), 6);
}

#[test]
fn human_output_shows_failures_and_redacts() {
    let mut out = Vec::new();
    {
        let mut human = HumanReporter::new(&mut out, false, false, redactor());
        human.handle(&Event::RunStarted {
            target: TargetInfo::default(),
            planned: 6,
        });
        for v in verdicts() {
            human.handle(&Event::CaseFinished(Box::new(v)));
        }
        human.handle(&Event::RunFinished {
            summary: Summary::of(&verdicts()),
            elapsed: Duration::from_secs(2),
        });
    }
    let text = String::from_utf8(out).unwrap();
    assert!(!text.contains(SECRET), "secret in human output: {text}");
    assert!(text.contains("<redacted>"));
    assert!(!text.contains('\x1b'), "no color when disabled");
    assert!(
        text.contains("GET http://hs/_matrix/client/v1/media/download/x/y"),
        "request line shown for a failure"
    );
    assert!(text.contains("status: expected 200   got 401 M_UNKNOWN_TOKEN"));
    assert!(text.contains(
        "1 passed, 1 failed, 1 warned, 1 skipped, 1 expected failures, 1 unexpected passes"
    ));
}

#[test]
fn markdown_lists_what_needs_attention() {
    let target = TargetInfo {
        url: "http://hs".into(),
        server_name: "hs".into(),
        ..Default::default()
    };
    let text = mediaconf::report::markdown::render_markdown(
        &target,
        &verdicts(),
        Duration::from_secs(3),
        &redactor(),
    );
    assert!(text.contains("| 1 | 1 | 1 | 1 | 1 | 1 | 3.0 s |"), "{text}");
    assert!(text.contains("| failed | `C-01` | MUST |"), "{text}");
    assert!(
        text.contains("| expected-failure | `C-19.bang` |"),
        "{text}"
    );
    assert!(!text.contains("`C-17`"), "passed cases are not listed");
    assert!(!text.contains("`H-03`"), "skipped cases are not listed");
    assert!(!text.contains(SECRET));
}
