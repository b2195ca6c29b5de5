//! The commands behind the CLI: wiring suites, the run, reporters and exit codes together.
//! Errors are printed here with the fix; `main` only maps the returned code to the process.

use crate::cli::{Cli, Command, InitArgs, KeygenArgs, ListArgs, RunArgs};
use crate::federation::signing_key::SigningKey;
use crate::settings::{resolve_list, write_example};
use crate::suite::load_suite;

mod common;
mod comparison;
mod images;
mod run;

use common::{config_file, settings_error, usage_error};
pub use run::{AllowSkipped, ImageTrust, exit_code, not_run_lines};

pub use crate::exit_code::{EXIT_FAILURES, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE};

/// Runs a parsed command line and returns the exit code.
pub fn run_cli(cli: Cli) -> i32 {
    match cli.command {
        Command::List(args) => list(&args),
        Command::Init(args) => init(&args),
        Command::Keygen(args) => keygen(&args),
        Command::Diff(args) => diff(&args),
        Command::Matrix(args) => comparison::matrix(&args),
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

/// `run`: against a target, or the container of one image, or several images in turn.
async fn run(args: RunArgs) -> i32 {
    match args.image.clone().as_slice() {
        [] => run::run_target(args, None).await,
        [image] => images::run_image(args, image).await,
        images => images::run_images(args, images).await,
    }
}
