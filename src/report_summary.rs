//! A `run --json` report read back as a summary: the target and, per case, its id, title,
//! level, outcome and reason. What `mediaconf diff` and `mediaconf matrix` compare (the full
//! verdicts, steps included, are [`crate::recorded`]'s).

use serde::Deserialize;

/// The target and the cases of a JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReportSummary {
    #[serde(default)]
    pub target: Option<TargetSummary>,
    pub cases: Vec<CaseSummary>,
}

/// The report's target: its URL and the version it answered.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TargetSummary {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub server_version: Option<String>,
}

/// One case of a JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct CaseSummary {
    pub id: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub level: String,
    pub outcome: String,
    #[serde(default)]
    pub reason: String,
}

impl ReportSummary {
    /// Parses a `run --json` report; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ReportSummary, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if value.get("cases").is_none() {
            return Err("not a mediaconf JSON report (no `cases`)".to_string());
        }
        serde_json::from_value(value).map_err(|e| format!("not a mediaconf JSON report: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_read_and_other_files_named_for_what_they_lack() {
        assert!(
            ReportSummary::parse("{")
                .unwrap_err()
                .starts_with("not JSON")
        );
        assert!(
            ReportSummary::parse("{\"x\":1}")
                .unwrap_err()
                .contains("no `cases`")
        );
        assert!(
            ReportSummary::parse("{\"cases\":[{\"id\":\"A\"}]}")
                .unwrap_err()
                .contains("outcome")
        );
        let r = ReportSummary::parse(
            "{\"target\":{\"url\":\"http://x\",\"server_version\":\"Synapse 1\"},\
             \"cases\":[{\"id\":\"A\",\"outcome\":\"passed\"}]}",
        )
        .unwrap();
        assert_eq!(
            r.target.unwrap().server_version.as_deref(),
            Some("Synapse 1")
        );
        assert_eq!(r.cases[0].outcome, "passed");
        assert_eq!(r.cases[0].level, "");
    }
}
