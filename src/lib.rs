//! mediaconf: a conformance tester for the media repository of Matrix homeservers.
//!
//! Data flows one way: suites (`suite`) → plan (`plan`) → exchanges recorded by the runner
//! (`run`, `client`) → verdicts from pure checks (`check`) → reports (`report`).

pub mod app;
pub mod baseline;
pub mod check;
pub mod cli;
pub mod client;
pub mod container;
pub mod diff;
pub mod digest;
pub mod exchange;
pub mod exit_code;
pub mod federation;
pub mod glob;
pub mod imageinfo;
pub mod level;
pub mod matrix;
pub mod multipart;
pub mod outcome;
pub mod pattern;
pub mod peer;
pub mod plan;
pub mod recorded;
pub mod redact;
pub mod report;
pub mod report_summary;
pub mod repro;
pub mod request;
pub mod rootcause;
pub mod run;
pub mod settings;
pub mod signals;
pub mod spec_version;
pub mod suite;
pub mod template;
