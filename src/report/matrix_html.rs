//! The comparison page of `mediaconf matrix` (and `run` with several `--image`s): one
//! self-contained HTML file, a column per implementation, a row per case, each cell the
//! outcome with its reason on hover, the rows where the implementations disagree first, then
//! the checklist sections. Reads only the [`Matrix`]; no script, no external resource.

use std::fmt::Write as _;

use super::html::escape;
use crate::matrix::{Cell, Matrix, Row, section_name};

/// The page.
pub fn render(m: &Matrix) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<header><h1>mediaconf: implementations side by side</h1><p class=\"dim\">{} cases, {} \
         implementations; they disagree on <b>{}</b>. Hover a cell for its reason.</p></header>",
        m.disagreeing.len() + m.sections.iter().map(|(_, r)| r.len()).sum::<usize>(),
        m.columns.len(),
        m.disagreeing.len()
    );
    body.push_str(&legend());
    if !m.disagreeing.is_empty() {
        body.push_str(&table(m, "Where they disagree", "disagree", &m.disagreeing));
    }
    for (letter, rows) in &m.sections {
        let title = format!("{letter}. {}", section_name(letter));
        body.push_str(&table(m, &title, &format!("section-{letter}"), rows));
    }
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>mediaconf matrix</title>\n<style>{STYLE}</style></head>\n<body>{body}</body></html>\n"
    )
}

fn legend() -> String {
    let mut out = String::from("<p class=\"legend\">");
    for (class, label) in [
        ("passed", "pass"),
        ("failed", "FAIL (MUST)"),
        ("expected-failure", "fail, in the baseline"),
        ("warned", "warn (SHOULD/GAP)"),
        ("info", "info (observation)"),
        ("blocked", "blocked"),
        ("skipped", "skipped"),
    ] {
        let _ = write!(out, "<span class=\"cell o-{class}\">{label}</span> ");
    }
    out.push_str("</p>");
    out
}

fn table(m: &Matrix, title: &str, anchor: &str, rows: &[Row]) -> String {
    let count = match rows.len() {
        1 => "1 case".to_owned(),
        n => format!("{n} cases"),
    };
    let mut out = format!(
        "<section id=\"{anchor}\"><h2>{} <span class=\"dim\">({count})</span></h2><table><thead><tr>\
         <th>case</th><th>level</th>",
        escape(title)
    );
    for c in &m.columns {
        let _ = write!(
            out,
            "<th title=\"{}\">{}</th>",
            escape(&c.source),
            escape(&c.name)
        );
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        let _ = write!(
            out,
            "<tr><td><code>{}</code> {}</td><td>{}</td>",
            escape(&row.id),
            escape(&row.title),
            escape(&row.level)
        );
        for cell in &row.cells {
            out.push_str(&cell_html(cell.as_ref()));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></section>");
    out
}

fn cell_html(cell: Option<&Cell>) -> String {
    let Some(c) = cell else {
        return "<td class=\"missing\" title=\"not in this report\">–</td>".to_owned();
    };
    let class = if c.info && c.outcome == "passed" {
        "info".to_owned()
    } else {
        c.outcome.replace('_', "-")
    };
    let hover = if c.reason.is_empty() {
        c.outcome.replace('_', " ")
    } else {
        format!("{}: {}", c.outcome.replace('_', " "), c.reason)
    };
    format!(
        "<td><span class=\"cell o-{class}\" title=\"{}\">{}</span></td>",
        escape(&hover),
        escape(c.label())
    )
}

const STYLE: &str = r#"
:root{--passed:#1b7f5b;--failed:#c8401a;--warned:#d49000;--skipped:#a7adb4;--blocked:#a0508a;
--interrupted:#3c3c3c;--expected-failure:#3d8fc6;--unexpected-pass:#1d4f91;--info:#5b6b7a;--ink:#1d2329;
--dim:#68717a;--line:#dde1e5;--bg:#f6f7f8}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}.dim{color:var(--dim);font-weight:normal}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:14px 0;overflow-x:auto}
#disagree{border-color:var(--failed)}
table{border-collapse:collapse;width:100%}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{font-size:12px;color:var(--dim);white-space:nowrap}
code{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
.cell{display:inline-block;min-width:64px;padding:2px 8px;border-radius:10px;color:#fff;font-size:12px;
text-align:center;cursor:help;white-space:nowrap}
.o-passed{background:var(--passed)}.o-failed{background:var(--failed)}.o-warned{background:var(--warned)}
.o-skipped{background:var(--skipped)}.o-blocked{background:var(--blocked)}.o-interrupted{background:var(--interrupted)}
.o-expected-failure{background:var(--expected-failure)}.o-unexpected-pass{background:var(--unexpected-pass)}
.o-info{background:var(--info)}
.missing{color:var(--dim)}
.legend .cell{cursor:default}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{Input, build};

    #[test]
    fn the_page_escapes_reasons_and_puts_disagreements_first() {
        let a = r#"{"target":{"url":"u","server_version":"A <1>"},"cases":[
            {"id":"C-01","title":"t1","level":"MUST","outcome":"passed","reason":""},
            {"id":"C-02","title":"t2","level":"MUST","outcome":"passed","reason":""}]}"#;
        let b = r#"{"target":{"url":"u","server_version":"B 2"},"cases":[
            {"id":"C-01","title":"t1","level":"MUST","outcome":"passed","reason":""},
            {"id":"C-02","title":"t2","level":"MUST","outcome":"failed","reason":"got <script>\"x\""}]}"#;
        let m = build(&[
            Input {
                text: a,
                source: "a.json",
                label: None,
            },
            Input {
                text: b,
                source: "b.json",
                label: None,
            },
        ])
        .unwrap();
        let page = render(&m);
        assert!(page.contains("A &lt;1&gt;"));
        assert!(page.contains("title=\"failed: got &lt;script&gt;&quot;x&quot;\""));
        assert!(!page.contains("<script"));
        let disagree = page.find("Where they disagree").unwrap();
        let section = page.find("C. Download").unwrap();
        assert!(disagree < section);
        assert!(page[disagree..section].contains("C-02"));
        assert!(!page[disagree..section].contains("C-01"));
    }
}
