//! Results as data: findings (one broken expectation), step reports, outcomes and verdicts.
//!
//! Reports read these; they never see HTTP types. `outcome_for` is the one place that maps a
//! requirement level and a result to an outcome.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::level::Level;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Finding {
    /// What was checked, e.g. `status`, `header Content-Type`, `disposition filename`.
    pub check: String,
    pub expected: String,
    pub actual: String,
}

impl Finding {
    pub fn new(
        check: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Finding {
            check: check.into(),
            expected: expected.into(),
            actual: actual.into(),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.check, self.expected, self.actual
        )
    }
}

/// What one step sent and received, in printable form, with the findings on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepReport {
    /// `GET http://…` (redacted).
    pub request_line: String,
    /// The headers we sent (secrets already redacted).
    pub request_headers: Vec<(String, String)>,
    /// How long the request took, in milliseconds (0 when it was not sent).
    pub elapsed_ms: u64,
    /// `404` plus the relevant headers and a body excerpt, or the transport failure.
    pub response_summary: String,
    pub findings: Vec<Finding>,
    /// A `curl` command sending the same request again (tokens as environment variables), for
    /// failed steps of client-API requests.
    pub reproduction: Option<String>,
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    /// A SHOULD/MAY/GAP rule broken.
    Warned,
    Skipped,
    /// The case did not test its rule because its set-up failed (media could not be created, an
    /// endpoint it needs is not served, a set-up step failed). Never a rule failure.
    Blocked,
    /// The run was interrupted (SIGINT or SIGTERM) before the case finished.
    Interrupted,
    /// Failed, and listed in the baseline.
    ExpectedFailure,
    /// Listed in the baseline, but passed.
    UnexpectedPass,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::Warned => "warned",
            Outcome::Skipped => "skipped",
            Outcome::Blocked => "blocked",
            Outcome::Interrupted => "interrupted",
            Outcome::ExpectedFailure => "expected-failure",
            Outcome::UnexpectedPass => "unexpected-pass",
        }
    }
}

/// Outcome of a case that ran: no findings passes; findings fail a MUST and warn otherwise.
/// INFO cases always pass (their findings are kept as observations).
pub fn outcome_for(level: Level, has_findings: bool) -> Outcome {
    if !has_findings {
        return Outcome::Passed;
    }
    match level {
        Level::Must => Outcome::Failed,
        Level::Should | Level::May | Level::Gap => Outcome::Warned,
        Level::Info => Outcome::Passed,
    }
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub id: String,
    pub title: String,
    pub level: Level,
    pub profile: String,
    pub spec_ref: String,
    /// Link to the cited spec section or MSC.
    pub spec_url: String,
    pub outcome: Outcome,
    /// One line: why it failed/warned/skipped, or the baseline reason.
    pub reason: String,
    pub steps: Vec<StepReport>,
    /// For a blocked case, or one skipped because something it needs is unavailable: what
    /// stood in the way (a preflight item, a media item, a set-up step). `None` for skips that
    /// are not set-up problems (another spec version, not automated, not selected).
    pub set_up: Option<SetUpProblem>,
    /// The wrong behaviour behind a failed, warned or blocked case, when it is shared beyond
    /// the case's family (the suite's `cause`, or one the run recognised, such as remote media
    /// fetched from the deprecated endpoint first). Root causes group by it.
    pub cause: Option<String>,
    #[serde(skip)]
    pub duration: Duration,
    /// When the case started, from the start of the run (preflight included).
    #[serde(skip)]
    pub started_at: Duration,
}

/// What kept a case from testing its rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
pub struct SetUpProblem {
    /// What failed or is unavailable, e.g. `preflight guest registration`, `media pending`.
    pub by: String,
    /// Why, in one line (with the fix when there is one).
    pub why: String,
    /// The suite need behind it (`guest`, `federation`, …), when it is one; `--allow-skipped`
    /// accepts these names.
    pub need: Option<String>,
}

impl Verdict {
    /// A verdict for a case that did not run.
    pub fn skipped(case: &crate::suite::Case, reason: impl Into<String>) -> Self {
        Verdict {
            id: case.id.clone(),
            title: case.title.clone(),
            level: case.level,
            profile: case.profile.clone(),
            spec_ref: case.spec_ref.clone(),
            spec_url: case.spec_url.clone(),
            outcome: Outcome::Skipped,
            reason: reason.into(),
            steps: Vec::new(),
            set_up: None,
            cause: None,
            duration: Duration::ZERO,
            started_at: Duration::ZERO,
        }
    }

    /// A verdict for a case that did not run because of a set-up problem: skipped when
    /// `blocked` is false (a need is unavailable), blocked when its set-up failed.
    pub fn not_run(case: &crate::suite::Case, problem: SetUpProblem, blocked: bool) -> Self {
        let mut v = Verdict::skipped(case, format!("{}: {}", problem.by, problem.why));
        if blocked {
            v.outcome = Outcome::Blocked;
        }
        v.set_up = Some(problem);
        v
    }

    /// Skipped or blocked because of a set-up problem (so what was asked for did not run).
    pub fn is_set_up_problem(&self) -> bool {
        self.set_up.is_some() && matches!(self.outcome, Outcome::Skipped | Outcome::Blocked)
    }

    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.steps.iter().flat_map(|s| s.findings.iter())
    }
}

/// Totals over a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub warned: usize,
    pub skipped: usize,
    pub blocked: usize,
    pub interrupted: usize,
    pub expected_failures: usize,
    pub unexpected_passes: usize,
}

impl Summary {
    pub fn of<'a>(verdicts: impl IntoIterator<Item = &'a Verdict>) -> Self {
        let mut s = Summary::default();
        for v in verdicts {
            match v.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Warned => s.warned += 1,
                Outcome::Skipped => s.skipped += 1,
                Outcome::Blocked => s.blocked += 1,
                Outcome::Interrupted => s.interrupted += 1,
                Outcome::ExpectedFailure => s.expected_failures += 1,
                Outcome::UnexpectedPass => s.unexpected_passes += 1,
            }
        }
        s
    }

    pub fn total(&self) -> usize {
        self.passed
            + self.failed
            + self.warned
            + self.skipped
            + self.blocked
            + self.interrupted
            + self.expected_failures
            + self.unexpected_passes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_outcomes() {
        assert_eq!(outcome_for(Level::Must, true), Outcome::Failed);
        assert_eq!(outcome_for(Level::Should, true), Outcome::Warned);
        assert_eq!(outcome_for(Level::Gap, true), Outcome::Warned);
        assert_eq!(outcome_for(Level::May, true), Outcome::Warned);
        assert_eq!(outcome_for(Level::Info, true), Outcome::Passed);
        assert_eq!(outcome_for(Level::Must, false), Outcome::Passed);
    }
}
