//! JUnit XML via quick-junit: one testsuite per profile, one testcase per case.
//!
//! Failed (and, with `--strict-baseline`, unexpected-pass) cases are `<failure>`s whose message
//! is expected vs actual plus the spec rule; skipped and expected-failure cases are `<skipped>`
//! with the reason; warnings pass and carry their finding in `system-out`. Every testcase has
//! the properties `level`, `spec`, `spec_url` and `outcome`.

use std::collections::BTreeMap;
use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::outcome::{Outcome, Verdict};
use crate::redact::Redactor;
use crate::rootcause::{RootCause, headline};
use crate::run::TargetInfo;

/// Builds the XML text.
pub fn render_junit(
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    strict_baseline: bool,
    redactor: &Redactor,
) -> Result<String, String> {
    let r = |s: &str| redactor.redact(s);
    let mut report = Report::new("mediaconf");
    // First, a suite without test cases that carries the root causes: CI views that show
    // suite output lead with "N problems: …".
    let mut problems = TestSuite::new("root causes");
    let mut text = format!("{}:\n", headline(causes));
    for (n, c) in causes.iter().enumerate() {
        let line = format!(
            "{}. [{}] {} — {}",
            n + 1,
            c.kind.as_str(),
            c.summary,
            c.cases.join(", ")
        );
        problems.add_property((format!("problem.{}", n + 1).as_str(), r(&line).as_str()));
        text.push_str(&line);
        text.push('\n');
    }
    problems.set_system_out(r(&text));
    report.add_test_suite(problems);
    let mut by_profile: BTreeMap<&str, Vec<&Verdict>> = BTreeMap::new();
    for v in verdicts {
        by_profile.entry(v.profile.as_str()).or_default().push(v);
    }
    for (profile, cases) in by_profile {
        let mut suite = TestSuite::new(profile);
        suite.add_property(("target", r(&target.url).as_str()));
        suite.add_property(("server_name", target.server_name.as_str()));
        for v in cases {
            let details = r(&details(v));
            let message = r(&message(v));
            let status = match v.outcome {
                Outcome::Passed | Outcome::Warned => TestCaseStatus::success(),
                Outcome::UnexpectedPass if !strict_baseline => TestCaseStatus::success(),
                Outcome::Failed | Outcome::UnexpectedPass => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(message.as_str())
                        .set_type(v.level.as_str())
                        .set_description(details.as_str());
                    s
                }
                Outcome::Interrupted => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(r(&v.reason).as_str()).set_type("interrupted");
                    s
                }
                Outcome::Blocked => {
                    // The rule was not tested: an error, not a failure of the rule.
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(r(&v.reason).as_str())
                        .set_type("blocked")
                        .set_description(details.as_str());
                    s
                }
                Outcome::Skipped | Outcome::ExpectedFailure => {
                    let mut s = TestCaseStatus::skipped();
                    let prefix = if v.outcome == Outcome::ExpectedFailure {
                        "expected failure: "
                    } else {
                        ""
                    };
                    s.set_message(format!("{prefix}{}", r(&v.reason)));
                    s
                }
            };
            let mut tc = TestCase::new(format!("{} {}", v.id, v.title), status);
            tc.set_classname(format!("mediaconf.{profile}"))
                .set_time(v.duration);
            tc.add_property(("level", v.level.as_str()));
            tc.add_property(("spec", v.spec_ref.as_str()));
            tc.add_property(("spec_url", v.spec_url.as_str()));
            tc.add_property(("outcome", v.outcome.as_str()));
            if matches!(v.outcome, Outcome::Warned | Outcome::UnexpectedPass) {
                tc.set_system_out(format!("{}\n{details}", message));
            }
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    let mut out = Vec::new();
    report.serialize(&mut out).map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// Writes the XML file.
pub fn write_junit(
    path: &Path,
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    strict_baseline: bool,
    redactor: &Redactor,
) -> Result<(), String> {
    let text = render_junit(target, verdicts, causes, strict_baseline, redactor)?;
    super::write_atomically(path, text.as_bytes())
}

fn message(v: &Verdict) -> String {
    let first = v.reason.clone();
    format!("{first} — {} {}", v.level, v.spec_ref)
}

fn details(v: &Verdict) -> String {
    let mut out = String::new();
    for step in &v.steps {
        out.push_str(&step.request_line);
        out.push('\n');
        for (name, value) in &step.request_headers {
            out.push_str(&format!("  > {name}: {value}\n"));
        }
        for l in step.response_summary.lines() {
            out.push_str("  ");
            out.push_str(l);
            out.push('\n');
        }
        for f in &step.findings {
            out.push_str(&format!(
                "{}: expected {}, got {}\n",
                f.check, f.expected, f.actual
            ));
        }
    }
    out
}
