//! A Markdown summary for CI step summaries (e.g. `$GITHUB_STEP_SUMMARY`): totals, then one
//! table row per failed, warned, unexpectedly passing or expected-failing case, its id linked to
//! the spec section it tests.

use std::path::Path;
use std::time::Duration;

use crate::outcome::{Outcome, Summary, Verdict};
use crate::redact::Redactor;
use crate::rootcause::{RootCause, headline};
use crate::run::TargetInfo;

/// Builds the Markdown text (redacted).
pub fn render_markdown(
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    elapsed: Duration,
    redactor: &Redactor,
) -> String {
    let s = Summary::of(verdicts);
    let mut out = String::new();
    out.push_str(&format!(
        "## mediaconf — {} ({})\n\n",
        cell(&target.url),
        cell(target.server_version.as_deref().unwrap_or("unknown server"))
    ));
    if !causes.is_empty() {
        out.push_str(&format!("**{}:**\n\n", headline(causes)));
        for c in causes {
            let ids: Vec<String> = c.cases.iter().map(|id| format!("`{id}`")).collect();
            out.push_str(&format!(
                "1. **{}** {} — {}\n",
                c.kind.as_str(),
                cell(&c.summary),
                ids.join(", ")
            ));
        }
        out.push('\n');
    }
    out.push_str(
        "| passed | failed | warned | skipped | blocked | interrupted | expected failures | unexpected passes | time |\n",
    );
    out.push_str("|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |\n\n",
        s.passed,
        s.failed,
        s.warned,
        s.skipped,
        s.blocked,
        s.interrupted,
        s.expected_failures,
        s.unexpected_passes,
        elapsed.as_secs_f64()
    ));
    let listed: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| match v.outcome {
            Outcome::Failed
            | Outcome::Warned
            | Outcome::UnexpectedPass
            | Outcome::Blocked
            | Outcome::Interrupted
            | Outcome::ExpectedFailure => true,
            Outcome::Passed | Outcome::Skipped => false,
        })
        .collect();
    if listed.is_empty() {
        out.push_str("Every case that ran passed.\n");
    } else {
        out.push_str("| outcome | case | level | title | reason |\n|---|---|---|---|---|\n");
        for v in listed {
            out.push_str(&format!(
                "| {} | [`{}`]({}) | {} | {} | {} |\n",
                v.outcome.as_str(),
                v.id,
                link(&v.spec_url),
                v.level,
                cell(&v.title),
                cell(&v.reason)
            ));
        }
    }
    redactor.redact(&out)
}

/// A link target safe in Markdown: no spaces, parentheses or pipes (the suite checks that it is
/// an https URL; percent-encode what would end the link).
fn link(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('|', "%7C")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// Text safe inside a table cell: one line, no pipes, no HTML.
fn cell(text: &str) -> String {
    crate::report::sanitize(text)
        .replace('\n', " ")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn write_markdown(
    path: &Path,
    target: &TargetInfo,
    verdicts: &[Verdict],
    causes: &[RootCause],
    elapsed: Duration,
    redactor: &Redactor,
) -> Result<(), String> {
    let text = render_markdown(target, verdicts, causes, elapsed, redactor);
    super::write_atomically(path, text.as_bytes())
}
