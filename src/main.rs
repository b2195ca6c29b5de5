//! The `mediaconf` binary: parse flags, run the command, exit with its code.

fn main() {
    let cli = mediaconf::cli::Cli::parse_recorded();
    std::process::exit(mediaconf::app::run_cli(cli));
}
