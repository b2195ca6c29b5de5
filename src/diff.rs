//! `mediaconf diff OLD.json NEW.json`: what changed between two runs, from their JSON reports.
//! Pure: parsing, comparing and rendering; the command only reads the files.

use std::collections::BTreeMap;

use crate::report_summary::{CaseSummary, ReportSummary};

/// How bad an outcome is, for telling regressions from improvements.
fn severity(outcome: &str) -> u8 {
    match outcome {
        "passed" | "unexpected-pass" => 0,
        "skipped" | "expected-failure" => 1,
        "warned" => 2,
        "blocked" | "interrupted" => 3,
        "failed" => 4,
        _ => 3,
    }
}

/// One case whose outcome changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: String,
    pub old: String,
    pub new: String,
    /// The new run's reason (why it fails now, or why it is skipped).
    pub reason: String,
}

/// Everything that changed, each list in case-id order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Now failed, before anything else.
    pub newly_failing: Vec<Change>,
    /// Now passed, before failed.
    pub newly_passing: Vec<Change>,
    /// Every other outcome change.
    pub other: Vec<Change>,
    /// Only in the new report: (id, outcome).
    pub added: Vec<(String, String)>,
    /// Only in the old report: (id, outcome).
    pub removed: Vec<(String, String)>,
}

impl Changes {
    /// Something got worse: a case newly failing, or any change to a worse outcome that
    /// matters (warned, blocked, interrupted or failed).
    pub fn regressed(&self) -> bool {
        !self.newly_failing.is_empty()
            || self
                .other
                .iter()
                .any(|c| severity(&c.new) > severity(&c.old) && severity(&c.new) >= 2)
    }

    pub fn is_empty(&self) -> bool {
        self.newly_failing.is_empty()
            && self.newly_passing.is_empty()
            && self.other.is_empty()
            && self.added.is_empty()
            && self.removed.is_empty()
    }
}

pub fn compare(old: &ReportSummary, new: &ReportSummary) -> Changes {
    let index = |r: &ReportSummary| -> BTreeMap<String, CaseSummary> {
        r.cases.iter().map(|c| (c.id.clone(), c.clone())).collect()
    };
    let (old, new) = (index(old), index(new));
    let mut changes = Changes::default();
    for (id, n) in &new {
        let Some(o) = old.get(id) else {
            changes.added.push((id.clone(), n.outcome.clone()));
            continue;
        };
        if o.outcome == n.outcome {
            continue;
        }
        let change = Change {
            id: id.clone(),
            old: o.outcome.clone(),
            new: n.outcome.clone(),
            reason: n.reason.clone(),
        };
        if n.outcome == "failed" {
            changes.newly_failing.push(change);
        } else if o.outcome == "failed" && n.outcome == "passed" {
            changes.newly_passing.push(change);
        } else {
            changes.other.push(change);
        }
    }
    for (id, o) in &old {
        if !new.contains_key(id) {
            changes.removed.push((id.clone(), o.outcome.clone()));
        }
    }
    changes
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

pub fn render_text(c: &Changes) -> String {
    if c.is_empty() {
        return "no changes: every case has the same outcome in both reports\n".to_string();
    }
    let mut out = String::new();
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push_str(&format!("{title} ({}):\n", lines.len()));
            for l in lines {
                out.push_str(&format!("  {l}\n"));
            }
        }
    };
    let changed = |list: &[Change]| -> Vec<String> {
        list.iter()
            .map(|ch| {
                let why = if ch.reason.is_empty() {
                    String::new()
                } else {
                    format!(" — {}", one_line(&ch.reason))
                };
                format!("{:<24} {} → {}{why}", ch.id, ch.old, ch.new)
            })
            .collect()
    };
    section("newly failing", changed(&c.newly_failing));
    section("newly passing", changed(&c.newly_passing));
    section("other outcome changes", changed(&c.other));
    section(
        "added",
        c.added
            .iter()
            .map(|(id, o)| format!("{id:<24} {o}"))
            .collect(),
    );
    section(
        "removed",
        c.removed
            .iter()
            .map(|(id, o)| format!("{id:<24} was {o}"))
            .collect(),
    );
    out.push_str(if c.regressed() {
        "regressed: exit 1\n"
    } else {
        "no regression\n"
    });
    out
}

pub fn render_markdown(c: &Changes) -> String {
    let cell = |t: &str| {
        one_line(t)
            .replace('|', "\\|")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut out = String::from("## mediaconf diff\n\n");
    if c.is_empty() {
        out.push_str("No changes: every case has the same outcome in both reports.\n");
        return out;
    }
    out.push_str(if c.regressed() {
        "**Regressed.**\n\n"
    } else {
        "No regression.\n\n"
    });
    out.push_str("| change | case | before | after | reason |\n|---|---|---|---|---|\n");
    let groups: [(&str, &[Change]); 3] = [
        ("newly failing", &c.newly_failing),
        ("newly passing", &c.newly_passing),
        ("changed", &c.other),
    ];
    for (what, list) in groups {
        for ch in list {
            out.push_str(&format!(
                "| {what} | `{}` | {} | {} | {} |\n",
                cell(&ch.id),
                ch.old,
                ch.new,
                cell(&ch.reason)
            ));
        }
    }
    for (id, o) in &c.added {
        out.push_str(&format!("| added | `{}` | | {o} | |\n", cell(id)));
    }
    for (id, o) in &c.removed {
        out.push_str(&format!("| removed | `{}` | {o} | | |\n", cell(id)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(cases: &[(&str, &str)]) -> ReportSummary {
        ReportSummary {
            target: None,
            cases: cases
                .iter()
                .map(|(id, o)| CaseSummary {
                    id: id.to_string(),
                    outcome: o.to_string(),
                    title: String::new(),
                    level: "MUST".into(),
                    reason: format!("why {id}"),
                })
                .collect(),
        }
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let old = report(&[
            ("A", "passed"),
            ("B", "failed"),
            ("C", "passed"),
            ("D", "skipped"),
            ("GONE", "passed"),
        ]);
        let new = report(&[
            ("A", "failed"),
            ("B", "passed"),
            ("C", "warned"),
            ("D", "passed"),
            ("NEW", "passed"),
        ]);
        let c = compare(&old, &new);
        assert_eq!(c.newly_failing.len(), 1);
        assert_eq!(c.newly_failing[0].id, "A");
        assert_eq!(c.newly_passing[0].id, "B");
        let other: Vec<&str> = c.other.iter().map(|ch| ch.id.as_str()).collect();
        assert_eq!(other, ["C", "D"]);
        assert_eq!(c.added, [("NEW".to_string(), "passed".to_string())]);
        assert_eq!(c.removed, [("GONE".to_string(), "passed".to_string())]);
        assert!(c.regressed());
        let text = render_text(&c);
        assert!(text.contains("newly failing (1):\n  A"), "{text}");
        assert!(text.contains("passed → failed — why A"), "{text}");
        assert!(text.ends_with("regressed: exit 1\n"), "{text}");
        let md = render_markdown(&c);
        assert!(
            md.contains("| newly failing | `A` | passed | failed | why A |"),
            "{md}"
        );
        assert!(md.contains("| removed | `GONE` | passed | | |"), "{md}");
    }

    #[test]
    fn improvements_alone_are_no_regression() {
        let c = compare(
            &report(&[("A", "failed"), ("B", "warned")]),
            &report(&[("A", "passed"), ("B", "passed")]),
        );
        assert!(!c.regressed());
        assert!(render_text(&c).ends_with("no regression\n"));
        let same = compare(&report(&[("A", "passed")]), &report(&[("A", "passed")]));
        assert!(same.is_empty() && !same.regressed());
        assert!(render_text(&same).starts_with("no changes"));
    }

    #[test]
    fn a_warning_appearing_is_a_regression() {
        let c = compare(&report(&[("A", "passed")]), &report(&[("A", "warned")]));
        assert!(c.regressed());
        let c = compare(&report(&[("A", "passed")]), &report(&[("A", "skipped")]));
        assert!(
            !c.regressed(),
            "a case now skipped is shown but is not a regression"
        );
    }
}
