//! `mediaconf matrix A.json B.json …`: several implementations side by side, from their JSON
//! reports. One column per implementation (its name and version), one row per case, grouped
//! by checklist section, the rows where the implementations disagree first. Pure: parsing,
//! building the table and rendering Markdown; the HTML page is [`crate::report::matrix_html`].

use std::collections::{BTreeMap, BTreeSet};

use crate::report_summary::{ReportSummary, TargetSummary};

/// One implementation: a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// What the column is called: the label given, else the implementation's name and version
    /// from the report, else the file name.
    pub name: String,
    /// Where it came from (the report file), shown under the name.
    pub source: String,
}

/// One case's result on one implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    /// The report's outcome (`passed`, `failed`, `expected_failure`, …).
    pub outcome: String,
    /// Why (empty for a plain pass).
    pub reason: String,
    /// An INFO case: its "pass" is an observation.
    pub info: bool,
}

impl Cell {
    /// The verdict compared across implementations: a baselined failure is a failure, an
    /// unexpected pass a pass; an INFO observation is either what the case expected (`observed:
    /// answered …`, no finding) or a deviation (a finding), since its text names run-specific
    /// media ids.
    pub fn verdict(&self) -> &'static str {
        match self.outcome.as_str() {
            "expected_failure" | "failed" => "failed",
            "unexpected_pass" => "passed",
            "passed" if self.info && !self.reason.starts_with("observed: answered") => {
                "info: deviates"
            }
            "passed" => "passed",
            "warned" => "warned",
            "blocked" => "blocked",
            "interrupted" => "interrupted",
            _ => "other",
        }
    }

    /// The short label shown in a cell.
    pub fn label(&self) -> &'static str {
        match self.outcome.as_str() {
            "passed" if self.info => "info",
            "passed" => "pass",
            "failed" => "FAIL",
            "expected_failure" => "fail (baseline)",
            "unexpected_pass" => "pass (baseline)",
            "warned" => "warn",
            "skipped" => "skip",
            "blocked" => "blocked",
            "interrupted" => "interrupted",
            _ => "?",
        }
    }
}

/// One case: a row, with a cell per column (`None`: the case is not in that report).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: String,
    pub title: String,
    pub level: String,
    pub cells: Vec<Option<Cell>>,
}

impl Row {
    /// The implementations that ran the case reached different verdicts (skipped cases and
    /// missing ones do not count: they say nothing about the rule).
    pub fn disagrees(&self) -> bool {
        let verdicts: BTreeSet<&str> = self
            .cells
            .iter()
            .flatten()
            .filter(|c| c.outcome != "skipped")
            .map(Cell::verdict)
            .collect();
        verdicts.len() > 1
    }

    /// The checklist section: the letter before the first `-` (`C` for `C-04.x`).
    pub fn section(&self) -> &str {
        self.id.split('-').next().unwrap_or("")
    }
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    pub columns: Vec<Column>,
    /// The rows where implementations disagree, by section and id.
    pub disagreeing: Vec<Row>,
    /// Every other row, grouped by section (in checklist order), by id within a section.
    pub sections: Vec<(String, Vec<Row>)>,
}

/// The checklist's section names, by letter.
pub fn section_name(letter: &str) -> &'static str {
    match letter {
        "A" => "Discovery",
        "B" => "Client authentication",
        "C" => "Download",
        "D" => "Thumbnails",
        "E" => "Config and URL previews",
        "F" => "Federation endpoints",
        "G" => "Fetching remote media",
        "H" => "Guest access",
        "I" => "Deprecated endpoints and the freeze",
        "J" => "Upload, create, async upload",
        "K" => "Keys",
        _ => "Other",
    }
}

/// A report to compare: its text, where it came from, and an optional label.
pub struct Input<'a> {
    pub text: &'a str,
    pub source: &'a str,
    pub label: Option<&'a str>,
}

/// Builds the matrix; the error names the report that is not a mediaconf JSON report.
pub fn build(inputs: &[Input<'_>]) -> Result<Matrix, String> {
    let mut columns = Vec::new();
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let report =
            ReportSummary::parse(input.text).map_err(|e| format!("{}: {e}", input.source))?;
        columns.push(Column {
            name: column_name(input, report.target.as_ref()),
            source: input.source.to_owned(),
        });
        for case in report.cases {
            let row = rows.entry(case.id.clone()).or_insert_with(|| Row {
                id: case.id.clone(),
                title: case.title.clone(),
                level: case.level.clone(),
                cells: vec![None; inputs.len()],
            });
            row.cells[i] = Some(Cell {
                info: case.level == "INFO",
                outcome: case.outcome,
                reason: case.reason,
            });
        }
    }
    let mut ordered: Vec<Row> = rows.into_values().collect();
    ordered.sort_by_key(|r| id_order(&r.id));
    let (disagreeing, agreeing): (Vec<Row>, Vec<Row>) =
        ordered.into_iter().partition(Row::disagrees);
    let mut sections: Vec<(String, Vec<Row>)> = Vec::new();
    for row in agreeing {
        let letter = row.section().to_owned();
        match sections.last_mut() {
            Some((s, rows)) if *s == letter => rows.push(row),
            _ => sections.push((letter, vec![row])),
        }
    }
    Ok(Matrix {
        columns,
        disagreeing,
        sections,
    })
}

/// Sorts `C-2` before `C-10`, and a case before its suffixed twins.
fn id_order(id: &str) -> (String, u32, String) {
    let (letter, rest) = id.split_once('-').unwrap_or((id, ""));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let suffix = rest[digits.len()..].to_owned();
    (
        letter.to_owned(),
        digits.parse().unwrap_or(u32::MAX),
        suffix,
    )
}

fn column_name(input: &Input<'_>, target: Option<&TargetSummary>) -> String {
    if let Some(label) = input.label {
        return label.to_owned();
    }
    if let Some(version) = target.and_then(|t| t.server_version.as_deref()) {
        return version.to_owned();
    }
    match target {
        Some(t) if !t.url.is_empty() => t.url.clone(),
        _ => input.source.to_owned(),
    }
}

/// The matrix as Markdown: a summary line, then one table for the disagreements and one per
/// section. Cells are `pass`, `FAIL`, `warn`, … (the reasons are in the HTML page's hover text).
pub fn render_markdown(m: &Matrix) -> String {
    let mut out = String::from("# mediaconf: implementations side by side\n\n");
    for (i, c) in m.columns.iter().enumerate() {
        out.push_str(&format!(
            "{}. **{}** ({})\n",
            i + 1,
            md(&c.name),
            md(&c.source)
        ));
    }
    let total = m.disagreeing.len() + m.sections.iter().map(|(_, r)| r.len()).sum::<usize>();
    out.push_str(&format!(
        "\n{total} cases; the implementations disagree on {}.\n",
        m.disagreeing.len()
    ));
    let mut table = |title: &str, rows: &[Row]| {
        out.push_str(&format!("\n## {title}\n\n| case | level |"));
        for c in &m.columns {
            out.push_str(&format!(" {} |", md(&c.name)));
        }
        out.push_str("\n|---|---|");
        out.push_str(&"---|".repeat(m.columns.len()));
        out.push('\n');
        for row in rows {
            out.push_str(&format!(
                "| {} {} | {} |",
                row.id,
                md(&row.title),
                row.level
            ));
            for cell in &row.cells {
                let label = cell.as_ref().map_or("–", Cell::label);
                out.push_str(&format!(" {label} |"));
            }
            out.push('\n');
        }
    };
    if !m.disagreeing.is_empty() {
        table("Where they disagree", &m.disagreeing);
    }
    for (letter, rows) in &m.sections {
        table(&format!("{letter}. {}", section_name(letter)), rows);
    }
    out
}

/// Text for a Markdown table cell: no pipes, no line breaks.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(text: &'a str, source: &'a str, label: Option<&'a str>) -> Input<'a> {
        Input {
            text,
            source,
            label,
        }
    }

    fn report(version: &str, cases: &[(&str, &str, &str)]) -> String {
        let cases: Vec<serde_json::Value> = cases
            .iter()
            .map(|(id, level, outcome)| {
                serde_json::json!({"id": id, "title": format!("title of {id}"), "level": level,
                    "outcome": outcome, "reason": format!("why {id} {outcome}")})
            })
            .collect();
        serde_json::json!({"target": {"url": "http://x", "server_version": version}, "cases": cases})
            .to_string()
    }

    #[test]
    fn disagreements_come_first_and_sections_follow_the_checklist() {
        let a = report(
            "Synapse 1.163.2",
            &[
                ("C-10", "MUST", "passed"),
                ("C-2", "MUST", "passed"),
                ("A-01", "MUST", "passed"),
                ("G-08", "MUST", "expected_failure"),
                ("D-01", "SHOULD", "skipped"),
            ],
        );
        let b = report(
            "conduwuit 0.5",
            &[
                ("C-10", "MUST", "failed"),
                ("C-2", "MUST", "passed"),
                ("A-01", "MUST", "passed"),
                ("G-08", "MUST", "failed"),
                ("D-01", "SHOULD", "warned"),
            ],
        );
        let m = build(&[input(&a, "a.json", None), input(&b, "b.json", Some("mine"))]).unwrap();
        assert_eq!(m.columns[0].name, "Synapse 1.163.2");
        assert_eq!(m.columns[1].name, "mine");
        // A baselined failure agrees with a failure; a skip says nothing.
        let ids: Vec<&str> = m.disagreeing.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["C-10"]);
        let sections: Vec<(&str, Vec<&str>)> = m
            .sections
            .iter()
            .map(|(s, rows)| (s.as_str(), rows.iter().map(|r| r.id.as_str()).collect()))
            .collect();
        assert_eq!(
            sections,
            [
                ("A", vec!["A-01"]),
                ("C", vec!["C-2"]),
                ("D", vec!["D-01"]),
                ("G", vec!["G-08"])
            ]
        );
        let md = render_markdown(&m);
        assert!(md.contains("the implementations disagree on 1."), "{md}");
        assert!(
            md.contains("| C-10 title of C-10 | MUST | pass | FAIL |"),
            "{md}"
        );
        assert!(md.contains("## G. Fetching remote media"), "{md}");
    }

    #[test]
    fn a_case_missing_from_one_report_is_a_dash_and_bad_input_is_named() {
        let a = report(
            "A 1",
            &[("C-01", "MUST", "passed"), ("C-02", "MUST", "passed")],
        );
        let b = report("B 2", &[("C-01", "MUST", "passed")]);
        let m = build(&[input(&a, "a.json", None), input(&b, "b.json", None)]).unwrap();
        assert!(m.disagreeing.is_empty());
        assert!(render_markdown(&m).contains("| C-02 title of C-02 | MUST | pass | – |"));
        let err = build(&[input("{}", "x.json", None)]).unwrap_err();
        assert!(
            err.starts_with("x.json: not a mediaconf JSON report"),
            "{err}"
        );
    }

    #[test]
    fn info_observations_disagree_when_only_one_deviates() {
        let a = report("A 1", &[("G-13", "INFO", "passed")]);
        let b = report("B 2", &[("G-13", "INFO", "passed")]);
        let b = b.replace("why G-13 passed", "observed: answered 404 M_NOT_FOUND");
        let m = build(&[input(&a, "a", None), input(&b, "b", None)]).unwrap();
        assert_eq!(m.disagreeing.len(), 1);
        assert_eq!(m.disagreeing[0].cells[0].as_ref().unwrap().label(), "info");
    }
}
