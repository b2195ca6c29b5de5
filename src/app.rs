//! The commands behind the CLI: wiring suites, the run, reporters and exit codes together.
//! Errors are printed here with the fix; `main` only maps the returned code to the process.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use crate::cli::{Cli, Command, ConfigArgs, InitArgs, KeygenArgs, ListArgs, RunArgs};
use crate::federation::signing_key::SigningKey;
use crate::outcome::{Outcome, Verdict};
use crate::redact::Redactor;
use crate::report::human::HumanReporter;
use crate::report::{html, json, junit, markdown};
use crate::rootcause::root_causes;
use crate::run::{Event, RunError, TargetInfo, execute};
use crate::settings::{
    ConfigFile, ReportPaths, ResolveError, RunSettings, find_config, resolve_list, resolve_run,
    write_example,
};
use crate::suite::load_suite;

pub use crate::exit_code::{EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

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

/// Runs a parsed command line and returns the exit code.
pub fn run_cli(cli: Cli) -> i32 {
    match cli.command {
        Command::List(args) => list(&args),
        Command::Init(args) => init(&args),
        Command::Keygen(args) => keygen(&args),
        Command::Diff(args) => diff(&args),
        Command::Matrix(args) => matrix(&args),
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
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut command, "mediaconf", &mut script);
            match std::io::Write::write_all(&mut std::io::stdout(), &script) {
                Ok(()) => EXIT_OK,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
                Err(e) => usage_error(&format!("cannot write the completions: {e}")),
            }
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
            let runtime = match tokio::runtime::Builder::new_current_thread()
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

/// The config file a command reads, or the exit code after printing why it cannot.
fn config_file(args: &ConfigArgs) -> Result<Option<ConfigFile>, i32> {
    if args.no_config {
        return Ok(None);
    }
    find_config(args.config.as_deref()).map_err(|e| {
        eprintln!("{e}");
        EXIT_USAGE
    })
}

/// Prints a settings error; always a usage error.
fn settings_error(e: &ResolveError) -> i32 {
    eprintln!("{e}");
    EXIT_USAGE
}

fn list(args: &ListArgs) -> i32 {
    let file = match config_file(&args.config) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let settings = match resolve_list(args, file.as_ref()) {
        Ok(s) => s,
        Err(e) => return settings_error(&e),
    };
    for w in &settings.warnings {
        eprintln!("warning: {w}");
    }
    match write_list(&settings) {
        Ok(()) => EXIT_OK,
        // `mediaconf list | head` closes the pipe early: not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => usage_error(&format!("cannot write the list: {e}")),
    }
}

/// One line per selected case, then the count.
fn write_list(settings: &crate::settings::ListSettings) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let profiles = &settings.profiles;
    let mut n = 0;
    for case in settings
        .suite
        .cases
        .iter()
        .filter(|c| profiles.is_empty() || profiles.contains(&c.profile))
        .filter(|c| settings.selection.check(&c.id).is_ok())
    {
        n += 1;
        writeln!(
            out,
            "{:<24} {:<6} {:<10} {:<14} {}  [{}]",
            case.id,
            case.level.as_str(),
            case.profile,
            case.version_range(),
            case.title,
            case.spec_ref
        )?;
    }
    writeln!(out, "{n} cases")?;
    out.flush()
}

/// Writes the example config file (an existing one only with `--force`).
fn init(args: &InitArgs) -> i32 {
    match write_example(&args.out, args.force) {
        Ok(()) => {
            println!(
                "wrote {} (set `target`, then `mediaconf run`; flags override the file)",
                args.out.display()
            );
            EXIT_OK
        }
        Err(e) => usage_error(&e),
    }
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
                crate::report_summary::ReportSummary::parse(&t)
                    .map_err(|e| format!("{}: {e}", path.display()))
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

/// `mediaconf matrix`: reads the reports, writes the page and the Markdown.
fn matrix(args: &crate::cli::MatrixArgs) -> i32 {
    let mut texts = Vec::new();
    for arg in &args.reports {
        let (label, path) = match arg.split_once('=') {
            Some((label, path)) if !label.is_empty() && !std::path::Path::new(arg).exists() => {
                (Some(label.to_owned()), path.to_owned())
            }
            _ => (None, arg.clone()),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((label, path, text)),
            Err(e) => return usage_error(&format!("cannot read {path}: {e}")),
        }
    }
    let (m, markdown) =
        match write_comparison(&texts, args.html.as_deref(), args.markdown.as_deref()) {
            Ok(done) => done,
            Err(e) => return usage_error(&e),
        };
    if args.html.is_none() && args.markdown.is_none() {
        print!("{markdown}");
    }
    eprintln!(
        "matrix: {} implementations, {} disagreements",
        m.columns.len(),
        m.disagreeing.len()
    );
    EXIT_OK
}

/// The comparison of `reports` (label, source, JSON text): built, its page and Markdown written
/// where asked. Returns the matrix and its Markdown.
fn write_comparison(
    reports: &[(Option<String>, String, String)],
    html: Option<&std::path::Path>,
    markdown: Option<&std::path::Path>,
) -> Result<(crate::matrix::Matrix, String), String> {
    let inputs: Vec<crate::matrix::Input<'_>> = reports
        .iter()
        .map(|(label, source, text)| crate::matrix::Input {
            text,
            source,
            label: label.as_deref(),
        })
        .collect();
    let m = crate::matrix::build(&inputs)?;
    let md = crate::report::sanitize(&crate::matrix::render_markdown(&m));
    for (path, text) in [
        (html, crate::report::matrix_html::render(&m)),
        (markdown, md.clone()),
    ] {
        if let Some(path) = path {
            crate::report::write_atomically(path, text.as_bytes())?;
        }
    }
    Ok((m, md))
}

fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}

async fn run(args: RunArgs) -> i32 {
    match args.image.clone().as_slice() {
        [] => run_target(args, None).await,
        [image] => run_image(args, image).await,
        images => run_images(args, images).await,
    }
}

/// Several `--image`s: each run in turn (they share the host's ports), with its reports and
/// container log suffixed by the image's name; then the comparison page beside the JSON
/// reports. The exit code is the worst of the runs.
async fn run_images(args: RunArgs, images: &[String]) -> i32 {
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("mediaconf-report.json"));
    let mut codes = Vec::new();
    let mut reports = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, image) in images.iter().enumerate() {
        let mut slug = crate::container::run::slug(image);
        if !used.insert(slug.clone()) {
            slug = format!("{slug}-{}", i + 1);
        }
        let mut one = args.clone();
        one.json = Some(crate::container::run::suffixed(&json, &slug));
        for p in [&mut one.junit, &mut one.html, &mut one.markdown]
            .into_iter()
            .flatten()
        {
            *p = crate::container::run::suffixed(p, &slug);
        }
        let report = one.json.clone().unwrap_or_default();
        codes.push(run_image(one, image).await);
        if codes.last() == Some(&EXIT_INTERRUPTED) {
            break;
        }
        reports.push((image.clone(), report));
    }
    write_image_matrix(&json, &reports);
    if codes.contains(&EXIT_INTERRUPTED) {
        EXIT_INTERRUPTED
    } else {
        codes.into_iter().max().unwrap_or(EXIT_OK)
    }
}

/// `matrix.html` and `matrix.md` beside `json`, from the runs' JSON reports that exist.
fn write_image_matrix(json: &std::path::Path, reports: &[(String, std::path::PathBuf)]) {
    let texts: Vec<(Option<String>, String, String)> = reports
        .iter()
        .filter_map(|(image, path)| {
            let text = std::fs::read_to_string(path).ok()?;
            Some((Some(image.clone()), path.display().to_string(), text))
        })
        .collect();
    let dir = json.parent().unwrap_or(std::path::Path::new(""));
    let (html, md) = (dir.join("matrix.html"), dir.join("matrix.md"));
    match write_comparison(&texts, Some(&html), Some(&md)) {
        Ok(_) => eprintln!(
            "image      comparison: {} and {}",
            html.display(),
            md.display()
        ),
        Err(e) => eprintln!("warning: no comparison page: {e}"),
    }
}

/// `run --image IMAGE`: starts the container, waits for it (a container that exits or never
/// answers is a preflight error with its last log lines, exit 2), runs, keeps its log and
/// removes it, whatever happened.
async fn run_image(mut args: RunArgs, image: &str) -> i32 {
    let session = match crate::container::run::start(&mut args, image) {
        Ok(s) => s,
        Err(e) => return usage_error(&format!("--image: {e}")),
    };
    let interrupt = crate::signals::first();
    let ready = tokio::select! {
        r = session.wait_ready() => r,
        () = interrupt => {
            session.finish();
            eprintln!("interrupted while the container started");
            return EXIT_INTERRUPTED;
        }
    };
    if let Err(e) = ready {
        session.finish();
        return usage_error(&format!("--image: preflight: {e}"));
    }
    let addresses = &session.container.addresses;
    eprintln!("image      {image} answers on {}", addresses.client_url());
    let trust = ImageTrust {
        log: session.container.log_source(),
        ca_pem: session.ca_pem.clone(),
        reach_host: addresses.host_alias.clone(),
        container: crate::run::event::ContainerInfo {
            image: image.to_owned(),
            log: session.log_path.display().to_string(),
        },
    };
    let code = run_target(args, Some(trust)).await;
    session.finish();
    code
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

async fn run_target(args: RunArgs, image: Option<ImageTrust>) -> i32 {
    let file = match config_file(&args.config) {
        Ok(f) => f,
        Err(code) => return code,
    };
    let env = |name: &str| std::env::var(name).ok();
    let RunSettings {
        mut config,
        suite,
        reports,
        strict,
        strict_baseline,
        allow_skipped,
        color,
        quiet,
        warnings,
    } = match resolve_run(&args, file.as_ref(), &env) {
        Ok(s) => s,
        Err(e) => return settings_error(&e),
    };
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let container_info = image.as_ref().map(|t| t.container.clone());
    let container_log = image.as_ref().map(|t| t.log.clone());
    if let Some(trust) = image {
        config.target_ca_pem = Some(trust.ca_pem);
        config.federation.reach_host = trust.reach_host;
        if let crate::run::config::AccountSource::Register(
            crate::client::accounts::Registration::SharedSecret(secret),
        ) = &config.account
        {
            config.account = crate::run::config::AccountSource::Register(
                crate::client::accounts::Registration::SharedSecretOrOpen(secret.clone()),
            );
        }
    }
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
    let mut target_info = TargetInfo::default();
    let mut elapsed_ms = 0u128;
    let mut preflight_ms = 0u128;
    let wall_start = std::time::SystemTime::now();
    let show_log = !quiet;
    let mut on_event = |event: Event| {
        match &event {
            Event::RunStarted {
                target, preflight, ..
            } => {
                target_info = target.clone();
                target_info.container.clone_from(&container_info);
                preflight_ms = preflight.as_millis();
            }
            Event::RunFinished { elapsed, .. } => elapsed_ms = elapsed.as_millis(),
            _ => {}
        }
        human.handle(&event);
        if let (Event::CaseFinished(v), Some(log)) = (&event, &container_log)
            && v.outcome == Outcome::Failed
            && show_log
        {
            let start = wall_start + v.started_at;
            print_container_log(log, start, start + v.duration);
        }
    };
    let interrupt = watch_interrupts();
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
        target: &target_info,
        verdicts: &verdicts,
        causes: &causes,
        elapsed_ms,
        preflight_ms,
        strict_baseline,
        redactor: &redactor,
    };
    let write_failed = !write_reports(&reports, &finished);
    let allow = AllowSkipped::new(&allow_skipped);
    let not_run = not_run_lines(&verdicts, &allow);
    for line in &not_run {
        eprintln!("{}", redactor.redact(&crate::report::sanitize(line)));
    }
    let mut code = exit_code(&verdicts, strict_baseline, &allow);
    let warned = verdicts
        .iter()
        .filter(|v| v.outcome == Outcome::Warned)
        .count();
    if strict && warned > 0 && matches!(code, EXIT_OK | EXIT_USAGE) {
        eprintln!("--strict: {warned} SHOULD/GAP warning(s) fail the run");
        code = EXIT_FAILURES;
    }
    if write_failed && code == EXIT_OK {
        EXIT_USAGE
    } else {
        code
    }
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
