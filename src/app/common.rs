//! What every command shares: the config file found and read, and settings and usage errors
//! printed with their exit code (2).

use crate::cli::ConfigArgs;
use crate::exit_code::EXIT_USAGE;
use crate::settings::{ConfigFile, ResolveError, find_config};

/// The config file a command reads, or the exit code after printing why it cannot.
pub(super) fn config_file(args: &ConfigArgs) -> Result<Option<ConfigFile>, i32> {
    if args.no_config {
        return Ok(None);
    }
    find_config(args.config.as_deref()).map_err(|e| {
        eprintln!("{e}");
        EXIT_USAGE
    })
}

/// Prints a settings error; always a usage error.
pub(super) fn settings_error(e: &ResolveError) -> i32 {
    eprintln!("{e}");
    EXIT_USAGE
}

pub(super) fn usage_error(message: &str) -> i32 {
    eprintln!("error: {message}");
    EXIT_USAGE
}
