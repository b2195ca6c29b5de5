//! Executing a plan against a target: configuration, shared session state, one case at a time,
//! the orchestrating executor and the events it emits.

pub mod case;
pub mod config;
pub mod discovery;
pub mod event;
pub mod executor;
pub mod preflight;
pub mod preview_page;
pub mod schedule;
pub mod session;
pub mod signer;
pub mod step_request;

pub use config::{AccountSource, FederationSettings, RunConfig};
pub use event::{Event, PreflightItem, TargetInfo};
pub use executor::{RunError, execute};
pub use preflight::PreflightError;
