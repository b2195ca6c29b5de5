//! Baselines of known failures: parsing (TOML or plain `ID  reason` lines) and applying them to
//! outcomes. Pure apart from `load_baseline`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::outcome::Outcome;

/// Known failures: case id → one-line reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    pub entries: BTreeMap<String, String>,
    /// Where it came from, for messages.
    pub source: String,
}

/// A baseline file problem with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct BaselineError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlBaseline {
    #[serde(default)]
    expected: Vec<TomlEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TomlEntry {
    id: String,
    reason: String,
}

/// Parses either format. TOML: `[[expected]] id = "C-07" reason = "…"`. Plain: one
/// `ID  reason` per line, `#` comments and blank lines ignored.
pub fn parse_baseline(file: &str, text: &str) -> Result<Baseline, BaselineError> {
    let looks_toml = text
        .lines()
        .any(|l| l.trim_start().starts_with("[[expected]]"));
    let mut entries = BTreeMap::new();
    let err = |line: usize, message: String| BaselineError {
        file: file.to_string(),
        line,
        message,
    };
    if looks_toml {
        let parsed: TomlBaseline = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| {
                text[..s.start.min(text.len())].matches('\n').count() + 1
            });
            err(line, e.message().trim().to_string())
        })?;
        for entry in parsed.expected {
            if entry.reason.trim().is_empty() {
                return Err(err(
                    0,
                    format!(
                        "entry `{}` has an empty reason (say why the target fails)",
                        entry.id
                    ),
                ));
            }
            if entries.insert(entry.id.clone(), entry.reason).is_some() {
                return Err(err(0, format!("case `{}` is listed twice", entry.id)));
            }
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            let line_no = i + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (id, reason) = trimmed
                .split_once(char::is_whitespace)
                .map(|(a, b)| (a, b.trim()))
                .unwrap_or((trimmed, ""));
            if reason.is_empty() {
                return Err(err(
                    line_no,
                    format!("`{id}` has no reason (write `{id}  why the target fails`)"),
                ));
            }
            if entries.insert(id.to_string(), reason.to_string()).is_some() {
                return Err(err(line_no, format!("case `{id}` is listed twice")));
            }
        }
    }
    Ok(Baseline {
        entries,
        source: file.to_string(),
    })
}

/// Reads and parses a baseline file.
pub fn load_baseline(path: &Path) -> Result<Baseline, BaselineError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| BaselineError {
        file: file.clone(),
        line: 0,
        message: format!("cannot read: {e}"),
    })?;
    parse_baseline(&file, &text)
}

impl Baseline {
    /// The outcome after the baseline, and the baseline reason when it applied. Listed failures
    /// become expected failures; listed cases that pass become unexpected passes. Warnings and
    /// skips are left as they are.
    pub fn apply(&self, id: &str, outcome: Outcome) -> (Outcome, Option<&str>) {
        let Some(reason) = self.entries.get(id) else {
            return (outcome, None);
        };
        match outcome {
            Outcome::Failed => (Outcome::ExpectedFailure, Some(reason)),
            Outcome::Passed => (Outcome::UnexpectedPass, Some(reason)),
            other => (other, None),
        }
    }

    /// Listed ids that are not in `known` (stale or mistyped entries).
    pub fn unknown_ids<'a>(
        &'a self,
        known: &'a std::collections::BTreeSet<String>,
    ) -> Vec<&'a str> {
        self.entries
            .keys()
            .filter(|id| !known.contains(*id))
            .map(String::as_str)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_toml_forms() {
        let plain = parse_baseline(
            "b.txt",
            "# known\nC-07  serves html inline\n\nD-12 accepts any method\n",
        )
        .unwrap();
        assert_eq!(plain.entries.len(), 2);
        assert_eq!(plain.entries["C-07"], "serves html inline");
        let toml =
            parse_baseline("b.toml", "[[expected]]\nid = \"C-07\"\nreason = \"x\"\n").unwrap();
        assert_eq!(toml.entries["C-07"], "x");
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_baseline("b.txt", "C-07 a\nC-08\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().starts_with("b.txt:2: `C-08` has no reason"));
        assert!(
            parse_baseline("b.txt", "C-07 a\nC-07 b\n")
                .unwrap_err()
                .message
                .contains("twice")
        );
        let e =
            parse_baseline("b.toml", "[[expected]]\nid = \"C-07\"\nreasn = \"x\"\n").unwrap_err();
        assert_eq!(e.line, 3);
    }

    #[test]
    fn applies_to_outcomes() {
        let b = parse_baseline("b", "C-07 known").unwrap();
        assert_eq!(
            b.apply("C-07", Outcome::Failed),
            (Outcome::ExpectedFailure, Some("known"))
        );
        assert_eq!(
            b.apply("C-07", Outcome::Passed),
            (Outcome::UnexpectedPass, Some("known"))
        );
        assert_eq!(b.apply("C-07", Outcome::Skipped), (Outcome::Skipped, None));
        assert_eq!(b.apply("C-08", Outcome::Failed), (Outcome::Failed, None));
    }
}
