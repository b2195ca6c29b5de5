//! Human output: preflight lines, one line per case (details for failures and warnings), a
//! summary, and a progress bar on stderr for runs longer than a second.
//!
//! Styles are `anstyle` values and the output goes through an `anstream::AutoStream`: the
//! reporter always writes styled text and the stream either passes the styles on or strips them.
//! Whether to colour is decided once, by [`ColorChoice::enabled`], not by the stream.

use std::io::Write;
use std::time::{Duration, Instant};

use anstream::AutoStream;
use anstream::stream::{AsLockedWrite, RawStream};
use anstyle::{AnsiColor, Style};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::sanitize;
use crate::level::Level;
use crate::outcome::{Outcome, Verdict};
use crate::redact::Redactor;
use crate::rootcause::{CauseKind, RootCause, headline};
use crate::run::Event;

/// When to color output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// Auto: stdout is a terminal and `NO_COLOR` is unset or empty.
    pub fn enabled(self, stdout_is_tty: bool, no_color: Option<&str>) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_is_tty && no_color.is_none_or(str::is_empty),
        }
    }
}

/// Writes the human report to `out`.
pub struct HumanReporter<W: RawStream + AsLockedWrite> {
    /// Colours on: styles are written; off: the stream strips them.
    out: AutoStream<W>,
    redactor: Redactor,
    started: Instant,
    progress: Option<ProgressBar>,
    show_progress: bool,
    planned: usize,
    /// Print passing and skipped cases too (default: yes).
    pub verbose: bool,
    /// Profile of the last case printed (a heading starts each profile).
    last_profile: Option<String>,
    /// Duration and id of every case seen, for the slowest-cases line.
    durations: Vec<(Duration, String)>,
    /// Lines of the event being handled, written in one go when it is done: stdout is
    /// line-buffered, and one write per line was one system call per line.
    pending: String,
    /// Cases `--case`/`--skip` left out, and the first such reason: one line in the summary
    /// instead of one per case.
    not_selected: (usize, Option<String>),
}

/// Runs longer than this name their three slowest cases in the summary.
const SLOW_RUN: Duration = Duration::from_secs(10);

const GREEN: Style = AnsiColor::Green.on_default();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

impl<W: RawStream + AsLockedWrite> HumanReporter<W> {
    /// `color`: the decision of [`ColorChoice::enabled`]; without it no escape code is written.
    pub fn new(out: W, color: bool, show_progress: bool, redactor: Redactor) -> Self {
        let choice = if color {
            anstream::ColorChoice::Always
        } else {
            anstream::ColorChoice::Never
        };
        HumanReporter {
            out: AutoStream::new(out, choice),
            redactor,
            started: Instant::now(),
            progress: None,
            show_progress,
            planned: 0,
            verbose: true,
            last_profile: None,
            durations: Vec::new(),
            not_selected: (0, None),
            pending: String::new(),
        }
    }

    /// The root causes, worst first, each with the cases it explains.
    fn print_causes(&mut self, causes: &[RootCause]) {
        if causes.is_empty() {
            return;
        }
        let head = self.paint(BOLD, &format!("{}:", headline(causes)));
        self.emit(&head);
        for (n, c) in causes.iter().enumerate() {
            let (mark, style) = match c.kind {
                CauseKind::Failure => ("✘", RED),
                CauseKind::NotRun => ("⊘", YELLOW),
                CauseKind::Warning => ("⚠", YELLOW),
            };
            let count = format!(
                "{} case{}",
                c.cases.len(),
                if c.cases.len() == 1 { "" } else { "s" }
            );
            let line = format!(
                "{:>3}. {} {} — {count}: {}",
                n + 1,
                self.paint(style, mark),
                sanitize(&c.summary),
                c.cases.join(", ")
            );
            self.emit(&line);
        }
    }

    /// `text` in `style` (the stream drops the style when colours are off).
    fn paint(&self, style: Style, text: &str) -> String {
        format!("{style}{text}{style:#}")
    }

    fn emit(&mut self, text: &str) {
        let text = self.redactor.redact(text);
        match &self.progress {
            Some(pb) => pb.suspend(|| {
                let _ = writeln!(self.out, "{text}");
                let _ = self.out.flush();
            }),
            None => {
                self.pending.push_str(&text);
                self.pending.push('\n');
            }
        }
    }

    /// Prints what `event` says, in one write.
    pub fn handle(&mut self, event: &Event) {
        self.print(event);
        if !self.pending.is_empty() {
            let _ = self.out.write_all(self.pending.as_bytes());
            let _ = self.out.flush();
            self.pending.clear();
        }
    }

    fn print(&mut self, event: &Event) {
        match event {
            Event::Preflight(item) => {
                let mark = if item.ok {
                    self.paint(GREEN, "✔")
                } else {
                    self.paint(YELLOW, "!")
                };
                let line = format!(
                    "preflight  {mark} {}: {}",
                    item.name,
                    sanitize(&item.detail)
                );
                self.emit(&line);
            }
            Event::RunStarted {
                target, planned, ..
            } => {
                self.planned = *planned;
                let version = target
                    .server_version
                    .clone()
                    .unwrap_or_else(|| "unknown server".into());
                let spec = match &target.spec_override {
                    Some(s) => format!("judged as {s}"),
                    None => format!("spec {}", advertised(&target.versions)),
                };
                let line = format!(
                    "{} — target {} ({version}, {spec}), server name {}, {planned} cases",
                    self.paint(BOLD, concat!("mediaconf ", env!("CARGO_PKG_VERSION"))),
                    target.url,
                    target.server_name
                );
                self.emit(&line);
            }
            Event::CaseStarted { .. } => {}
            Event::CaseCompleted { .. } => self.tick(),
            Event::CaseFinished(verdict) => {
                if self.last_profile.as_deref() != Some(verdict.profile.as_str()) {
                    self.last_profile = Some(verdict.profile.clone());
                    if self.verbose {
                        let line = self.paint(BOLD, &format!("── {} ──", verdict.profile));
                        self.emit(&line);
                    }
                }
                self.durations.push((verdict.duration, verdict.id.clone()));
                self.print_verdict(verdict);
            }
            Event::RunFinished {
                summary,
                elapsed,
                causes,
            } => {
                if let Some(pb) = self.progress.take() {
                    pb.finish_and_clear();
                }
                self.print_causes(causes);
                if let (n @ 1.., why) = &self.not_selected {
                    let why = why.as_deref().unwrap_or_default();
                    let line = self.paint(DIM, &format!("{n} not selected ({why})"));
                    self.emit(&line);
                }
                if *elapsed > SLOW_RUN {
                    let line = slowest_line(&mut self.durations);
                    self.emit(&line);
                }
                let mut parts = vec![
                    self.paint(GREEN, &format!("{} passed", summary.passed)),
                    self.paint(
                        if summary.failed > 0 { RED } else { GREEN },
                        &format!("{} failed", summary.failed),
                    ),
                    self.paint(YELLOW, &format!("{} warned", summary.warned)),
                    format!("{} skipped", summary.skipped),
                ];
                if summary.blocked > 0 {
                    parts.push(self.paint(YELLOW, &format!("{} blocked", summary.blocked)));
                }
                if summary.interrupted > 0 {
                    parts.push(self.paint(RED, &format!("{} interrupted", summary.interrupted)));
                }
                if summary.expected_failures > 0 {
                    parts.push(format!("{} expected failures", summary.expected_failures));
                }
                if summary.unexpected_passes > 0 {
                    parts.push(self.paint(
                        YELLOW,
                        &format!("{} unexpected passes", summary.unexpected_passes),
                    ));
                }
                let line = format!("{}   {:.1} s", parts.join(", "), elapsed.as_secs_f64());
                self.emit(&line);
            }
        }
    }

    fn tick(&mut self) {
        if self.progress.is_none()
            && self.show_progress
            && self.started.elapsed() > Duration::from_secs(1)
        {
            let pb = ProgressBar::with_draw_target(
                Some(self.planned as u64),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} cases {elapsed}")
            {
                pb.set_style(style);
            }
            self.progress = Some(pb);
        }
        if let Some(pb) = &self.progress {
            pb.inc(1);
        }
    }

    fn print_verdict(&mut self, v: &Verdict) {
        if v.outcome == Outcome::Skipped
            && let Some(why) = v.reason.strip_prefix("not selected: ")
        {
            self.not_selected.0 += 1;
            self.not_selected.1.get_or_insert_with(|| sanitize(why));
            return;
        }
        let (mark, style) = match v.outcome {
            Outcome::Passed if v.level == Level::Info => ("ℹ", DIM),
            Outcome::Passed => ("✔", GREEN),
            Outcome::Failed => ("✘", RED),
            Outcome::Warned => ("⚠", YELLOW),
            Outcome::Skipped => ("-", DIM),
            Outcome::Blocked => ("⊘", YELLOW),
            Outcome::Interrupted => ("■", YELLOW),
            Outcome::ExpectedFailure => ("✘", DIM),
            Outcome::UnexpectedPass => ("✔", YELLOW),
        };
        let detailed = matches!(
            v.outcome,
            Outcome::Failed | Outcome::Warned | Outcome::UnexpectedPass | Outcome::Blocked
        ) || v.outcome == Outcome::Interrupted;
        if !self.verbose && !detailed {
            return;
        }
        let head = format!(
            "{:<9} {} {:<22} {}",
            v.profile,
            self.paint(style, mark),
            v.id,
            v.title
        );
        let reason = sanitize(&v.reason);
        let tail = match v.outcome {
            Outcome::Skipped => self.paint(DIM, &format!("  (skipped: {reason})")),
            Outcome::Blocked => self.paint(YELLOW, &format!("  ({reason})")),
            Outcome::Passed if v.level == Level::Info => self.paint(DIM, &format!("  {reason}")),
            Outcome::ExpectedFailure => self.paint(DIM, &format!("  (expected failure: {reason})")),
            Outcome::Passed if !v.reason.is_empty() => {
                self.paint(DIM, &format!("  (observed: {reason})"))
            }
            _ => format!(
                "  {}",
                self.paint(DIM, &format!("{} ms", v.duration.as_millis()))
            ),
        };
        self.emit(&format!("{head}{tail}"));
        if detailed {
            let mut lines = vec![format!(
                "{} {} — {}",
                v.level,
                v.spec_ref,
                v.outcome.as_str()
            )];
            if !v.spec_url.is_empty() {
                lines.push(sanitize(&format!("see {}", v.spec_url)));
            }
            if v.outcome == Outcome::UnexpectedPass || v.steps.is_empty() {
                lines.push(reason);
            }
            for step in v.steps.iter().filter(|s| !s.findings.is_empty()) {
                lines.push(sanitize(&step.request_line));
                for (name, value) in &step.request_headers {
                    lines.push(sanitize(&format!("  > {name}: {value}")));
                }
                for l in sanitize(&step.response_summary).lines() {
                    lines.push(format!("  {l}"));
                }
                for f in &step.findings {
                    lines.push(sanitize(&format!(
                        "{}: expected {}   got {}",
                        f.check, f.expected, f.actual
                    )));
                }
                if let Some(r) = &step.reproduction {
                    lines.push(sanitize(&format!("reproduce: {r}")));
                }
            }
            for l in lines {
                let text = format!("{:<11}{}", "", l);
                self.emit(&text);
            }
        }
    }
}

/// `slowest: C-22 60.3 s, C-21 2.1 s, E-02 1.3 s (run with --quick to skip cases that wait on purpose)`.
fn slowest_line(durations: &mut [(Duration, String)]) -> String {
    durations.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let top: Vec<String> = durations
        .iter()
        .take(3)
        .map(|(d, id)| format!("{id} {:.1} s", d.as_secs_f64()))
        .collect();
    format!(
        "slowest: {} (--quick skips the cases that wait on purpose)",
        top.join(", ")
    )
}

fn advertised(versions: &[String]) -> String {
    match (versions.first(), versions.last()) {
        (Some(a), Some(b)) if a == b => a.clone(),
        (Some(a), Some(b)) => format!("{a}…{b}"),
        _ => "none advertised".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slowest_cases_first() {
        let mut d = vec![
            (Duration::from_millis(1200), "E-02".to_string()),
            (Duration::from_secs(60), "C-22".to_string()),
            (Duration::from_millis(10), "A-01".to_string()),
            (Duration::from_millis(2100), "C-21".to_string()),
        ];
        assert_eq!(
            slowest_line(&mut d),
            "slowest: C-22 60.0 s, C-21 2.1 s, E-02 1.2 s (--quick skips the cases that wait on purpose)"
        );
    }

    /// The preflight line of one item, coloured or not.
    fn preflight_line(color: bool) -> String {
        let mut out = Vec::new();
        let mut human = HumanReporter::new(&mut out, color, false, Redactor::default());
        human.handle(&Event::Preflight(crate::run::PreflightItem {
            name: "versions".into(),
            ok: true,
            detail: "v1.12".into(),
        }));
        drop(human);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn colors_are_written_only_when_enabled() {
        assert_eq!(preflight_line(false), "preflight  ✔ versions: v1.12\n");
        let colored = preflight_line(true);
        assert!(colored.contains("\x1b[32m✔"), "{colored:?}");
        assert!(colored.contains("\x1b[0m versions: v1.12"), "{colored:?}");
    }

    #[test]
    fn color_choice() {
        assert!(ColorChoice::Auto.enabled(true, None));
        assert!(!ColorChoice::Auto.enabled(true, Some("1")));
        assert!(ColorChoice::Auto.enabled(true, Some("")));
        assert!(!ColorChoice::Auto.enabled(false, None));
        assert!(ColorChoice::Always.enabled(false, Some("1")));
        assert!(!ColorChoice::Never.enabled(true, None));
    }
}
