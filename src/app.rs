//! The commands behind the CLI: wiring suites, the run, reporters and exit codes together.
//! Errors are printed here with the fix; `main` only maps the returned code to the process.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::time::Duration;

use crate::baseline::{Baseline, load_baseline};
use crate::cli::KeygenArgs;
use crate::cli::{Cli, Command, ListArgs, RunArgs, SuiteArgs};
use crate::federation::signing_key::SigningKey;
use crate::outcome::{Outcome, Verdict};
use crate::redact::Redactor;
use crate::report::human::HumanReporter;
use crate::report::{html, json, junit, markdown};
use crate::rootcause::root_causes;
use crate::run::{
    AccountSource, Event, FederationSettings, RunConfig, RunError, TargetInfo, execute,
};
use crate::spec_version::SpecVersion;
use crate::suite::{Suite, load_suite};
use crate::target::Registration;

/// Exit code: no unexpected failures.
pub const EXIT_OK: i32 = 0;
/// Exit code: unexpected failures (or unexpected passes with `--strict-baseline`).
pub const EXIT_FAILURES: i32 = 1;
/// Exit code: usage, suite-file or preflight error, or requested cases that did not run because
/// of a set-up problem (see `--allow-skipped`).
pub const EXIT_USAGE: i32 = 2;

/// Exit code: the run was interrupted by SIGINT or SIGTERM (128 + SIGINT, as shells report it);
/// the reports were still written, with every unfinished case `interrupted`.
pub const EXIT_INTERRUPTED: i32 = 130;

/// Listens for SIGINT and SIGTERM: the first sets the returned flag (the run stops its cases at
/// once and writes its reports); a second one exits the process at once.
fn watch_interrupts() -> tokio::sync::watch::Receiver<bool> {
    use tokio::signal::unix::{SignalKind, signal};
    let (tx, rx) = tokio::sync::watch::channel(false);
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        eprintln!("warning: cannot listen for SIGINT/SIGTERM; an interrupt will not write reports");
        return rx;
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!(
            "interrupted: stopping the cases and writing the reports (interrupt again to exit at once)"
        );
        let _ = tx.send(true);
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        eprintln!("interrupted again: exiting at once, reports may be missing");
        std::process::exit(EXIT_INTERRUPTED);
    });
    rx
}

/// Runs a parsed command line and returns the exit code.
pub fn run_cli(cli: Cli) -> i32 {
    match cli.command {
        Command::List(args) => list(&args),
        Command::Keygen(args) => keygen(&args),
        Command::Diff(args) => diff(&args),
        Command::Lint(args) => lint(&args),
        Command::Request(args) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(crate::request::request(&args)),
            Err(e) => usage_error(&format!("cannot start the async runtime: {e}")),
        },
        Command::Peer(args) => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(crate::peer::standalone::serve(&args)),
            Err(e) => usage_error(&format!("cannot start the async runtime: {e}")),
        },
        Command::Completions(args) => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(
                args.shell,
                &mut command,
                "mediaconf",
                &mut std::io::stdout(),
            );
            EXIT_OK
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            match clap_mangen::Man::new(command).render(&mut std::io::stdout()) {
                Ok(()) => EXIT_OK,
                // `mediaconf man | head` closes the pipe early: not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
                Err(e) => usage_error(&format!("cannot write the man page: {e}")),
            }
        }
        Command::Run(args) => {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: cannot start the async runtime: {e}");
                    return EXIT_USAGE;
                }
            };
            runtime.block_on(run(*args))
        }
    }
}

fn load(args: &SuiteArgs) -> Result<(Suite, BTreeSet<String>), i32> {
    let suite = load_suite(&args.suites).map_err(|e| {
        eprintln!("{e}");
        eprintln!(
            "\n{} suite error(s); see docs/suites.md for the format",
            e.0.len()
        );
        EXIT_USAGE
    })?;
    let profiles: BTreeSet<String> = args
        .profile
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let known = suite.profiles();
    let unknown: Vec<&String> = profiles.iter().filter(|p| !known.contains(*p)).collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        eprintln!(
            "error: unknown profile {} (known: {})",
            unknown
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", "),
            known.join(", ")
        );
        return Err(EXIT_USAGE);
    }
    Ok((suite, profiles))
}

/// `--case` / `--skip`, with a warning for a pattern that matches no case.
fn selection(args: &SuiteArgs, suite: &Suite) -> crate::plan::Selection {
    let selection = crate::plan::Selection {
        include: args.cases.clone(),
        exclude: args.skips.clone(),
    };
    let ids: Vec<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    for pattern in selection.unmatched(&ids) {
        eprintln!("warning: the pattern `{pattern}` matches no case id (see `mediaconf list`)");
    }
    selection
}

fn list(args: &ListArgs) -> i32 {
    let (suite, profiles) = match load(&args.suite) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let selected = selection(&args.suite, &suite);
    let mut n = 0;
    for case in suite
        .cases
        .iter()
        .filter(|c| profiles.is_empty() || profiles.contains(&c.profile))
        .filter(|c| selected.check(&c.id).is_ok())
    {
        n += 1;
        println!(
            "{:<24} {:<6} {:<10} {:<14} {}  [{}]",
            case.id,
            case.level.as_str(),
            case.profile,
            case.version_range(),
            case.title,
            case.spec_ref
        );
    }
    println!("{n} cases");
    EXIT_OK
}

/// Creates whichever of the signing key and (with `--peer-ca-out`) the CA is missing; an
/// existing file is kept, and only replacing it is refused (`--force` replaces the key). When
/// nothing was missing, that refusal is an error (exit 2).
fn keygen(args: &KeygenArgs) -> i32 {
    let mut created = false;
    let mut refused = None;
    if args.out.exists() && !args.force {
        match SigningKey::load(&args.out) {
            Ok(key) => {
                println!(
                    "kept the existing key {} ({}); pass --force to replace it",
                    args.out.display(),
                    key.key_id
                );
                refused = Some(format!(
                    "{} already exists: refusing to overwrite it (pass --force to replace it)",
                    args.out.display()
                ));
            }
            Err(e) => {
                eprintln!(
                    "error: {} exists but is not a usable signing key: {e} (move it away, or pass --force to replace it)",
                    args.out.display()
                );
                return EXIT_USAGE;
            }
        }
    } else {
        match SigningKey::create_new(&args.out, args.force) {
            Ok(key) => {
                created = true;
                println!("wrote {} ({}, mode 0600)", args.out.display(), key.key_id);
            }
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    if let Some(ca) = &args.peer_ca_out {
        match crate::peer::server::load_or_create_ca(ca) {
            Ok((_, true)) => {
                created = true;
                println!(
                    "wrote {} (CA certificate for the target to trust) and {} (its key, mode 0600)",
                    ca.display(),
                    crate::peer::server::ca_key_path(ca).display()
                );
            }
            Ok((_, false)) => println!("kept the existing CA {}", ca.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    match refused {
        Some(why) if !created => {
            eprintln!("error: {why}");
            EXIT_USAGE
        }
        _ => EXIT_OK,
    }
}

/// Loads the embedded suites and `args.dirs`, reporting every error; the embedded cases are
/// not counted in the summary line.
fn lint(args: &crate::cli::LintArgs) -> i32 {
    for dir in &args.dirs {
        if !dir.is_dir() {
            return usage_error(&format!(
                "{} is not a directory of suite files",
                dir.display()
            ));
        }
    }
    match load_suite(&args.dirs) {
        Ok(suite) => {
            let embedded = load_suite(&[]).map(|s| s.cases.len()).unwrap_or(0);
            let own = suite.cases.len().saturating_sub(embedded);
            println!(
                "ok: {own} case(s) in {} director{} (plus {embedded} embedded)",
                args.dirs.len(),
                if args.dirs.len() == 1 { "y" } else { "ies" }
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!(
                "\n{} suite error(s); see docs/suites.md for the format",
                e.0.len()
            );
            EXIT_USAGE
        }
    }
}

fn diff(args: &crate::cli::DiffArgs) -> i32 {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))
            .and_then(|t| {
                crate::diff::Report::parse(&t).map_err(|e| format!("{}: {e}", path.display()))
            })
    };
    let (old, new) = match (read(&args.old), read(&args.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(e), _) | (_, Err(e)) => return usage_error(&e),
    };
    let changes = crate::diff::compare(&old, &new);
    let text = if args.markdown {
        crate::diff::render_markdown(&changes)
    } else {
        crate::diff::render_text(&changes)
    };
    print!("{}", crate::report::sanitize(&text));
    if changes.regressed() {
        EXIT_FAILURES
    } else {
        EXIT_OK
    }
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

async fn run(args: RunArgs) -> i32 {
    let (suite, profiles) = match load(&args.suite) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let target = args.target.trim_end_matches('/').to_string();
    match reqwest::Url::parse(&target) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => {
            return usage_error(&format!(
                "--target `{}` is not an http(s) URL (e.g. http://127.0.0.1:8008)",
                args.target
            ));
        }
    }
    let spec_override = match &args.spec {
        Some(s) => match s.parse::<SpecVersion>() {
            Ok(v) => Some(v),
            Err(e) => return usage_error(&format!("--spec: {e}")),
        },
        None => None,
    };
    let baseline = match &args.baseline {
        Some(path) => match load_baseline(path) {
            Ok(b) => b,
            Err(e) => return usage_error(&format!("baseline: {e}")),
        },
        None => Baseline::default(),
    };
    let mut allowed_names: BTreeSet<String> = suite.profiles();
    allowed_names.extend(
        crate::suite::model::Need::ALL
            .iter()
            .map(ToString::to_string),
    );
    allowed_names.insert("all".to_string());
    if let Some(bad) = args
        .allow_skipped
        .iter()
        .map(|n| n.trim())
        .find(|n| !n.is_empty() && !allowed_names.contains(*n))
    {
        let known: Vec<&str> = allowed_names.iter().map(String::as_str).collect();
        return usage_error(&format!(
            "--allow-skipped: unknown name `{bad}` (known: {})",
            known.join(", ")
        ));
    }
    let known_ids: BTreeSet<String> = suite.cases.iter().map(|c| c.id.clone()).collect();
    for id in baseline.unknown_ids(&known_ids) {
        eprintln!(
            "warning: baseline {} lists `{id}`, which is not a case id (stale or mistyped entry)",
            baseline.source
        );
    }
    let mut secrets = Vec::new();
    let given = [
        args.registration_token.is_some(),
        args.registration_shared_secret.is_some(),
        args.user_token.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return usage_error(
            "give only one of --registration-token, --registration-shared-secret and --user-token",
        );
    }
    let account = if let Some(t) = &args.user_token {
        secrets.push(t.clone());
        AccountSource::ExistingToken(t.clone())
    } else if let Some(t) = &args.registration_token {
        secrets.push(t.clone());
        AccountSource::Register(Registration::Token(t.clone()))
    } else if let Some(s) = &args.registration_shared_secret {
        secrets.push(s.clone());
        AccountSource::Register(Registration::SharedSecret(s.clone()))
    } else {
        AccountSource::Register(Registration::Open)
    };
    let redactor = Redactor::default();
    let config = RunConfig {
        target,
        server_name: args.server_name.clone(),
        profiles,
        spec_override,
        account,
        jobs: usize::from(args.jobs),
        timeout: Duration::from_secs(args.timeout),
        deadline: Duration::from_secs(args.deadline),
        max_body: usize::try_from(args.max_body_mib * 1024 * 1024).unwrap_or(usize::MAX),
        baseline,
        extra_suites: args.suite.suites.clone(),
        secrets,
        federation: FederationSettings::from_args(
            &args.peer,
            args.federation_url
                .clone()
                .unwrap_or_else(|| args.target.trim_end_matches('/').to_string()),
        ),
        preview_listen: args.preview_listen,
        quick: args.quick,
        selection: selection(&args.suite, &suite),
        redactor: redactor.clone(),
    };
    let color = args.color.enabled(
        std::io::stdout().is_terminal(),
        std::env::var("NO_COLOR").ok().as_deref(),
    );
    let mut human = HumanReporter::new(
        std::io::stdout(),
        color,
        std::io::stderr().is_terminal(),
        redactor.clone(),
    );
    human.verbose = !args.quiet;
    let mut target_info = TargetInfo::default();
    let mut elapsed_ms = 0u128;
    let mut preflight_ms = 0u128;
    let mut on_event = |event: Event| {
        match &event {
            Event::RunStarted {
                target, preflight, ..
            } => {
                target_info = target.clone();
                preflight_ms = preflight.as_millis();
            }
            Event::RunFinished { elapsed, .. } => elapsed_ms = elapsed.as_millis(),
            _ => {}
        }
        human.handle(&event);
    };
    let interrupt = watch_interrupts();
    let verdicts = match execute(config, suite, &mut on_event, interrupt).await {
        Ok(v) => v,
        Err(RunError::Interrupted) => {
            let message = "interrupted (SIGINT or SIGTERM) during preflight: no case had started";
            eprintln!("error: {message}");
            write_preflight_reports(&args, message);
            return EXIT_INTERRUPTED;
        }
        Err(RunError::Preflight(e)) => {
            let message = redactor.redact(&format!("preflight failed: {e}"));
            eprintln!("error: {message}");
            write_preflight_reports(&args, &message);
            return EXIT_USAGE;
        }
    };
    let causes = root_causes(&verdicts);
    let mut write_failed = false;
    if let Some(path) = &args.junit
        && let Err(e) = junit::write_junit(
            path,
            &target_info,
            &verdicts,
            &causes,
            args.strict_baseline,
            &redactor,
        )
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    if let Some(path) = &args.json
        && let Err(e) = json::write_json(
            path,
            &target_info,
            &verdicts,
            &causes,
            (elapsed_ms, preflight_ms),
            &redactor,
        )
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    if let Some(path) = &args.markdown
        && let Err(e) = markdown::write_markdown(
            path,
            &target_info,
            &verdicts,
            &causes,
            std::time::Duration::from_millis(u64::try_from(elapsed_ms).unwrap_or(u64::MAX)),
            &redactor,
        )
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    if let Some(path) = &args.html {
        let input = html::HtmlInput {
            target: &target_info,
            verdicts: &verdicts,
            causes: &causes,
            duration_ms: elapsed_ms,
            preflight_ms,
            error: None,
        };
        if let Err(e) = html::write_html(path, &input, &redactor) {
            eprintln!("error: {e}");
            write_failed = true;
        }
    }
    let allow = AllowSkipped::new(&args.allow_skipped);
    let not_run = not_run_lines(&verdicts, &allow);
    for line in &not_run {
        eprintln!("{}", redactor.redact(&crate::report::sanitize(line)));
    }
    let mut code = exit_code(&verdicts, args.strict_baseline, &allow);
    let warned = verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Warned)
        .count();
    if args.strict && warned > 0 && matches!(code, EXIT_OK | EXIT_USAGE) {
        eprintln!("--strict: {warned} SHOULD/GAP warning(s) fail the run");
        code = EXIT_FAILURES;
    }
    if write_failed && code == EXIT_OK {
        EXIT_USAGE
    } else {
        code
    }
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
fn write_preflight_reports(args: &RunArgs, message: &str) {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    if let Some(path) = &args.junit {
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
    if let Some(path) = &args.json {
        let doc = serde_json::json!({
            "mediaconf_version": env!("CARGO_PKG_VERSION"),
            "target": {"url": args.target},
            "error": message,
            "summary": crate::outcome::Summary::default(),
            "cases": [],
        });
        let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
        if let Err(e) = crate::report::write_atomically(path, text.as_bytes()) {
            eprintln!("error: {e}");
        }
    }
    if let Some(path) = &args.html {
        let target = TargetInfo {
            url: args.target.clone(),
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
