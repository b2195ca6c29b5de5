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
use crate::report::{json, junit, markdown};
use crate::run::{AccountSource, Event, FederationSettings, RunConfig, TargetInfo, execute};
use crate::spec_version::SpecVersion;
use crate::suite::{Suite, load_suite};
use crate::target::Registration;

/// Exit code: no unexpected failures.
pub const EXIT_OK: i32 = 0;
/// Exit code: unexpected failures (or unexpected passes with `--strict-baseline`).
pub const EXIT_FAILURES: i32 = 1;
/// Exit code: usage, suite-file or preflight error.
pub const EXIT_USAGE: i32 = 2;

/// Runs a parsed command line and returns the exit code.
pub fn run_cli(cli: Cli) -> i32 {
    match cli.command {
        Command::List(args) => list(&args),
        Command::Keygen(args) => keygen(&args),
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

fn list(args: &ListArgs) -> i32 {
    let (suite, profiles) = match load(&args.suite) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut n = 0;
    for case in suite
        .cases
        .iter()
        .filter(|c| profiles.is_empty() || profiles.contains(&c.profile))
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

fn keygen(args: &KeygenArgs) -> i32 {
    match SigningKey::create_new(&args.out, args.force) {
        Ok(key) => println!("wrote {} ({}, mode 0600)", args.out.display(), key.key_id),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_USAGE;
        }
    }
    if let Some(ca) = &args.peer_ca_out {
        match crate::peer::server::load_or_create_ca(ca) {
            Ok((_, true)) => println!(
                "wrote {} (CA certificate for the target to trust) and {} (its key, mode 0600)",
                ca.display(),
                crate::peer::server::ca_key_path(ca).display()
            ),
            Ok((_, false)) => println!("kept the existing CA {}", ca.display()),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_USAGE;
            }
        }
    }
    EXIT_OK
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
        federation: FederationSettings {
            signing_key: args.signing_key.clone(),
            peer_listen: args.peer_listen,
            peer_server_name: args
                .peer_server_name
                .clone()
                .unwrap_or_else(|| args.peer_listen.to_string()),
            ca_out: args.peer_ca_out.clone(),
            federation_url: args
                .federation_url
                .clone()
                .unwrap_or_else(|| args.target.trim_end_matches('/').to_string()),
        },
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
    let mut on_event = |event: Event| {
        match &event {
            Event::RunStarted { target, .. } => target_info = target.clone(),
            Event::RunFinished { elapsed, .. } => elapsed_ms = elapsed.as_millis(),
            _ => {}
        }
        human.handle(&event);
    };
    let verdicts = match execute(config, suite, &mut on_event).await {
        Ok(v) => v,
        Err(e) => {
            let message = redactor.redact(&format!("preflight failed: {e}"));
            eprintln!("error: {message}");
            write_preflight_reports(&args, &message);
            return EXIT_USAGE;
        }
    };
    let mut write_failed = false;
    if let Some(path) = &args.junit
        && let Err(e) = junit::write_junit(
            path,
            &target_info,
            &verdicts,
            args.strict_baseline,
            &redactor,
        )
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    if let Some(path) = &args.json
        && let Err(e) = json::write_json(path, &target_info, &verdicts, elapsed_ms, &redactor)
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    if let Some(path) = &args.markdown
        && let Err(e) = markdown::write_markdown(
            path,
            &target_info,
            &verdicts,
            std::time::Duration::from_millis(u64::try_from(elapsed_ms).unwrap_or(u64::MAX)),
            &redactor,
        )
    {
        eprintln!("error: {e}");
        write_failed = true;
    }
    let code = exit_code(&verdicts, args.strict_baseline);
    if write_failed && code == EXIT_OK {
        EXIT_USAGE
    } else {
        code
    }
}

/// 1 when a case failed unexpectedly (or passed unexpectedly under `--strict-baseline`).
pub fn exit_code(verdicts: &[Verdict], strict_baseline: bool) -> i32 {
    let bad = verdicts.iter().any(|v| match v.outcome {
        Outcome::Failed => true,
        Outcome::UnexpectedPass => strict_baseline,
        Outcome::Passed | Outcome::Warned | Outcome::Skipped | Outcome::ExpectedFailure => false,
    });
    if bad { EXIT_FAILURES } else { EXIT_OK }
}

/// Reports for a run that could not start, so CI still finds its files: JUnit with one
/// `preflight` testcase in error, JSON with an `error` and no cases.
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
            .and_then(|x| std::fs::write(path, x).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
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
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("error: cannot write {}: {e}", path.display());
        }
    }
}
