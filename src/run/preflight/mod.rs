//! Preflight: what a run learns and sets up before its first case, as a pipeline of stages.
//! [`prepare`] is the list of stages, in order; each stage is one function in its own module
//! that names what it needs from earlier stages and what it adds, and reports through the
//! [`Ledger`] the same way: one preflight line per finding, and for each need it makes
//! unavailable, the reason (cases needing it are then blocked by that stage, not run).
//!
//! | stage | module | needs | adds |
//! |---|---|---|---|
//! | client API | [`client_api`] | the target URL | advertised versions, server version (fatal if absent) |
//! | plan | [`crate::plan`] | versions, profiles, selection | the selected cases and their needs |
//! | user | [`accounts`] | an account source | the user, the server name (fatal if impossible) |
//! | extra accounts | [`accounts`] | the registration method | second user, logged-out token, guest |
//! | preview page | [`previews`] | needs | our loopback page for the preview cases |
//! | session | [`new_session`] | user, server name | the session the cases share |
//! | federation discovery | [`federation`] | server name | the target's federation base URL |
//! | identify | [`client_api`] | federation base | the implementation's name and version |
//! | URL previews | [`previews`] | page, user | whether previews are served |
//! | deprecated endpoints | [`endpoints`] | user | a note when `/_matrix/media/v3/*` is off |
//! | endpoints | [`endpoints`] | advertised versions | the media endpoints not implemented |
//! | federation API | [`federation`] | federation base | whether it serves the media API |
//! | key server, signed probe | [`federation`] | our key, needs | the peer; whether we are verified |
//! | mock peer | [`peer_probe`] | the peer, user | whether the target fetches remote media |
//! | capabilities | [`crate::plan`] | what is unavailable | the plan: run, skip or blocked |
//! | media | [`media`] | the plan, accounts | the media the runnable cases use |
//!
//! Adding a stage is one module with one function, and one line in [`prepare`].

pub mod accounts;
pub mod client_api;
pub mod endpoints;
pub mod federation;
pub mod hints;
pub mod media;
pub mod peer_probe;
pub mod previews;
pub mod refusal;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use super::config::RunConfig;
use super::event::Event;
use super::preview_page::PreviewPage;
use super::session::Session;
use crate::client::{AccountClient, HttpClient};
use crate::outcome::SetUpProblem;
use crate::peer::Peer;
use crate::plan::{self, Planned};
use crate::suite::Suite;
use crate::suite::model::Need;

pub use endpoints::is_unrecognized_endpoint;
pub use federation::{readable_by_others, start_key_server};

/// A reason the run cannot start, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\n  fix: {fix}")]
pub struct PreflightError {
    pub message: String,
    pub fix: String,
}

impl PreflightError {
    pub fn new(message: impl Into<String>, fix: impl Into<String>) -> Self {
        PreflightError {
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// What every stage reports to: the preflight lines of the reports, and the needs that are
/// unavailable with the stage that found it and why.
pub struct Ledger<'a> {
    events: &'a mut (dyn FnMut(Event) + Send),
    unavailable: BTreeMap<Need, SetUpProblem>,
}

impl<'a> Ledger<'a> {
    pub fn new(events: &'a mut (dyn FnMut(Event) + Send)) -> Self {
        Ledger {
            events,
            unavailable: BTreeMap::new(),
        }
    }

    /// One preflight line (a probe, an account, the key server) for the reports.
    pub fn report(&mut self, stage: &str, ok: bool, detail: String) {
        (self.events)(Event::Preflight(super::event::PreflightItem {
            name: stage.to_string(),
            ok,
            detail,
        }));
    }

    /// Records that `need` is unavailable because of `by` (a preflight stage or a flag). Every
    /// case needing it repeats `why`, so only its first clause is kept: the whole text, with
    /// the answer and the fix, is the stage's preflight line.
    pub fn mark(&mut self, need: Need, by: &str, why: String) {
        self.unavailable.insert(
            need,
            SetUpProblem {
                by: by.to_string(),
                why: short_why(&why),
                need: Some(need.to_string()),
            },
        );
    }

    /// A stage failed: says so, and makes `needs` unavailable for that reason (blocked by
    /// `preflight <stage>`).
    pub fn unavailable_after(&mut self, stage: &str, needs: &[Need], reason: String) {
        self.report(stage, false, reason.clone());
        for need in needs {
            self.mark(*need, &format!("preflight {stage}"), reason.clone());
        }
    }

    pub fn is_unavailable(&self, need: Need) -> bool {
        self.unavailable.contains_key(&need)
    }

    pub fn unavailable(&self) -> &BTreeMap<Need, SetUpProblem> {
        &self.unavailable
    }

    /// Sends a run event that is not a preflight line (the run's start).
    pub fn emit(&mut self, event: Event) {
        (self.events)(event);
    }
}

/// Longest reason a case repeats.
const MAX_WHY: usize = 140;

/// The first clause of a reason (up to ` (`, `; ` or `. ` past its first words), at most
/// [`MAX_WHY`] characters: one short line, never a response body.
pub fn short_why(reason: &str) -> String {
    let cut = [" (", "; ", ". "]
        .iter()
        .filter_map(|sep| reason.match_indices(sep).map(|(i, _)| i).find(|i| *i >= 20))
        .min()
        .unwrap_or(reason.len());
    let clause = &reason[..cut];
    if clause.chars().count() <= MAX_WHY {
        return clause.to_string();
    }
    let kept: String = clause.chars().take(MAX_WHY).collect();
    let end = kept.rfind(' ').unwrap_or(kept.len());
    format!("{}…", &kept[..end])
}

/// What preflight hands to the case phase.
pub struct Prepared {
    pub session: Session,
    pub planned: Vec<Planned>,
    pub started: Instant,
    /// Kept alive for the cases; dropping them stops the servers.
    pub page: Option<PreviewPage>,
    pub peer: Option<Arc<Peer>>,
}

/// Preflight: the stages in order. Ends with `RunStarted`.
pub async fn prepare(
    config: &RunConfig,
    suite: Suite,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<Prepared, PreflightError> {
    let started = Instant::now();
    let ledger = &mut Ledger::new(on_event);
    for s in &config.secrets {
        config.redactor.add(s);
    }
    let http = HttpClient::trusting(
        config.max_body,
        config.redactor.clone(),
        config.insecure,
        config.target_ca_pem.as_deref(),
    )
    .map_err(|e| match &config.target_ca_pem {
        Some(_) => PreflightError::new(e, "check the CA of the --image container"),
        None => PreflightError::new(e, "report this as a bug"),
    })?;
    let accounts = AccountClient {
        http: &http,
        base: config.target.clone(),
        timeout: config.timeout,
    };
    let mut api = client_api::probe(config, &accounts, ledger).await?;
    let selected = plan::select(
        &suite,
        &config.profiles,
        &api.version_basis(config.spec_override),
        config.quick,
        &config.selection,
    );
    let needs = plan::needs_of(&selected);
    let user = accounts::user(config, &accounts, ledger).await?;
    let extra = accounts::extra(
        &accounts,
        &user,
        &needs,
        api.server_version.as_deref(),
        ledger,
    )
    .await;
    let page = previews::start_page(config, &needs, ledger).await;
    let mut session = new_session(&http, config, &suite, &user);
    federation::discover(config, &needs, &mut session, ledger).await;
    client_api::identify(&mut api, &mut session).await;
    previews::probe(&mut session, page.as_ref(), &needs, &user.account, ledger).await;
    endpoints::probe_deprecated(&session, &user.account, ledger).await;
    endpoints::probe_implemented(&mut session, api.newest(config.spec_override), ledger).await;
    extra.into_session(&mut session, user.account);
    federation::probe_api(&session, &needs, ledger).await;
    let peer =
        federation::key_server_and_peer(config, &mut session, &selected, &needs, ledger).await;
    let planned = plan::apply_capabilities(selected, ledger.unavailable());
    media::upload(&suite, &mut session, &planned, ledger).await;
    ledger.emit(Event::RunStarted {
        target: api.target_info(config, session.server_name.clone()),
        planned: planned.len(),
        preflight: started.elapsed(),
    });
    Ok(Prepared {
        session,
        planned,
        started,
        page,
        peer,
    })
}

/// The session the cases share, with the template values known so far.
fn new_session(
    http: &HttpClient,
    config: &RunConfig,
    suite: &Suite,
    user: &accounts::User,
) -> Session {
    let mut session = Session::new(
        http.clone(),
        config.target.clone(),
        user.server_name.clone(),
        config.timeout,
        suite.media.clone(),
    );
    session
        .base_vars
        .insert("server_name".into(), user.server_name.clone());
    session.federation_base = config
        .federation
        .federation_url
        .as_deref()
        .map(|url| url.trim_end_matches('/').to_string())
        .unwrap_or_default();
    session
        .base_vars
        .insert("user_id".into(), user.account.user_id.clone());
    session
        .base_vars
        .insert("mock_server_name".into(), "mediaconf-peer.invalid".into());
    session
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_cases_repeat_is_its_first_clause() {
        assert_eq!(
            short_why(
                "URL previews are not served: M_UNRECOGNIZED (or off): GET http://x answered 404 {\"errcode\":…}"
            ),
            "URL previews are not served: M_UNRECOGNIZED"
        );
        assert_eq!(
            short_why(
                "the target refused our signed request and never fetched our key (GET … answered 401): the target must reach …"
            ),
            "the target refused our signed request and never fetched our key"
        );
        assert_eq!(
            short_why("--user-token gives one account"),
            "--user-token gives one account"
        );
        let long = "word ".repeat(60);
        let short = short_why(&long);
        assert!(
            short.chars().count() <= MAX_WHY + 1 && short.ends_with('…'),
            "{short}"
        );
    }
}
