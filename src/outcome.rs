//! Results as data: findings (one broken expectation), step reports, outcomes and verdicts.
//!
//! Reports read these; they never see HTTP types. `outcome_for` is the one place that maps a
//! requirement level and a result to an outcome.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::level::Level;

/// One expectation that did not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// `404` plus the relevant headers and a body excerpt, or the transport failure.
    pub response_summary: String,
    pub findings: Vec<Finding>,
}

/// How a case ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Passed,
    Failed,
    /// A SHOULD/MAY/GAP rule broken.
    Warned,
    Skipped,
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
    pub outcome: Outcome,
    /// One line: why it failed/warned/skipped, or the baseline reason.
    pub reason: String,
    pub steps: Vec<StepReport>,
    #[serde(skip)]
    pub duration: Duration,
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
            outcome: Outcome::Skipped,
            reason: reason.into(),
            steps: Vec::new(),
            duration: Duration::ZERO,
        }
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
