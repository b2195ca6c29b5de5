//! Reports built from hand-made verdicts: JUnit is well-formed with one testsuite per profile,
//! JSON has the documented shape, outcomes map as documented, and secrets never appear.

use std::time::Duration;

use mediaconf::level::Level;
use mediaconf::outcome::{Finding, Outcome, SetUpProblem, StepReport, Summary, Verdict};
use mediaconf::redact::Redactor;
use mediaconf::report::human::HumanReporter;
use mediaconf::report::{json, junit};
use mediaconf::rootcause::root_causes;
use mediaconf::run::{Event, TargetInfo};

const SECRET: &str = "syt_c2VjcmV0_token_value";

fn verdict(id: &str, profile: &str, level: Level, outcome: Outcome, reason: &str) -> Verdict {
    Verdict {
        id: id.into(),
        title: format!("title of {id}"),
        level,
        profile: profile.into(),
        spec_ref: "v1.12 content_repo".into(),
        spec_url: "https://spec.matrix.org/v1.12/client-server-api/#content-repository".into(),
        outcome,
        reason: reason.into(),
        steps: vec![StepReport {
            request_line: format!(
                "GET http://hs/_matrix/client/v1/media/download/x/y?access_token={SECRET}"
            ),
            request_headers: vec![("Authorization".into(), format!("Bearer {SECRET}"))],
            elapsed_ms: 5,
            response_summary: format!(
                "401\n{{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"bad {SECRET}\"}}\n\x1b[31m]]>"
            ),
            findings: vec![Finding::new("status", "200", "401 M_UNKNOWN_TOKEN")],
            reproduction: None,
        }],
        set_up: None,
        cause: None,
        duration: Duration::from_millis(12),
        started_at: Duration::from_millis(40),
    }
}

fn guest_problem() -> SetUpProblem {
    SetUpProblem {
        by: "preflight guest registration".into(),
        why: "guest registration is disabled".into(),
        need: Some("guest".into()),
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
        {
            let mut v = verdict(
                "C-06.png",
                "client",
                Level::Should,
                Outcome::Warned,
                "Content-Disposition type: expected inline",
            );
            v.steps[0].findings = vec![Finding::new("disposition type", "inline", "attachment")];
            v
        },
        {
            let mut v = verdict(
                "H-03",
                "guest",
                Level::Must,
                Outcome::Skipped,
                "preflight guest registration: guest registration is disabled",
            );
            v.steps.clear();
            v.set_up = Some(guest_problem());
            v
        },
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
        {
            let mut v = verdict(
                "J-09",
                "client",
                Level::Must,
                Outcome::Blocked,
                "blocked by set-up step `create`: status: expected 200, got 404 M_UNRECOGNIZED",
            );
            v.steps[0].request_line = "[create] POST http://hs/_matrix/media/v1/create".into();
            v.steps[0].findings = vec![Finding::new("status", "200", "404 M_UNRECOGNIZED")];
            v.set_up = Some(SetUpProblem {
                by: "set-up step `create`".into(),
                why: "status: expected 200, got 404 M_UNRECOGNIZED".into(),
                need: None,
            });
            v
        },
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
    let causes = root_causes(&verdicts());
    let xml = junit::render_junit(&target, &verdicts(), &causes, false, &redactor()).unwrap();
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
    assert_eq!(names, ["root causes", "client", "guest", "legacy"]);
    let problems = &report.test_suites[0];
    assert_eq!(
        problems.test_cases.len(),
        0,
        "root causes add no test cases"
    );
    assert!(
        xml.contains("4 problems:"),
        "root causes lead the report: {xml}"
    );
    let client = &report.test_suites[1];
    assert_eq!(
        client.failures, 1,
        "only the MUST failure is a <failure> without --strict-baseline"
    );
    assert_eq!(
        client.errors, 1,
        "a blocked case is an <error>, not a failure"
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
    assert!(
        xml.contains(r#"<property name="spec_url" value="https://spec.matrix.org/v1.12/client-server-api/#content-repository"/>"#),
        "each testcase links its spec section: {xml}"
    );

    let strict = junit::render_junit(&target, &verdicts(), &causes, true, &redactor()).unwrap();
    let strict = quick_junit::Report::deserialize_from_str(&strict).unwrap();
    assert_eq!(
        strict.test_suites[1].failures, 2,
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
    preflight_ms: u64,
    root_causes: Vec<JsonCause>,
    cases: Vec<JsonCase>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct JsonCause {
    kind: String,
    summary: String,
    cases: Vec<String>,
}

#[derive(serde::Deserialize, PartialEq, Debug)]
#[serde(deny_unknown_fields)]
struct JsonSummary {
    passed: usize,
    failed: usize,
    warned: usize,
    skipped: usize,
    blocked: usize,
    interrupted: usize,
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
    spec_url: String,
    outcome: String,
    reason: String,
    set_up: Option<serde_json::Value>,
    start_ms: u64,
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
    let causes = root_causes(&verdicts());
    let text = json::render_json(&target, &verdicts(), &causes, (1234, 300), &redactor()).unwrap();
    assert!(!text.contains(SECRET), "secret in JSON");
    let doc: JsonDoc = serde_json::from_str(&text).expect("JSON matches the documented schema");
    assert_eq!(
        doc.summary,
        JsonSummary {
            passed: 1,
            failed: 1,
            warned: 1,
            skipped: 1,
            blocked: 1,
            interrupted: 0,
            expected_failures: 1,
            unexpected_passes: 1
        }
    );
    let kinds: Vec<&str> = doc.root_causes.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["failure", "not-run", "not-run", "warning"]);
    assert_eq!(doc.root_causes[0].cases, ["C-01"]);
    let h03 = doc.cases.iter().find(|c| c.id == "H-03").unwrap();
    assert_eq!(
        h03.set_up.as_ref().unwrap()["by"],
        "preflight guest registration"
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
            "unexpected-pass",
            "blocked"
        ]
    );
    assert_eq!(doc.cases[0].level, "MUST");
    assert_eq!(
        doc.cases[0].spec_url,
        "https://spec.matrix.org/v1.12/client-server-api/#content-repository"
    );
    assert_eq!((doc.preflight_ms, doc.cases[0].start_ms), (300, 40));
    assert_eq!(doc.cases[0].steps[0]["elapsed_ms"], 5);
    assert_eq!(Summary::of(&verdicts()).total(), 7);
}

#[test]
fn human_output_shows_failures_and_redacts() {
    let mut out = Vec::new();
    {
        let mut human = HumanReporter::new(&mut out, false, false, redactor());
        human.handle(&Event::RunStarted {
            target: TargetInfo::default(),
            planned: 7,
            preflight: Duration::from_millis(300),
        });
        for v in verdicts() {
            human.handle(&Event::CaseFinished(Box::new(v)));
        }
        human.handle(&Event::RunFinished {
            summary: Summary::of(&verdicts()),
            elapsed: Duration::from_secs(2),
            causes: root_causes(&verdicts()),
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
    assert!(
        text.contains("see https://spec.matrix.org/v1.12/client-server-api/#content-repository"),
        "failures link their spec section: {text}"
    );
    assert!(
        text.contains("  > Authorization: Bearer <redacted>"),
        "the headers we sent are shown, redacted: {text}"
    );
    assert!(text.contains(
        "1 passed, 1 failed, 1 warned, 1 skipped, 1 blocked, 1 expected failures, 1 unexpected passes"
    ));
    let problems = text
        .find("4 problems:")
        .expect("root causes in the summary");
    let first = text[problems..].lines().nth(1).unwrap();
    assert!(
        first.contains("✘") && first.contains("1 case: C-01"),
        "the failure comes first: {first}"
    );
    assert!(
        text.contains("⊘ J-09"),
        "blocked cases have their own mark: {text}"
    );
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
        &root_causes(&verdicts()),
        Duration::from_secs(3),
        &redactor(),
    );
    assert!(
        text.contains("| 1 | 1 | 1 | 1 | 1 | 0 | 1 | 1 | 3.0 s |"),
        "{text}"
    );
    assert!(
        text.find("**4 problems:**").unwrap() < text.find("| passed |").unwrap(),
        "root causes lead: {text}"
    );
    assert!(
        text.contains("| failed | [`C-01`](https://spec.matrix.org/v1.12/client-server-api/#content-repository) | MUST |"),
        "{text}"
    );
    assert!(
        text.contains("| expected-failure | [`C-19.bang`](https://"),
        "{text}"
    );
    assert!(!text.contains("`C-17`"), "passed cases are not listed");
    assert!(
        !text.contains("| skipped | `"),
        "skipped cases have no table row"
    );
    assert!(
        text.contains(
            "**not-run** preflight guest registration: guest registration is disabled — `H-03`"
        ),
        "a case skipped for a set-up problem is named under its root cause: {text}"
    );
    assert!(!text.contains(SECRET));
}
