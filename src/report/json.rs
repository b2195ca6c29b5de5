//! The JSON report: target, summary and one entry per case.

use std::path::Path;

use serde::Serialize;

use crate::level::Level;
use crate::outcome::{Finding, Outcome, SetUpProblem, Summary, Verdict};
use crate::redact::Redactor;
use crate::rootcause::RootCause;
use crate::run::TargetInfo;

/// The document written by `--json`.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub mediaconf_version: &'static str,
    pub target: &'a TargetInfo,
    pub summary: Summary,
    pub duration_ms: u128,
    /// Time before the first case started (probes, accounts, uploads).
    pub preflight_ms: u128,
    /// The problems behind the failed, warned and not-run cases, worst first.
    pub root_causes: &'a [RootCause],
    pub cases: Vec<JsonCase<'a>>,
}

/// One case.
#[derive(Debug, Serialize)]
pub struct JsonCase<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub level: Level,
    pub profile: &'a str,
    pub spec: &'a str,
    /// The cited section of spec.matrix.org, or the MSC.
    pub spec_url: &'a str,
    pub outcome: Outcome,
    pub reason: &'a str,
    /// For blocked cases and cases skipped for an unavailable need: what stood in the way.
    pub set_up: Option<&'a SetUpProblem>,
    /// The shared cause the case is filed under, when it has one (root causes group by it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'a str>,
    /// When the case started, in milliseconds from the start of the run.
    pub start_ms: u128,
    pub duration_ms: u128,
    pub steps: Vec<JsonStep<'a>>,
}

/// One request of a case.
#[derive(Debug, Serialize)]
pub struct JsonStep<'a> {
    pub request: &'a str,
    pub request_headers: Vec<[&'a str; 2]>,
    pub response: &'a str,
    /// How long the request took (until the body was read).
    pub elapsed_ms: u64,
    /// `curl …` for failed client-API steps (tokens as `$MEDIACONF_TOKEN` etc.).
    pub reproduction: Option<&'a str>,
    pub findings: &'a [Finding],
}

/// Builds the JSON text (redacted).
pub fn render_json(
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    (duration_ms, preflight_ms): (u128, u128),
    redactor: &Redactor,
) -> Result<String, String> {
    let report = JsonReport {
        mediaconf_version: env!("CARGO_PKG_VERSION"),
        target,
        summary: Summary::of(verdicts),
        duration_ms,
        preflight_ms,
        root_causes: causes,
        cases: verdicts
            .iter()
            .map(|v| JsonCase {
                id: &v.id,
                title: &v.title,
                level: v.level,
                profile: &v.profile,
                spec: &v.spec_ref,
                spec_url: &v.spec_url,
                outcome: v.outcome,
                reason: &v.reason,
                set_up: v.set_up.as_ref(),
                cause: v.cause.as_deref(),
                start_ms: v.started_at.as_millis(),
                duration_ms: v.duration.as_millis(),
                steps: v
                    .steps
                    .iter()
                    .map(|s| JsonStep {
                        request: &s.request_line,
                        request_headers: s
                            .request_headers
                            .iter()
                            .map(|(n, v)| [n.as_str(), v.as_str()])
                            .collect(),
                        response: &s.response_summary,
                        elapsed_ms: s.elapsed_ms,
                        reproduction: s.reproduction.as_deref(),
                        findings: &s.findings,
                    })
                    .collect(),
            })
            .collect(),
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
    Ok(redactor.redact(&text))
}

pub fn write_json(
    path: &Path,
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    timing: (u128, u128),
    redactor: &Redactor,
) -> Result<(), String> {
    let text = render_json(target, verdicts, causes, timing, redactor)?;
    super::write_atomically(path, text.as_bytes())
}
