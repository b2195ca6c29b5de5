//! Recorded runs: a JSON report (`run --json`) read back into verdicts, so that what is judged
//! from verdicts alone (root causes) can be judged again on runs recorded earlier, e.g. the
//! root-cause corpus benchmark. Only what the report keeps comes back (no durations).

use std::time::Duration;

use serde_json::Value;

use crate::outcome::{Finding, Outcome, SetUpProblem, StepReport, Verdict};

/// The verdicts of a JSON report, in report order; `Err` names what is missing.
pub fn verdicts_of_report(text: &str) -> Result<Vec<Verdict>, String> {
    let json: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON report: {e}"))?;
    let cases = json
        .get("cases")
        .and_then(Value::as_array)
        .ok_or("not a mediaconf JSON report: no `cases` array")?;
    cases
        .iter()
        .enumerate()
        .map(|(i, c)| verdict_of(c).map_err(|e| format!("case {i}: {e}")))
        .collect()
}

fn text(c: &Value, key: &str) -> String {
    c.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn parsed<T: serde::de::DeserializeOwned>(c: &Value, key: &str) -> Result<T, String> {
    let value = c.get(key).cloned().ok_or(format!("no `{key}`"))?;
    serde_json::from_value(value).map_err(|e| format!("`{key}`: {e}"))
}

fn verdict_of(c: &Value) -> Result<Verdict, String> {
    let steps = c
        .get("steps")
        .and_then(Value::as_array)
        .map(|steps| steps.iter().map(step_of).collect::<Result<Vec<_>, _>>())
        .transpose()?
        .unwrap_or_default();
    Ok(Verdict {
        id: text(c, "id"),
        title: text(c, "title"),
        level: parsed(c, "level")?,
        profile: text(c, "profile"),
        spec_ref: text(c, "spec"),
        spec_url: text(c, "spec_url"),
        outcome: parsed::<Outcome>(c, "outcome")?,
        reason: text(c, "reason"),
        steps,
        set_up: match c.get("set_up") {
            None | Some(Value::Null) => None,
            Some(_) => Some(parsed::<SetUpProblem>(c, "set_up")?),
        },
        cause: c.get("cause").and_then(Value::as_str).map(str::to_owned),
        duration: Duration::ZERO,
        started_at: Duration::ZERO,
    })
}

fn step_of(s: &Value) -> Result<StepReport, String> {
    Ok(StepReport {
        request_line: text(s, "request"),
        request_headers: Vec::new(),
        elapsed_ms: s.get("elapsed_ms").and_then(Value::as_u64).unwrap_or(0),
        response_summary: text(s, "response"),
        findings: parsed::<Vec<Finding>>(s, "findings")?,
        reproduction: s
            .get("reproduction")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_back_into_the_verdicts_it_was_written_from() {
        let text = r#"{"cases": [
            {"id": "B-06.download", "title": "t", "level": "MUST", "profile": "client",
             "spec": "s", "spec_url": "u", "outcome": "failed", "reason": "r",
             "set_up": null, "cause": "c", "start_ms": 1, "duration_ms": 2,
             "steps": [{"request": "GET http://h/x", "request_headers": [], "response": "200",
                        "elapsed_ms": 3, "reproduction": null,
                        "findings": [{"check": "status", "expected": "401", "actual": "200"}]}]},
            {"id": "H-03", "title": "t", "level": "SHOULD", "profile": "guest", "spec": "s",
             "spec_url": "u", "outcome": "skipped", "reason": "r",
             "set_up": {"by": "preflight guest registration", "why": "off", "need": "guest"},
             "start_ms": 0, "duration_ms": 0, "steps": []}
        ]}"#;
        let v = verdicts_of_report(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].outcome, Outcome::Failed);
        assert_eq!(v[0].cause.as_deref(), Some("c"));
        assert_eq!(v[0].steps[0].findings[0].actual, "200");
        assert_eq!(v[1].set_up.as_ref().unwrap().need.as_deref(), Some("guest"));
        assert!(verdicts_of_report("{}").unwrap_err().contains("cases"));
    }
}
