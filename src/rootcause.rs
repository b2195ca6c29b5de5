//! Root causes: the few problems behind many broken cases. Pure, over verdicts only.
//!
//! Cases that did not run because of a set-up problem are grouped by what stood in the way
//! (a preflight item, a media item, a set-up step). Failed and warned cases are grouped by the
//! first broken expectation: the same endpoint answering the same thing for the same check is
//! one problem, however many cases saw it (a missing `/download/…/{fileName}` route breaks a
//! dozen cases with one `404 M_UNRECOGNIZED`). Reports lead with these groups.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::outcome::{Outcome, Verdict};

/// How bad a root cause is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CauseKind {
    /// At least one MUST case failed on it.
    Failure,
    /// Requested cases did not run (skipped for an unavailable need, or blocked).
    NotRun,
    /// Only SHOULD/MAY/GAP cases warned on it.
    Warning,
}

impl CauseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::Failure => "failure",
            CauseKind::NotRun => "not-run",
            CauseKind::Warning => "warning",
        }
    }
}

/// One problem and the cases it explains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RootCause {
    pub kind: CauseKind,
    /// One line, e.g. `GET /_matrix/client/v1/media/download/…/…/…: status 404 M_UNRECOGNIZED`.
    pub summary: String,
    /// Case ids in plan order.
    pub cases: Vec<String>,
}

/// Media-repository endpoint names: what follows them in a path is an argument.
const ENDPOINTS: &[&str] = &[
    "download",
    "thumbnail",
    "config",
    "preview_url",
    "upload",
    "create",
    "remote_media",
];

/// The path of a step's request line (`[label] GET http://host/path?query`) with arguments
/// after the endpoint name replaced by `…`, so that requests to the same endpoint compare equal.
pub fn endpoint_of(request_line: &str) -> String {
    let line = match request_line.strip_prefix('[') {
        Some(rest) => rest.split_once("] ").map_or(rest, |(_, l)| l),
        None => request_line,
    };
    let (method, url) = line.split_once(' ').unwrap_or(("", line));
    let path = url::Url::parse(url)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| url.split('?').next().unwrap_or(url).to_string());
    let mut out = Vec::new();
    let mut after_endpoint = false;
    for seg in path.split('/') {
        if after_endpoint {
            out.push(if seg.is_empty() { "" } else { "…" });
        } else {
            out.push(seg);
            after_endpoint = ENDPOINTS.contains(&seg);
        }
    }
    format!("{method} {}", out.join("/")).trim().to_string()
}

/// What a broken case is grouped by: its first broken expectation, where it was seen.
fn failure_key(v: &Verdict) -> String {
    let step = v.steps.iter().find(|s| !s.findings.is_empty());
    match step.and_then(|s| s.findings.first().map(|f| (s, f))) {
        Some((step, finding)) => {
            let actual = shorten(&finding.actual, 100);
            format!(
                "{}: {} {actual}",
                endpoint_of(&step.request_line),
                finding.check
            )
        }
        None => v.reason.clone(),
    }
}

/// At most `max` characters, cut at a word boundary and marked with `…` when shortened.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let end = cut.rfind(' ').filter(|i| *i > max / 2).unwrap_or(cut.len());
    format!("{}…", cut[..end].trim_end())
}

/// Groups the verdicts' problems, worst first: failures, then what did not run, then warnings;
/// within a kind, the problem explaining most cases first.
pub fn root_causes(verdicts: &[Verdict]) -> Vec<RootCause> {
    let mut groups: BTreeMap<String, RootCause> = BTreeMap::new();
    for v in verdicts {
        let Some(filed) = classify(v) else { continue };
        let entry = groups.entry(filed.key).or_insert_with(|| RootCause {
            kind: filed.kind,
            summary: filed.summary,
            cases: Vec::new(),
        });
        // A cause that failed a MUST case is a failure, whatever else it did.
        entry.kind = entry.kind.min(filed.kind);
        entry.cases.push(v.id.clone());
    }
    let mut causes: Vec<RootCause> = groups.into_values().collect();
    causes.sort_by(|a, b| {
        a.kind
            .cmp(&b.kind)
            .then(b.cases.len().cmp(&a.cases.len()))
            .then(a.summary.cmp(&b.summary))
    });
    causes
}

/// Where a broken case is filed: its problem's key, kind and one-line summary.
struct Filed {
    kind: CauseKind,
    key: String,
    summary: String,
}

/// The cause of a failed, warned or not-run case (`None` for the others), in this order:
/// the cause the case or the run names; for a case kept from running, what stood in the way
/// (a set-up step that hit an endpoint's answer is filed with the failures on that answer);
/// an endpoint the target does not implement (the same answer on the same endpoint, whichever
/// family); else the case's family (its id before the first `.`): the same rule broken on
/// several endpoints is one problem, two rules that happen to answer alike are two.
fn classify(v: &Verdict) -> Option<Filed> {
    let kind = match v.outcome {
        Outcome::Failed => CauseKind::Failure,
        Outcome::Warned => CauseKind::Warning,
        _ if v.is_set_up_problem() => CauseKind::NotRun,
        _ => return None,
    };
    let filed = |key: String, summary: String| Some(Filed { kind, key, summary });
    if let Some(cause) = &v.cause {
        return filed(format!("cause {cause}"), cause.clone());
    }
    let blocked_by_step = v.outcome == Outcome::Blocked
        && v.set_up
            .as_ref()
            .is_some_and(|p| p.by.starts_with("set-up step"));
    if kind == CauseKind::NotRun && !blocked_by_step {
        let p = v
            .set_up
            .as_ref()
            .map_or_else(String::new, |p| format!("{}: {}", p.by, p.why));
        return filed(format!("not run {p}"), p);
    }
    let key = failure_key(v);
    if blocked_by_step || is_unrecognized_endpoint(v) {
        return filed(format!("answer {key}"), key);
    }
    let family = family_of(&v.id);
    filed(format!("family {family}"), format!("{family}: {key}"))
}

/// `B-02.download` → `B-02`.
pub fn family_of(id: &str) -> &str {
    id.split_once('.').map_or(id, |(family, _)| family)
}

/// The first broken expectation saw the "unrecognized endpoint" answer (404 or 405 with
/// `M_UNRECOGNIZED`): the endpoint is missing, one problem for every case that needs it.
fn is_unrecognized_endpoint(v: &Verdict) -> bool {
    let step = v.steps.iter().find(|s| !s.findings.is_empty());
    step.and_then(|s| s.findings.first()).is_some_and(|f| {
        f.actual.contains("M_UNRECOGNIZED")
            && (f.actual.starts_with("404") || f.actual.starts_with("405"))
    })
}

/// `3 problems` / `1 problem`.
pub fn headline(causes: &[RootCause]) -> String {
    match causes.len() {
        0 => "no problems".to_string(),
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::outcome::{Finding, SetUpProblem, StepReport};
    use std::time::Duration;

    fn verdict(id: &str, level: Level, outcome: Outcome, line: &str, actual: &str) -> Verdict {
        Verdict {
            id: id.into(),
            title: String::new(),
            level,
            profile: "client".into(),
            spec_ref: String::new(),
            spec_url: String::new(),
            outcome,
            reason: String::new(),
            steps: vec![StepReport {
                request_line: line.into(),
                request_headers: Vec::new(),
                elapsed_ms: 0,
                response_summary: String::new(),
                findings: vec![Finding::new("status", "401", actual)],
                reproduction: None,
            }],
            set_up: None,
            cause: None,
            duration: Duration::ZERO,
            started_at: Duration::ZERO,
        }
    }

    #[test]
    fn long_answers_are_cut_at_a_word() {
        assert_eq!(shorten("short", 10), "short");
        assert_eq!(
            shorten("connection reset by peer (os error 104)", 20),
            "connection reset by…"
        );
    }

    #[test]
    fn endpoints_compare_without_their_arguments() {
        assert_eq!(
            endpoint_of("GET http://h:1/_matrix/client/v1/media/download/s/abc/f.png?x=1"),
            "GET /_matrix/client/v1/media/download/…/…/…"
        );
        assert_eq!(
            endpoint_of("[create] POST http://h/_matrix/media/v1/create"),
            "POST /_matrix/media/v1/create"
        );
        assert_eq!(
            endpoint_of("GET http://h/_matrix/client/versions"),
            "GET /_matrix/client/versions"
        );
    }

    #[test]
    fn one_answer_on_one_endpoint_is_one_problem() {
        let route = "GET http://h/_matrix/client/v1/media/download/s/";
        let verdicts = vec![
            verdict(
                "A",
                Level::Must,
                Outcome::Failed,
                &format!("{route}a/x"),
                "404 M_UNRECOGNIZED",
            ),
            verdict(
                "B",
                Level::Should,
                Outcome::Warned,
                &format!("{route}b/y"),
                "404 M_UNRECOGNIZED",
            ),
            verdict(
                "C",
                Level::Should,
                Outcome::Warned,
                "GET http://h/_matrix/client/v1/media/config",
                "500",
            ),
            verdict(
                "D",
                Level::Must,
                Outcome::Passed,
                &format!("{route}a/x"),
                "404 M_UNRECOGNIZED",
            ),
        ];
        let causes = root_causes(&verdicts);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert_eq!(causes[0].kind, CauseKind::Failure);
        assert_eq!(causes[0].cases, ["A", "B"]);
        assert!(causes[0].summary.contains("404 M_UNRECOGNIZED"));
        assert_eq!(causes[1].kind, CauseKind::Warning);
        assert_eq!(causes[1].cases, ["C"]);
        assert_eq!(headline(&causes), "2 problems");
    }

    #[test]
    fn one_rule_on_four_endpoints_is_one_problem_two_rules_answering_200_are_two() {
        let on = |id: &str, path: &str| {
            verdict(
                id,
                Level::Must,
                Outcome::Failed,
                &format!("GET http://h/_matrix/client/v1/media/{path}"),
                "200",
            )
        };
        let verdicts = vec![
            on("B-06.download", "download/s/m"),
            on("B-06.thumbnail", "thumbnail/s/m"),
            on("B-06.config", "config"),
            on("B-06.upload", "upload"),
            on("C-18.traversal", "download/s/m"),
        ];
        let causes = root_causes(&verdicts);
        assert_eq!(causes.len(), 2, "{causes:?}");
        assert_eq!(
            causes[0].cases,
            [
                "B-06.download",
                "B-06.thumbnail",
                "B-06.config",
                "B-06.upload"
            ]
        );
        assert!(
            causes[0].summary.starts_with("B-06: "),
            "{}",
            causes[0].summary
        );
        assert_eq!(causes[1].cases, ["C-18.traversal"]);
    }

    #[test]
    fn a_named_cause_gathers_failed_warned_and_blocked_cases() {
        let cause = "remote media is fetched from the deprecated endpoint first";
        let mut failed = verdict("G-02", Level::Must, Outcome::Failed, "GET http://h/x", "p");
        let mut warned = verdict(
            "G-13",
            Level::Should,
            Outcome::Warned,
            "GET http://h/y",
            "q",
        );
        let mut blocked = verdict("G-04", Level::Must, Outcome::Blocked, "GET http://h/z", "");
        blocked.set_up = Some(SetUpProblem {
            by: "remote fetch path".into(),
            why: "never asked over federation".into(),
            need: None,
        });
        for v in [&mut failed, &mut warned, &mut blocked] {
            v.cause = Some(cause.into());
        }
        let causes = root_causes(&[failed, warned, blocked]);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].kind, CauseKind::Failure);
        assert_eq!(causes[0].summary, cause);
        assert_eq!(causes[0].cases, ["G-02", "G-13", "G-04"]);
    }

    #[test]
    fn a_failed_set_up_step_joins_the_failure_on_that_endpoint() {
        let create = "[create] POST http://h/_matrix/media/v1/create";
        let failed = verdict(
            "J-06",
            Level::Must,
            Outcome::Failed,
            create,
            "404 M_UNRECOGNIZED",
        );
        let mut blocked = verdict(
            "J-09",
            Level::Must,
            Outcome::Blocked,
            create,
            "404 M_UNRECOGNIZED",
        );
        blocked.set_up = Some(SetUpProblem {
            by: "set-up step `create`".into(),
            why: "status: expected 401, got 404 M_UNRECOGNIZED".into(),
            need: None,
        });
        let causes = root_causes(&[failed, blocked]);
        assert_eq!(causes.len(), 1, "{causes:?}");
        assert_eq!(causes[0].kind, CauseKind::Failure);
        assert_eq!(causes[0].cases, ["J-06", "J-09"]);
    }

    #[test]
    fn set_up_problems_group_by_what_blocked_them() {
        let mut a = verdict("A", Level::Must, Outcome::Skipped, "", "");
        let problem = SetUpProblem {
            by: "preflight guest registration".into(),
            why: "disabled".into(),
            need: Some("guest".into()),
        };
        a.set_up = Some(problem.clone());
        let mut b = a.clone();
        b.id = "B".into();
        b.outcome = Outcome::Blocked;
        let mut c = a.clone();
        c.id = "C".into();
        c.set_up = None;
        let causes = root_causes(&[a, b, c]);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].kind, CauseKind::NotRun);
        assert_eq!(causes[0].cases, ["A", "B"]);
        assert_eq!(causes[0].summary, "preflight guest registration: disabled");
    }
}
