//! The `mediaconf` binary: parse flags, run the command, exit with its code.

use clap::Parser;

fn main() {
    let cli = mediaconf::cli::Cli::parse();
    std::process::exit(mediaconf::app::run_cli(cli));
}
