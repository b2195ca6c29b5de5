//! Events a run emits; reporters consume only these.

use std::time::Duration;

use serde::Serialize;

use crate::outcome::{Summary, Verdict};

/// What was learned about the target before cases ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TargetInfo {
    pub url: String,
    pub server_name: String,
    /// `Synapse 1.163.2` when the target says.
    pub server_version: Option<String>,
    /// Advertised spec versions.
    pub versions: Vec<String>,
    /// `--spec` when given.
    pub spec_override: Option<String>,
    pub unstable_features: Vec<String>,
    /// The container of a `--image` run: its image and where its log was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<ContainerInfo>,
}

/// The container a `--image` run tested.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ContainerInfo {
    pub image: String,
    /// The container's log, beside the reports.
    pub log: String,
}

/// One preflight result (client API reachable, registration, guest, previews…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreflightItem {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// Events in the order they happen.
#[derive(Debug, Clone)]
pub enum Event {
    RunStarted {
        target: TargetInfo,
        planned: usize,
        /// Time from the start of the run to the first case (probes, accounts, uploads).
        preflight: Duration,
    },
    Preflight(PreflightItem),
    CaseStarted {
        id: String,
    },
    /// A case finished (in completion order; for progress).
    CaseCompleted {
        id: String,
    },
    /// A case's verdict, in plan order.
    CaseFinished(Box<Verdict>),
    RunFinished {
        summary: Summary,
        elapsed: Duration,
        /// The problems behind the failed, warned and not-run cases, worst first.
        causes: Vec<crate::rootcause::RootCause>,
    },
}
