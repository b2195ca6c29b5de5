//! The HTML report (`--html FILE`): one self-contained page to open in a browser.
//!
//! At the top, the target and a summary bar whose counts are the JSON report's; then the root
//! causes; then a conformance matrix with one cell per case, grouped by checklist section (the
//! id's letter before the first `-`, MSC probes in their own groups), coloured by outcome and
//! marked with a symbol so colour is never the only cue; then every case as a `<details>` with
//! its level, spec reference and link (to spec.matrix.org or the MSC), reason, exchanges and
//! reproduction.
//!
//! The page loads nothing: styles and a small script are inline, and a Content-Security-Policy
//! allows only that script (by hash) and no network at all. Every text is redacted, stripped of
//! control characters and HTML-escaped, so what a target sent shows as text and never runs.
//! The script only applies a filter (`#filter=failed`, also `?filter=failed`) by setting the
//! `hidden` attribute on the cells and cases that do not match, and opens a case linked to.

use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::level::Level;
use crate::outcome::{Outcome, StepReport, Summary, Verdict};
use crate::redact::Redactor;
use crate::rootcause::{CauseKind, RootCause, headline};
use crate::run::TargetInfo;

/// Every outcome, in the order of the summary bar, with its label and cell symbol.
const OUTCOMES: [(Outcome, &str, &str); 8] = [
    (Outcome::Failed, "failed", "✗"),
    (Outcome::Warned, "warned", "!"),
    (Outcome::Blocked, "blocked", "⊘"),
    (Outcome::Interrupted, "interrupted", "■"),
    (Outcome::UnexpectedPass, "unexpected passes", "↑"),
    (Outcome::ExpectedFailure, "expected failures", "≈"),
    (Outcome::Passed, "passed", "✓"),
    (Outcome::Skipped, "skipped", "–"),
];

/// Names of the checklist sections, by id prefix.
const SECTIONS: &[(&str, &str)] = &[
    ("A", "discovery"),
    ("B", "access tokens"),
    ("C", "download"),
    ("D", "thumbnails"),
    ("E", "config and URL previews"),
    ("F", "federation media API"),
    ("G", "remote media"),
    ("H", "guests"),
    ("I", "deprecated endpoints"),
    ("J", "upload and create"),
    ("K", "key rotation"),
    ("MSC1902", "MSC1902 probes"),
    ("MSC3916", "MSC3916 unstable probes"),
];

/// What the HTML report is made of.
pub struct HtmlInput<'a> {
    pub target: &'a TargetInfo,
    pub verdicts: &'a [Verdict],
    pub causes: &'a [RootCause],
    pub duration_ms: u128,
    pub preflight_ms: u128,
    /// Set when the run did not start (preflight failed or was interrupted): shown instead of
    /// the matrix.
    pub error: Option<&'a str>,
}

/// Builds the page.
pub fn render_html(input: &HtmlInput<'_>, redactor: &Redactor) -> String {
    let t = |s: &str| escape(&super::sanitize(&redactor.redact(s)));
    let target = input.target;
    let summary = Summary::of(input.verdicts);
    let mut body = String::new();
    let server = target.server_version.as_deref().unwrap_or("unknown server");
    let spec = match &target.spec_override {
        Some(s) => format!("judged as {s}"),
        None if target.versions.is_empty() => "no spec version advertised".into(),
        None => match (target.versions.first(), target.versions.last()) {
            (Some(a), Some(b)) if a != b => format!("advertises {a} … {b}"),
            _ => format!("advertises {}", target.versions.join(", ")),
        },
    };
    let _ = writeln!(
        body,
        "<header><h1>Media repository conformance <span class=\"dim\">mediaconf {}</span></h1>\
         <p class=\"target\"><code>{}</code> · {} · server name <code>{}</code> · {}</p>\
         <p class=\"dim\">{} cases in {:.1} s (preflight {:.1} s)</p></header>",
        env!("CARGO_PKG_VERSION"),
        t(&target.url),
        t(server),
        t(&target.server_name),
        t(&spec),
        summary.total(),
        input.duration_ms as f64 / 1000.0,
        input.preflight_ms as f64 / 1000.0,
    );
    if let Some(c) = &target.container {
        let _ = writeln!(
            body,
            "<p class=\"dim\">container of <code>{}</code> · its log (beside this page): <a href=\"{}\"><code>{}</code></a></p>",
            t(&c.image),
            t(c.log.rsplit('/').next().unwrap_or(&c.log)),
            t(&c.log)
        );
    }
    body.push_str(&summary_bar(&summary));
    if let Some(error) = input.error {
        let _ = writeln!(
            body,
            "<section class=\"error\"><h2>The run did not start</h2><p>{}</p></section>",
            t(error)
        );
    }
    if !input.causes.is_empty() {
        let _ = write!(
            body,
            "<section class=\"causes\"><h2>{}</h2><ol>",
            t(&headline(input.causes))
        );
        for c in input.causes {
            let kind = match c.kind {
                CauseKind::Failure => "failed",
                CauseKind::NotRun => "blocked",
                CauseKind::Warning => "warned",
            };
            let ids: Vec<String> = c
                .cases
                .iter()
                .map(|id| format!("<a href=\"#case-{0}\">{0}</a>", t(id)))
                .collect();
            let _ = write!(
                body,
                "<li><span class=\"tag o-{kind}\">{}</span> {} <span class=\"ids\">{} case{}: {}</span></li>",
                c.kind.as_str(),
                t(&c.summary),
                c.cases.len(),
                if c.cases.len() == 1 { "" } else { "s" },
                ids.join(", ")
            );
        }
        body.push_str("</ol></section>\n");
    }
    if !input.verdicts.is_empty() {
        body.push_str(&matrix(input.verdicts, &t));
        body.push_str(
            "<section class=\"cases\"><h2>Cases <span class=\"dim\">(what needs attention \
             first; click a case for its exchange)</span></h2>\n",
        );
        let mut ordered: Vec<&Verdict> = input.verdicts.iter().collect();
        ordered.sort_by_key(|v| OUTCOMES.iter().position(|(o, _, _)| *o == v.outcome));
        for v in ordered {
            body.push_str(&case(v, &t));
        }
        body.push_str("</section>\n");
    }
    page(&t(&format!("mediaconf — {}", target.url)), &body)
}

/// The summary bar: one proportional stripe per outcome, and one count per outcome that is also
/// the filter link. Each count carries `data-count-<outcome>` with the JSON summary's number.
fn summary_bar(s: &Summary) -> String {
    let total = s.total().max(1);
    let mut stripes = String::new();
    let mut counts = String::from(
        "<a class=\"count all\" href=\"#filter=all\" data-filter=\"all\" \
         data-count-total=\"TOTAL\"><b>TOTAL</b> all</a>",
    )
    .replace("TOTAL", &s.total().to_string());
    for (outcome, label, symbol) in OUTCOMES {
        let n = count(s, outcome);
        let name = outcome.as_str();
        if n > 0 {
            let _ = write!(
                stripes,
                "<span class=\"o-{name}\" style=\"flex-grow:{}\" title=\"{n} {label}\"></span>",
                n * 1000 / total
            );
        }
        let _ = write!(
            counts,
            "<a class=\"count o-{name}{}\" href=\"#filter={name}\" data-filter=\"{name}\" \
             data-count-{name}=\"{n}\"><i>{symbol}</i><b>{n}</b> {label}</a>",
            if n == 0 { " zero" } else { "" }
        );
    }
    format!(
        "<section class=\"summary\"><div class=\"bar\">{stripes}</div>\
         <nav class=\"counts\" aria-label=\"filter by outcome\">{counts}</nav></section>\n"
    )
}

fn count(s: &Summary, outcome: Outcome) -> usize {
    match outcome {
        Outcome::Passed => s.passed,
        Outcome::Failed => s.failed,
        Outcome::Warned => s.warned,
        Outcome::Skipped => s.skipped,
        Outcome::Blocked => s.blocked,
        Outcome::Interrupted => s.interrupted,
        Outcome::ExpectedFailure => s.expected_failures,
        Outcome::UnexpectedPass => s.unexpected_passes,
    }
}

/// The matrix group of a case id: `MSC1902`/`MSC3916` for the probes, else the text before the
/// first `-` (`C` for `C-19.bang`).
fn section_of(id: &str) -> &str {
    if let Some(msc) = ["MSC1902", "MSC3916"]
        .into_iter()
        .find(|m| id.starts_with(m))
    {
        return msc;
    }
    id.split('-').next().unwrap_or(id)
}

/// The matrix: one row per section, in checklist order (unknown sections after, by name).
fn matrix(verdicts: &[Verdict], t: &impl Fn(&str) -> String) -> String {
    let mut sections: Vec<&str> = Vec::new();
    for v in verdicts {
        let s = section_of(&v.id);
        if !sections.contains(&s) {
            sections.push(s);
        }
    }
    let rank = |s: &str| {
        SECTIONS
            .iter()
            .position(|(p, _)| *p == s)
            .unwrap_or(usize::MAX)
    };
    sections.sort_by(|a, b| rank(a).cmp(&rank(b)).then(a.cmp(b)));
    let mut out = String::from("<section class=\"matrix\"><h2>Conformance matrix</h2>\n");
    for s in sections {
        let name = SECTIONS
            .iter()
            .find(|(p, _)| *p == s)
            .map_or("other cases", |(_, n)| n);
        let _ = write!(
            out,
            "<div class=\"row\"><div class=\"label\"><b>{}</b> {}</div><div class=\"cells\">",
            t(s),
            t(name)
        );
        let mut last_base = None;
        for v in verdicts.iter().filter(|v| section_of(&v.id) == s) {
            let short =
                v.id.strip_prefix(s)
                    .unwrap_or(&v.id)
                    .trim_start_matches('-');
            let short = short.split('.').next().unwrap_or(short);
            // Variants of one rule (`B-02.download`, `B-02.thumbnail`, …) sit together.
            if last_base.is_some_and(|b| b != short) {
                out.push_str("</span>");
            }
            if last_base != Some(short) {
                out.push_str("<span class=\"rule\">");
            }
            last_base = Some(short);
            let _ = write!(
                out,
                "<a class=\"cell o-{}\" href=\"#case-{}\" data-outcome=\"{}\" title=\"{} {} — {}\">\
                 <i>{}</i>{}</a>",
                v.outcome.as_str(),
                t(&v.id),
                v.outcome.as_str(),
                t(&v.id),
                t(&v.title),
                v.outcome.as_str(),
                symbol(v),
                t(short)
            );
        }
        out.push_str("</span></div></div>\n");
    }
    out.push_str("</section>\n");
    out
}

/// The cell symbol: the outcome's, or `i` for an INFO case that passed (an observation).
fn symbol(v: &Verdict) -> &'static str {
    if v.outcome == Outcome::Passed && v.level == Level::Info {
        return "i";
    }
    OUTCOMES
        .iter()
        .find(|(o, _, _)| *o == v.outcome)
        .map_or("?", |(_, _, s)| s)
}

/// Failed, warned, blocked, interrupted and unexpectedly passing cases start open.
fn attention(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Failed
        | Outcome::Warned
        | Outcome::Blocked
        | Outcome::Interrupted
        | Outcome::UnexpectedPass => true,
        Outcome::Passed | Outcome::Skipped | Outcome::ExpectedFailure => false,
    }
}

/// One case, expandable.
fn case(v: &Verdict, t: &impl Fn(&str) -> String) -> String {
    let name = v.outcome.as_str();
    let mut out = String::new();
    let _ = write!(
        out,
        "<details class=\"case\" id=\"case-{}\" data-outcome=\"{name}\"{}><summary>\
         <span class=\"tag o-{name}\"><i>{}</i> {name}</span> <code>{}</code> {} \
         <span class=\"level\">{}</span></summary><div class=\"body\"><dl>",
        t(&v.id),
        if attention(v.outcome) { " open" } else { "" },
        symbol(v),
        t(&v.id),
        t(&v.title),
        v.level.as_str()
    );
    let _ = write!(
        out,
        "<dt>level</dt><dd>{} · profile {}</dd><dt>spec</dt><dd>{}",
        v.level.as_str(),
        t(&v.profile),
        t(&v.spec_ref)
    );
    if v.spec_url.starts_with("https://") {
        let _ = write!(
            out,
            "<br><a class=\"spec\" href=\"{0}\" rel=\"noreferrer\">{0}</a>",
            t(&v.spec_url)
        );
    }
    out.push_str("</dd>");
    if !v.reason.is_empty() {
        let _ = write!(out, "<dt>reason</dt><dd>{}</dd>", t(&v.reason));
    }
    if let Some(p) = &v.set_up {
        let _ = write!(out, "<dt>set-up</dt><dd>{}: {}</dd>", t(&p.by), t(&p.why));
    }
    let _ = write!(
        out,
        "<dt>time</dt><dd>{} ms</dd></dl>",
        v.duration.as_millis()
    );
    for (n, step) in v.steps.iter().enumerate() {
        out.push_str(&step_html(n + 1, step, t));
    }
    out.push_str("</div></details>\n");
    out
}

/// One request: what was sent, what came back, the broken expectations and the reproduction.
fn step_html(n: usize, s: &StepReport, t: &impl Fn(&str) -> String) -> String {
    let mut sent = s.request_line.clone();
    for (name, value) in &s.request_headers {
        let _ = write!(sent, "\n{name}: {value}");
    }
    let mut out = format!(
        "<div class=\"step{}\"><h4>request {n} <span class=\"dim\">{} ms</span></h4>\
         <pre class=\"sent\">{}</pre><pre class=\"received\">{}</pre>",
        if s.findings.is_empty() { "" } else { " broken" },
        s.elapsed_ms,
        t(&sent),
        t(&s.response_summary)
    );
    if !s.findings.is_empty() {
        out.push_str(
            "<table class=\"findings\"><tr><th>check</th><th>expected</th><th>got</th></tr>",
        );
        for f in &s.findings {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                t(&f.check),
                t(&f.expected),
                t(&f.actual)
            );
        }
        out.push_str("</table>");
    }
    if let Some(r) = &s.reproduction {
        let _ = write!(out, "<h4>reproduce</h4><pre class=\"repro\">{}</pre>", t(r));
    }
    out.push_str("</div>");
    out
}

/// Text safe in HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The document around `body`, with a policy that lets only our own script run.
fn page(title: &str, body: &str) -> String {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(SCRIPT));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-{hash}'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style></head>\n<body data-filter=\"all\">\n\
         {body}<script>{SCRIPT}</script>\n</body></html>\n"
    )
}

const STYLE: &str = r#"
:root{--passed:#1b7f5b;--failed:#c8401a;--warned:#d49000;--skipped:#a7adb4;--blocked:#a0508a;
--interrupted:#3c3c3c;--expected-failure:#3d8fc6;--unexpected-pass:#1d4f91;--ink:#1d2329;--dim:#68717a;
--line:#dde1e5;--bg:#f6f7f8}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px 48px;font:14px/1.45 system-ui,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}h4{margin:0 0 4px;font-size:13px}
code,pre{font:12px/1.4 ui-monospace,"DejaVu Sans Mono",monospace}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:14px 0}
header p{margin:2px 0}.dim{color:var(--dim);font-weight:normal}
.bar{display:flex;height:14px;border-radius:7px;overflow:hidden;background:var(--line);margin-bottom:12px}
.bar span{min-width:3px}
.counts{display:flex;flex-wrap:wrap;gap:8px}
.count{display:inline-flex;align-items:center;gap:6px;padding:5px 11px;border:1px solid var(--line);border-radius:16px;
color:var(--ink);text-decoration:none;background:#fff}
.count b{font-size:15px}.count i{font-style:normal;width:18px;height:18px;border-radius:4px;color:#fff;
display:inline-flex;align-items:center;justify-content:center;font-size:12px;font-weight:bold}
.count.zero{opacity:.45}
.count.o-passed i,.cell.o-passed,.tag.o-passed,.bar .o-passed{background:var(--passed)}
.count.o-failed i,.cell.o-failed,.tag.o-failed,.bar .o-failed{background:var(--failed)}
.count.o-warned i,.cell.o-warned,.tag.o-warned,.bar .o-warned{background:var(--warned)}
.count.o-skipped i,.cell.o-skipped,.tag.o-skipped,.bar .o-skipped{background:var(--skipped)}
.count.o-blocked i,.cell.o-blocked,.tag.o-blocked,.bar .o-blocked{background:var(--blocked)}
.count.o-interrupted i,.cell.o-interrupted,.tag.o-interrupted,.bar .o-interrupted{background:var(--interrupted)}
.count.o-expected-failure i,.cell.o-expected-failure,.tag.o-expected-failure,.bar .o-expected-failure{background:var(--expected-failure)}
.count.o-unexpected-pass i,.cell.o-unexpected-pass,.tag.o-unexpected-pass,.bar .o-unexpected-pass{background:var(--unexpected-pass)}
body[data-filter="all"] .count.all,.count.active{border-color:var(--ink);box-shadow:inset 0 0 0 1px var(--ink)}
.causes ol{margin:0;padding-left:22px}.causes li{margin:3px 0}.ids{color:var(--dim)}.ids a{color:var(--dim)}
.tag{display:inline-block;color:#fff;border-radius:4px;padding:0 6px;font-size:12px;font-weight:600;white-space:nowrap}
.tag i{font-style:normal}
.row{display:flex;gap:12px;padding:5px 0;border-top:1px solid var(--line)}.row:first-of-type{border-top:0}
.label{flex:0 0 230px;padding-top:3px}.label b{display:inline-block;min-width:22px}
.cells{display:flex;flex-wrap:wrap;gap:4px 7px}.rule{display:inline-flex;flex-wrap:wrap;gap:2px}
.cell{display:inline-flex;align-items:center;gap:2px;height:24px;min-width:38px;padding:0 5px;border-radius:4px;
color:#fff;text-decoration:none;font:600 11px/1 ui-monospace,"DejaVu Sans Mono",monospace}
.cell i{font-style:normal;font-size:12px}.cell:hover{outline:2px solid var(--ink)}
.cell.o-skipped{color:#2b3035}
.case{border-top:1px solid var(--line);padding:5px 0}.case summary{cursor:pointer}
.case code{font-weight:600}.level{color:var(--dim);font-size:12px;margin-left:4px}
.case[open]{background:#fbfbfc}.case:target{outline:2px solid var(--unexpected-pass);outline-offset:2px}
.body{padding:6px 0 8px 24px}
dl{display:grid;grid-template-columns:70px 1fr;gap:2px 12px;margin:4px 0 8px}dt{color:var(--dim)}dd{margin:0}
pre{background:#f1f3f5;border:1px solid var(--line);border-radius:5px;padding:7px 9px;margin:3px 0;
white-space:pre-wrap;word-break:break-all;max-height:320px;overflow:auto}
.step{margin:10px 0}.step.broken pre.received{border-left:3px solid var(--failed)}
pre.repro{background:#1d2329;color:#e9ecef;border:0}
table.findings{border-collapse:collapse;margin:4px 0;font-size:13px}
.findings td,.findings th{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
.findings th{background:#f1f3f5;font-weight:600}
.error{border-color:var(--failed)}a.spec{color:var(--unexpected-pass);word-break:break-all}
[hidden]{display:none!important}
"#;

/// Applies `#filter=OUTCOME` (or `?filter=OUTCOME`) on load and on every hash change, and opens
/// the case a `#case-ID` link points to.
const SCRIPT: &str = r#"
(function () {
  var filter = (/[?&]filter=([a-z-]+)/.exec(location.search) || [])[1] || 'all';
  function apply() {
    var hash = location.hash.slice(1);
    var m = /^filter=([a-z-]+)$/.exec(hash);
    if (m) filter = m[1];
    document.body.setAttribute('data-filter', filter);
    document.querySelectorAll('.cell, .case').forEach(function (el) {
      var show = filter === 'all' || el.getAttribute('data-outcome') === filter;
      if (show) el.removeAttribute('hidden'); else el.setAttribute('hidden', '');
    });
    document.querySelectorAll('.matrix .row').forEach(function (row) {
      var any = row.querySelector('.cell:not([hidden])');
      if (any) row.removeAttribute('hidden'); else row.setAttribute('hidden', '');
    });
    document.querySelectorAll('.count').forEach(function (el) {
      el.classList.toggle('active', el.getAttribute('data-filter') === filter);
    });
    if (hash.indexOf('case-') === 0) {
      var d = document.getElementById(hash);
      if (d) { d.removeAttribute('hidden'); d.open = true; }
    }
  }
  window.addEventListener('hashchange', apply);
  apply();
})();
"#;

/// Writes the page (redacted) atomically.
pub fn write_html(path: &Path, input: &HtmlInput<'_>, redactor: &Redactor) -> Result<(), String> {
    let text = render_html(input, redactor);
    super::write_atomically(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn sections_by_letter_and_msc() {
        assert_eq!(section_of("C-19.bang"), "C");
        assert_eq!(section_of("MSC1902.r0.download"), "MSC1902");
        assert_eq!(section_of("MSC3916.unstable.config"), "MSC3916");
        assert_eq!(section_of("MY-01"), "MY");
    }
}
