//! `run`: settings resolved, the run executed with the human reporter fed its events, the
//! report files written, and the exit code from the verdicts.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use crate::cli::RunArgs;
use crate::outcome::{Outcome, Verdict};
use crate::redact::Redactor;
use crate::report::human::HumanReporter;
use crate::report::{html, json, junit, markdown};
use crate::rootcause::root_causes;
use crate::run::{Event, RunError, TargetInfo, execute};
use crate::settings::{ReportPaths, RunSettings, resolve_run};

use super::common::{config_file, settings_error};
use crate::exit_code::{EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

/// One run against a target (or the container of `image`): settings, the run fed to the human
/// reporter, the report files, the exit code.
pub(super) async fn run_target(args: RunArgs, image: Option<ImageTrust>) -> i32 {
    let file = match config_file(&args.config) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok();
    let mut settings = match resolve_run(&args, file.as_ref(), &env) {
        Ok(s) => s,
        Err(e) => return settings_error(&e),
    };
    for w in &settings.warnings {
        eprintln!("warning: {w}");
    }
    let container = image.map(|trust| apply_image(&mut settings.config, trust));
    let RunSettings {
        config,
        suite,
        reports,
        strict,
        strict_baseline,
        allow_skipped,
        color,
        quiet,
        warnings: _,
    } = settings;
    let redactor = config.redactor.clone();
    let target_url = config.target.clone();
    let color = color.enabled(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let mut human = HumanReporter::new(
        std::io::stdout(),
        color,
        std::io::stderr().is_terminal(),
        redactor.clone(),
    );
    human.verbose = !quiet;
    let mut progress = Progress::new(human, container, !quiet);
    let interrupt = watch_interrupts();
    let mut on_event = |event: Event| progress.handle(event);
    let verdicts = match execute(config, suite, &mut on_event, interrupt).await {
        Ok(v) => v,
        Err(RunError::Interrupted) => {
            let message = "interrupted (SIGINT or SIGTERM) during preflight: no case had started";
            eprintln!("error: {message}");
            write_preflight_reports(&reports, &target_url, message);
            return EXIT_INTERRUPTED;
        }
        Err(RunError::Preflight(e)) => {
            let message = redactor.redact(&format!("preflight failed: {e}"));
            eprintln!("error: {message}");
            write_preflight_reports(&reports, &target_url, &message);
            return EXIT_USAGE;
        }
    };
    let causes = root_causes(&verdicts);
    let finished = Finished {
        target: &progress.target,
        verdicts: &verdicts,
        causes: &causes,
        elapsed_ms: progress.elapsed_ms,
        preflight_ms: progress.preflight_ms,
        strict_baseline,
        redactor: &redactor,
    };
    let write_failed = !write_reports(&reports, &finished);
    let code = run_exit_code(
        &verdicts,
        strict,
        strict_baseline,
        &allow_skipped,
        &redactor,
    );
    if write_failed && code == EXIT_OK {
        EXIT_USAGE
    } else {
        code
    }
}

/// What a `--image` run changes in the settings: the container's CA trusted, the name it
/// reaches us under, registration that falls back to open registration.
fn apply_image(config: &mut crate::run::config::RunConfig, trust: ImageTrust) -> ImageTrust {
    use crate::client::accounts::Registration;
    use crate::run::config::AccountSource;
    config.target_ca_pem = Some(trust.ca_pem.clone());
    config.federation.reach_host.clone_from(&trust.reach_host);
    if let AccountSource::Register(Registration::SharedSecret(secret)) = &config.account {
        config.account = AccountSource::Register(Registration::SharedSecretOrOpen(secret.clone()));
    }
    trust
}

/// Feeds the human reporter and keeps what the reports need from the run's events; under a
/// failed case of a `--image` run, prints the container's log of its seconds.
struct Progress {
    human: HumanReporter<std::io::Stdout>,
    container: Option<ImageTrust>,
    show_log: bool,
    wall_start: std::time::SystemTime,
    target: TargetInfo,
    elapsed_ms: u128,
    preflight_ms: u128,
}

impl Progress {
    fn new(
        human: HumanReporter<std::io::Stdout>,
        container: Option<ImageTrust>,
        show_log: bool,
    ) -> Self {
        Progress {
            human,
            container,
            show_log,
            wall_start: std::time::SystemTime::now(),
            target: TargetInfo::default(),
            elapsed_ms: 0,
            preflight_ms: 0,
        }
    }

    fn handle(&mut self, event: Event) {
        match &event {
            Event::RunStarted {
                target, preflight, ..
            } => {
                self.target = target.clone();
                self.target.container = self.container.as_ref().map(|c| c.container.clone());
                self.preflight_ms = preflight.as_millis();
            }
            Event::RunFinished { elapsed, .. } => self.elapsed_ms = elapsed.as_millis(),
            _ => {}
        }
        self.human.handle(&event);
        if let (Event::CaseFinished(v), Some(image)) = (&event, &self.container)
            && v.outcome == Outcome::Failed
            && self.show_log
        {
            let start = self.wall_start + v.started_at;
            print_container_log(&image.log, start, start + v.duration);
        }
    }
}

/// The exit code of a finished run, after printing what did not run and why.
fn run_exit_code(
    verdicts: &[Verdict],
    strict: bool,
    strict_baseline: bool,
    allow_skipped: &[String],
    redactor: &Redactor,
) -> i32 {
    let allow = AllowSkipped::new(allow_skipped);
    for line in &not_run_lines(verdicts, &allow) {
        eprintln!("{}", redactor.redact(&crate::report::sanitize(line)));
    }
    let code = exit_code(verdicts, strict_baseline, &allow);
    let warned = verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Warned)
        .count();
    if strict && warned > 0 && matches!(code, EXIT_OK | EXIT_USAGE) {
        eprintln!("--strict: {warned} SHOULD/GAP warning(s) fail the run");
        return EXIT_FAILURES;
    }
    code
}

/// A finished run, as the reports need it.
struct Finished<'a> {
    target: &'a TargetInfo,
    verdicts: &'a [Verdict],
    causes: &'a [crate::rootcause::RootCause],
    elapsed_ms: u128,
    preflight_ms: u128,
    strict_baseline: bool,
    redactor: &'a Redactor,
}

/// Writes every requested report; `false` when one could not be written (each error printed).
fn write_reports(reports: &ReportPaths, r: &Finished<'_>) -> bool {
    let mut ok = true;
    if let Some(path) = &reports.junit
        && let Err(e) = junit::write_junit(
            path,
            r.target,
            r.verdicts,
            r.causes,
            r.strict_baseline,
            r.redactor,
        )
    {
        eprintln!("error: {e}");
        ok = false;
    }
    if let Some(path) = &reports.json
        && let Err(e) = json::write_json(
            path,
            r.target,
            r.verdicts,
            r.causes,
            (r.elapsed_ms, r.preflight_ms),
            r.redactor,
        )
    {
        eprintln!("error: {e}");
        ok = false;
    }
    if let Some(path) = &reports.markdown
        && let Err(e) = markdown::write_markdown(
            path,
            r.target,
            r.verdicts,
            r.causes,
            std::time::Duration::from_millis(u64::try_from(r.elapsed_ms).unwrap_or(u64::MAX)),
            r.redactor,
        )
    {
        eprintln!("error: {e}");
        ok = false;
    }
    if let Some(path) = &reports.html {
        let input = html::HtmlInput {
            target: r.target,
            verdicts: r.verdicts,
            causes: r.causes,
            duration_ms: r.elapsed_ms,
            preflight_ms: r.preflight_ms,
            error: None,
        };
        if let Err(e) = html::write_html(path, &input, r.redactor) {
            eprintln!("error: {e}");
            ok = false;
        }
    }
    ok
}

/// What `--allow-skipped` accepts as not run: profile names, need names, or `all`.
#[derive(Debug, Clone, Default)]
pub struct AllowSkipped(BTreeSet<String>);

impl AllowSkipped {
    pub fn new(names: &[String]) -> Self {
        AllowSkipped(
            names
                .iter()
                .map(|n| n.trim().to_string())
                .filter(|n| !n.is_empty())
                .collect(),
        )
    }

    /// Whether the user accepted that this case did not run.
    pub fn covers(&self, v: &Verdict) -> bool {
        self.0.contains("all")
            || self.0.contains(&v.profile)
            || v.set_up
                .as_ref()
                .and_then(|p| p.need.as_ref())
                .is_some_and(|n| self.0.contains(n))
    }
}

/// Requested cases that did not run for a set-up reason and were not accepted with
/// `--allow-skipped`.
fn unaccepted_not_run<'a>(verdicts: &'a [Verdict], allow: &AllowSkipped) -> Vec<&'a Verdict> {
    verdicts
        .iter()
        .filter(|v| v.is_set_up_problem() && !allow.covers(v))
        .collect()
}

/// One line per set-up problem that kept requested cases from running, naming the cases'
/// profiles, why, and the flag that accepts it.
pub fn not_run_lines(verdicts: &[Verdict], allow: &AllowSkipped) -> Vec<String> {
    let mut groups: std::collections::BTreeMap<String, (BTreeSet<String>, usize, Option<String>)> =
        std::collections::BTreeMap::new();
    for v in unaccepted_not_run(verdicts, allow) {
        let Some(p) = &v.set_up else { continue };
        let entry = groups
            .entry(format!("{}: {}", p.by, p.why))
            .or_insert_with(|| (BTreeSet::new(), 0, p.need.clone()));
        entry.0.insert(v.profile.clone());
        entry.1 += 1;
    }
    groups
        .into_iter()
        .map(|(why, (profiles, n, need))| {
            let profiles: Vec<&str> = profiles.iter().map(String::as_str).collect();
            let accept = need.unwrap_or_else(|| profiles.join(","));
            format!(
                "did not run: {n} requested {} case{} ({why}); fix the set-up, or pass --allow-skipped {accept} to accept it (exit code 2 until then)",
                profiles.join("/"),
                if n == 1 { "" } else { "s" },
            )
        })
        .collect()
}

/// 1 when a case failed unexpectedly (or passed unexpectedly under `--strict-baseline`); else 2
/// when requested cases did not run for a set-up reason that `--allow-skipped` does not accept;
/// else 0.
pub fn exit_code(verdicts: &[Verdict], strict_baseline: bool, allow: &AllowSkipped) -> i32 {
    if verdicts.iter().any(|v| v.outcome == Outcome::Interrupted) {
        return EXIT_INTERRUPTED;
    }
    let bad = verdicts.iter().any(|v| match v.outcome {
        Outcome::Failed => true,
        Outcome::UnexpectedPass => strict_baseline,
        Outcome::Passed
        | Outcome::Warned
        | Outcome::Skipped
        | Outcome::Blocked
        | Outcome::Interrupted
        | Outcome::ExpectedFailure => false,
    });
    if bad {
        EXIT_FAILURES
    } else if !unaccepted_not_run(verdicts, allow).is_empty() {
        EXIT_USAGE
    } else {
        EXIT_OK
    }
}

/// Reports for a run that could not start, so CI still finds its files: JUnit with one
/// `preflight` testcase in error, JSON with an `error` and no cases, HTML with the error and
/// zero counts.
fn write_preflight_reports(reports: &ReportPaths, target_url: &str, message: &str) {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    if let Some(path) = &reports.junit {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        status.set_message(message);
        let mut suite = TestSuite::new("preflight");
        suite.add_test_case(TestCase::new("preflight", status));
        let mut report = Report::new("mediaconf");
        report.add_test_suite(suite);
        let written = report
            .to_string()
            .map_err(|e| e.to_string())
            .and_then(|x| crate::report::write_atomically(path, x.as_bytes()));
        if let Err(e) = written {
            eprintln!("error: {e}");
        }
    }
    if let Some(path) = &reports.json {
        let doc = serde_json::json!({
            "mediaconf_version": env!("CARGO_PKG_VERSION"),
            "target": {"url": target_url},
            "error": message,
            "summary": crate::outcome::Summary::default(),
            "cases": [],
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = crate::report::write_atomically(path, text.as_bytes()) {
            eprintln!("error: {e}");
        }
    }
    if let Some(path) = &reports.html {
        let target = TargetInfo {
            url: target_url.to_string(),
            ..TargetInfo::default()
        };
        let input = html::HtmlInput {
            target: &target,
            verdicts: &[],
            causes: &[],
            duration_ms: 0,
            preflight_ms: 0,
            error: Some(message),
        };
        if let Err(e) = html::write_html(path, &input, &Redactor::default()) {
            eprintln!("error: {e}");
        }
    }
}

/// Listens for SIGINT and SIGTERM: the first sets the returned flag (the run stops its cases at
/// once and writes its reports); a second one exits the process at once.
fn watch_interrupts() -> tokio::sync::watch::Receiver<bool> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let Some(mut interrupts) = crate::signals::Interrupts::install() else {
        eprintln!("warning: cannot listen for SIGINT/SIGTERM; an interrupt will not write reports");
        return rx;
    };
    tokio::spawn(async move {
        interrupts.next().await;
        eprintln!(
            "interrupted: stopping the cases and writing the reports (interrupt again to exit at once)"
        );
        let _ = tx.send(true);
        interrupts.next().await;
        eprintln!("interrupted again: exiting at once, reports may be missing");
        crate::container::remove_all_now();
        std::process::exit(EXIT_INTERRUPTED);
    });
    rx
}

/// What a `--image` run adds to the settings: the CA the container's certificate is signed
/// with (trusted for the target), and registration that falls back to open registration.
pub struct ImageTrust {
    pub ca_pem: String,
    /// The name under which the container reaches this host's loopback servers.
    pub reach_host: Option<String>,
    /// What the reports say about the container (its image, where its log goes).
    pub container: crate::run::event::ContainerInfo,
    /// The container's log, read under each failed case.
    pub log: crate::container::image::LogSource,
}

/// Under a failed case of a `--image` run: the container's log lines from a second before the
/// case started to a second after it ended.
fn print_container_log(
    log: &crate::container::image::LogSource,
    start: std::time::SystemTime,
    end: std::time::SystemTime,
) {
    use crate::container::log_window::{around, parse};
    let lines = parse(&log.read_with_times());
    let near = around(&lines, start, end, std::time::Duration::from_secs(1), 12);
    println!(
        "           container log, the seconds around it ({} lines):",
        near.len()
    );
    for line in near {
        println!("             | {}", crate::report::sanitize(&line.text));
    }
}
