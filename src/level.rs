//! Requirement levels of the checklist (MUST, SHOULD, MAY, GAP, INFO) and what a broken rule of
//! each level means for the outcome.

use std::fmt;

use serde::Deserialize;

/// How strongly the spec states a rule.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize,
)]
pub enum Level {
    /// A hard requirement: a broken rule fails the case.
    #[serde(rename = "MUST")]
    Must,
    /// Recommended: a broken rule is a warning.
    #[serde(rename = "SHOULD")]
    Should,
    /// Optional behaviour: a broken rule is a warning.
    #[serde(rename = "MAY")]
    May,
    /// The spec is silent; the expectation is de-facto behaviour: a warning only.
    #[serde(rename = "GAP")]
    Gap,
    /// Recorded for information; never a failure or warning.
    #[serde(rename = "INFO")]
    Info,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Gap => "GAP",
            Level::Info => "INFO",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
