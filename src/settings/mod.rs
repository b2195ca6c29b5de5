//! Run settings from three sources: flags (and `MEDIACONF_*` variables, which clap reads), the
//! config file `mediaconf.toml`, and built-in defaults, in that order of precedence.
//!
//! The split follows ripgrep's low-level/high-level arguments: `cli` only describes flags,
//! [`file`] only parses the config file, and [`resolve`] merges both (plus the environment
//! variables the file names) into the [`crate::run::RunConfig`] of a run and the settings
//! around it (reports, exit policy, output). Nothing here prints; warnings are returned.

pub mod error;
pub mod example;
pub mod file;
pub mod resolve;

pub use error::{ConfigError, ConfigErrorKind};
pub use example::{EXAMPLE, write_example};
pub use file::{ConfigFile, FILE_NAME, KEYS, find_config, load_config, parse_config};
pub use resolve::{
    ListSettings, ReportPaths, ResolveError, RunSettings, resolve_list, resolve_run,
};
