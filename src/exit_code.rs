//! The process exit codes of every command, in one place: `app` maps results to them and
//! `mediaconf peer` (`peer::standalone`) returns them, without either importing the other.

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
