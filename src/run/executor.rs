//! The run: preflight (target reachable, versions, accounts, previews, media), planning with
//! capabilities, parallel case execution under a deadline, and the baseline applied to verdicts.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use super::case::run_case;
use super::config::{AccountSource, RunConfig};
use super::event::{Event, PreflightItem, TargetInfo};
use super::preflight::{
    FederationSetup, PreviewProbe, probe_deprecated_endpoints, probe_federation_api,
    probe_previews, setup_federation,
};
use super::preview_page::PreviewPage;
use super::session::{NotServed, Session};
use crate::client::{AccountClient, HttpClient};
use crate::outcome::{Outcome, SetUpProblem, Summary, Verdict};
use crate::peer::Peer;
use crate::plan::{self, Planned, VersionBasis};
use crate::spec_version::AdvertisedVersions;
use crate::suite::Suite;
use crate::suite::model::{Account as MediaOwner, Need};

/// A reason the run cannot start, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}\n  fix: {fix}")]
pub struct PreflightError {
    pub message: String,
    pub fix: String,
}

/// Records that `need` is unavailable because of `by` (a preflight item or flag).
fn mark(unavailable: &mut BTreeMap<Need, SetUpProblem>, need: Need, by: &str, why: String) {
    unavailable.insert(
        need,
        SetUpProblem {
            by: by.to_string(),
            why,
            need: Some(need.to_string()),
        },
    );
}

/// One preflight line (a probe, an account, the key server) for the reports.
fn preflight(on_event: &mut (dyn FnMut(Event) + Send), name: &str, ok: bool, detail: String) {
    on_event(Event::Preflight(PreflightItem {
        name: name.to_string(),
        ok,
        detail,
    }));
}

/// A preflight check failed: says so, and makes `needs` unavailable for that reason (`by` is
/// `preflight <label>`).
fn unavailable_after(
    on_event: &mut (dyn FnMut(Event) + Send),
    unavailable: &mut BTreeMap<Need, SetUpProblem>,
    label: &str,
    needs: &[Need],
    reason: String,
) {
    preflight(on_event, label, false, reason.clone());
    for need in needs {
        mark(
            unavailable,
            *need,
            &format!("preflight {label}"),
            reason.clone(),
        );
    }
}

fn preflight_error(message: impl Into<String>, fix: impl Into<String>) -> PreflightError {
    PreflightError {
        message: message.into(),
        fix: fix.into(),
    }
}

/// Runs the suite against the target. Events go to `on_event` in order; the verdicts come back
/// in plan order.
pub async fn execute(
    config: RunConfig,
    suite: Suite,
    on_event: &mut (dyn FnMut(Event) + Send),
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<Verdict>, RunError> {
    let prepared = tokio::select! {
        prepared = prepare(&config, suite, on_event) => prepared.map_err(RunError::Preflight)?,
        () = interrupted(&mut interrupt) => return Err(RunError::Interrupted),
    };
    Ok(run_cases(&config, prepared, on_event, interrupt).await)
}

/// Why a run produced no verdicts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Preflight(PreflightError),
    /// SIGINT or SIGTERM arrived before the first case started.
    #[error("interrupted during preflight (no case had started)")]
    Interrupted,
}

/// Resolves once the interrupt flag is set (never, if its sender is gone without setting it).
async fn interrupted(interrupt: &mut tokio::sync::watch::Receiver<bool>) {
    if interrupt.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// What preflight hands to the case phase.
struct Prepared {
    session: Session,
    planned: Vec<Planned>,
    started: Instant,
    /// Kept alive for the cases; dropping them stops the servers.
    page: Option<PreviewPage>,
    peer: Option<Arc<Peer>>,
}

/// Preflight: probes, accounts, media, the plan. Ends with `RunStarted`.
async fn prepare(
    config: &RunConfig,
    suite: Suite,
    on_event: &mut (dyn FnMut(Event) + Send),
) -> Result<Prepared, PreflightError> {
    let started = Instant::now();
    let redactor = config.redactor.clone();
    for s in &config.secrets {
        redactor.add(s);
    }
    let http = HttpClient::new(config.max_body, redactor.clone(), config.insecure)
        .map_err(|e| preflight_error(e, "report this as a bug"))?;
    let accounts = AccountClient {
        http: &http,
        base: config.target.clone(),
        timeout: config.timeout,
    };

    // 1. The client API answers.
    let (versions, unstable) = accounts.versions().await.map_err(|e| {
        preflight_error(
            format!("the target's client API is not reachable: {e}"),
            format!("check --target {} (it must be the client-server base URL, e.g. http://127.0.0.1:8008)", config.target),
        )
    })?;
    if versions
        .iter()
        .all(|v| v.parse::<crate::spec_version::SpecVersion>().is_err())
        && config.spec_override.is_none()
    {
        return Err(preflight_error(
            format!(
                "the target advertises no spec version on /_matrix/client/versions (versions: {versions:?})"
            ),
            "the target must list versions such as \"v1.12\"; or pass --spec vX.Y to choose the rules to apply",
        ));
    }
    let server_version = accounts.server_version().await;
    let advertised = AdvertisedVersions::from_strings(versions.iter().map(String::as_str));
    let range = match (versions.first(), versions.last()) {
        (Some(a), Some(b)) if a != b => format!("spec {a}…{b}"),
        (Some(a), _) => format!("spec {a}"),
        _ => "no spec versions advertised".to_string(),
    };
    preflight(on_event, "client API", true, range);

    // 2. Which cases could run at all.
    let basis = match config.spec_override {
        Some(v) => VersionBasis::Forced(v),
        None => VersionBasis::Advertised(advertised.clone()),
    };
    let selected = plan::select(
        &suite,
        &config.profiles,
        &basis,
        config.quick,
        &config.selection,
    );
    let needs = plan::needs_of(&selected);

    // 3. Accounts.
    let mut unavailable: BTreeMap<Need, SetUpProblem> = BTreeMap::new();
    let password = format!("mc-pw-{}", std::process::id());
    redactor.add(&password);
    let session_user;
    let mut registration = None;
    match &config.account {
        AccountSource::ExistingToken(token) => {
            redactor.add(token);
            let user_id = accounts.whoami(token).await.map_err(|e| {
                preflight_error(
                    format!("--user-token was not accepted: {e}"),
                    "pass a valid access token of a user on the target",
                )
            })?;
            preflight(
                on_event,
                "user",
                true,
                format!("{user_id} (from --user-token)"),
            );
            session_user = Some(crate::client::Account {
                user_id,
                access_token: token.clone(),
                device_id: None,
            });
            let why =
                "--user-token gives one account; pass a registration method for more".to_string();
            mark(
                &mut unavailable,
                Need::OtherUser,
                "--user-token",
                why.clone(),
            );
            mark(&mut unavailable, Need::LoggedOut, "--user-token", why);
        }
        AccountSource::Register(method) => {
            let tag = format!("{:x}", std::process::id());
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0);
            let localpart = format!("mediaconf-{tag}-{nanos:x}");
            let user = accounts.register(method, &localpart, &password).await.map_err(|e| {
                preflight_error(
                    format!("registration impossible with {}: {e}", method.describe()),
                    "pass --registration-token T, --registration-shared-secret S, or --user-token TOKEN",
                )
            })?;
            preflight(
                on_event,
                "registration",
                true,
                format!("{} via {}", user.user_id, method.describe()),
            );
            session_user = Some(user);
            registration = Some((method.clone(), localpart));
        }
    }
    let user =
        session_user.ok_or_else(|| preflight_error("no user account", "report this as a bug"))?;
    let server_name = match &config.server_name {
        Some(s) => s.clone(),
        None => user
            .user_id
            .split_once(':')
            .map(|(_, s)| s.to_string())
            .ok_or_else(|| {
                preflight_error(
                    format!(
                        "cannot derive the server name from user id {}",
                        user.user_id
                    ),
                    "pass --server-name",
                )
            })?,
    };
    // The extra accounts are independent: made concurrently.
    let make_other = async {
        match &registration {
            Some((method, localpart)) if needs.contains(&Need::OtherUser) => Some(
                accounts
                    .register(method, &format!("{localpart}-other"), &password)
                    .await,
            ),
            _ => None,
        }
    };
    let make_logged_out = async {
        match &registration {
            Some((method, localpart)) if needs.contains(&Need::LoggedOut) => Some(
                match accounts
                    .register(method, &format!("{localpart}-out"), &password)
                    .await
                {
                    Ok(a) => accounts
                        .logout(&a.access_token)
                        .await
                        .map(|()| a.access_token),
                    Err(e) => Err(e),
                },
            ),
            _ => None,
        }
    };
    let make_guest = async {
        if needs.contains(&Need::Guest) {
            Some(accounts.register_guest().await)
        } else {
            None
        }
    };
    let (other, logged_out, guest_result) = tokio::join!(make_other, make_logged_out, make_guest);
    let mut other_user = None;
    match other {
        Some(Ok(a)) => other_user = Some(a),
        Some(Err(e)) => {
            preflight(on_event, "second user", false, e.clone());
            mark(
                &mut unavailable,
                Need::OtherUser,
                "preflight second user",
                format!("registering a second user failed: {e}"),
            );
        }
        None => {}
    }
    let mut logged_out_token = None;
    match logged_out {
        Some(Ok(t)) => logged_out_token = Some(t),
        Some(Err(e)) => {
            preflight(on_event, "logged-out token", false, e.clone());
            mark(
                &mut unavailable,
                Need::LoggedOut,
                "preflight logged-out token",
                format!("making a logged-out token failed: {e}"),
            );
        }
        None => {}
    }
    let mut guest = None;
    match guest_result {
        Some(Ok(g)) => {
            preflight(on_event, "guest registration", true, g.user_id.clone());
            guest = Some(g);
        }
        Some(Err(e)) => {
            preflight(on_event, "guest registration", false, e.clone());
            mark(
                &mut unavailable,
                Need::Guest,
                "preflight guest registration",
                format!(
                    "guest registration is not available on the target ({e}); for Synapse: allow_guest_access: true"
                ),
            );
        }
        None => {}
    }

    // 4. The preview page and whether previews work.
    let mut page = None;
    if needs.contains(&Need::PreviewPage) || needs.contains(&Need::Previews) {
        match PreviewPage::start(config.preview_listen).await {
            Ok(p) => page = Some(p),
            Err(e) => {
                let why = format!(
                    "cannot serve the preview page on {}: {e} (pass --preview-listen with a free address)",
                    config.preview_listen
                );
                preflight(on_event, "preview page", false, why.clone());
                mark(
                    &mut unavailable,
                    Need::PreviewPage,
                    "preflight preview page",
                    why.clone(),
                );
                mark(
                    &mut unavailable,
                    Need::Previews,
                    "preflight preview page",
                    why,
                );
            }
        }
    }
    let mut session = Session::new(
        http.clone(),
        config.target.clone(),
        server_name.clone(),
        config.timeout,
        suite.media.clone(),
    );
    session
        .base_vars
        .insert("server_name".into(), server_name.clone());
    let reaches_federation = needs
        .iter()
        .any(|n| matches!(n, Need::FederationApi | Need::Federation | Need::MockPeer));
    session.federation_base = match &config.federation.federation_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None if reaches_federation => {
            let found = discover_federation(config, &server_name, &mut session).await;
            preflight(on_event, "federation discovery", true, found);
            session.federation_base.clone()
        }
        None => String::new(),
    };
    session
        .base_vars
        .insert("user_id".into(), user.user_id.clone());
    session
        .base_vars
        .insert("mock_server_name".into(), "mediaconf-peer.invalid".into());
    if let Some(p) = &page {
        session.base_vars.insert("preview_url".into(), p.page_url());
        session
            .base_vars
            .insert("preview_url_absolute".into(), p.absolute_page_url());
        session
            .base_vars
            .insert("preview_image_url".into(), p.image_url());
        if needs.contains(&Need::Previews) {
            match probe_previews(&session, &user.access_token, &p.page_url()).await {
                PreviewProbe::Previewed => preflight(
                    on_event,
                    "URL previews",
                    true,
                    format!("the target previewed {} (og:title seen)", p.page_url()),
                ),
                PreviewProbe::Answered(what) => preflight(on_event, "URL previews", false, what),
                PreviewProbe::NotServed(why) => {
                    preflight(on_event, "URL previews", false, why.clone());
                    let problem = SetUpProblem {
                        by: "preflight URL previews".into(),
                        why: why.clone(),
                        need: Some(Need::Previews.to_string()),
                    };
                    for prefix in [
                        "/_matrix/client/v1/media/preview_url",
                        "/_matrix/media/v3/preview_url",
                    ] {
                        session.not_served.push(NotServed {
                            path_prefix: prefix.into(),
                            problem: problem.clone(),
                        });
                    }
                    mark(
                        &mut unavailable,
                        Need::Previews,
                        "preflight URL previews",
                        why,
                    );
                }
            }
        }
    } else {
        session.base_vars.insert(
            "preview_url".into(),
            "http://127.0.0.1:9/unavailable".into(),
        );
        session.base_vars.insert(
            "preview_image_url".into(),
            "http://127.0.0.1:9/unavailable".into(),
        );
        session.base_vars.insert(
            "preview_url_absolute".into(),
            "http://127.0.0.1:9/unavailable".into(),
        );
    }
    if let Some(answer) = probe_deprecated_endpoints(&session, &user.access_token).await {
        preflight(on_event, "deprecated endpoints", false, answer);
    }
    session.user = Some(user);
    session.other_user = other_user;
    session.guest = guest;
    session.logged_out_token = logged_out_token;

    // 4b. Federation: our signing key, our key server, and one signed request.
    let mut peer_handle: Option<Arc<Peer>> = None;
    if needs.contains(&Need::FederationApi)
        && let Err(reason) = probe_federation_api(&session).await
    {
        unavailable_after(
            on_event,
            &mut unavailable,
            "federation API",
            &[Need::FederationApi, Need::Federation],
            reason,
        );
    }
    let wants_federation =
        needs.contains(&Need::Federation) && !unavailable.contains_key(&Need::Federation);
    // The peer is probed only for cases nothing else keeps from running.
    let wants_peer = selected.iter().any(|p| match p {
        Planned::Run(c) => {
            c.needs.contains(&Need::MockPeer)
                && !c.needs.iter().any(|n| unavailable.contains_key(n))
        }
        Planned::Skip(..) | Planned::NotRun(..) => false,
    });
    if wants_federation || wants_peer {
        let ca_key = crate::peer::server::ca_key_path(&config.federation.ca_out);
        for (path, what) in [
            (config.federation.signing_key.as_path(), "the signing key"),
            (ca_key.as_path(), "the key server's CA key"),
        ] {
            if let Some(warning) = super::preflight::readable_by_others(path, what) {
                preflight(on_event, "key files", false, warning);
            }
        }
        let key_existed = config.federation.signing_key.exists();
        match super::preflight::start_key_server(
            &config.federation,
            &session.server_name,
            &session.federation_base,
            session.http.redactor(),
        )
        .await
        {
            Err(reason) => unavailable_after(
                on_event,
                &mut unavailable,
                "federation",
                &[Need::Federation, Need::MockPeer],
                reason,
            ),
            Ok((peer, context)) => {
                session.peer = Some(peer.clone());
                session
                    .base_vars
                    .insert("mock_server_name".into(), peer.server_name().to_owned());
                if wants_federation {
                    match setup_federation(
                        &config.federation,
                        &session,
                        &peer,
                        &context,
                        key_existed,
                    )
                    .await
                    {
                        Ok(setup) => {
                            let (verified, detail) = match setup {
                                FederationSetup::Verified(d) => (true, d),
                                FederationSetup::Unverified(d) => (false, d),
                            };
                            preflight(on_event, "federation", verified, detail);
                            session.federation = Some(context);
                        }
                        Err(reason) => unavailable_after(
                            on_event,
                            &mut unavailable,
                            "federation",
                            &[Need::Federation],
                            reason,
                        ),
                    }
                }
                if wants_peer {
                    let token = session.user.as_ref().map(|u| u.access_token.clone());
                    let probed = match token {
                        Some(t) => super::preflight::probe_remote(&session, &peer, &t).await,
                        None => Err("no user account to ask the target for remote media".into()),
                    };
                    match probed {
                        Ok(detail) => preflight(on_event, "mock peer", true, detail),
                        Err(reason) => unavailable_after(
                            on_event,
                            &mut unavailable,
                            "mock peer",
                            &[Need::MockPeer],
                            reason,
                        ),
                    }
                }
                peer_handle = Some(peer);
            }
        }
    }

    let planned = plan::apply_capabilities(selected, &unavailable);

    // 5. Media the runnable cases use.
    let wanted: BTreeSet<String> = planned
        .iter()
        .filter_map(|p| match p {
            Planned::Run(c) => Some(c.media.iter().cloned()),
            Planned::Skip(..) | Planned::NotRun(..) => None,
        })
        .flatten()
        .collect();
    let mut media_ok = 0;
    // Uploaded concurrently: they are independent, and a run should not wait for each in turn.
    let uploads = wanted.iter().filter_map(|name| {
        let def = suite.media.get(name)?;
        let owner = match def.spec.owner {
            MediaOwner::User => session.user.clone(),
            MediaOwner::OtherUser => session.other_user.clone(),
        };
        let session = &session;
        Some(async move {
            let result = match owner {
                Some(account) => session.prepare_media(def, &account).await,
                None => Err(format!(
                    "media `{name}` needs an account this run does not have"
                )),
            };
            (name.clone(), result)
        })
    });
    let results = futures_util::future::join_all(uploads).await;
    for (name, result) in results {
        if let Err(e) = &result {
            preflight(on_event, "media", false, e.clone());
        } else {
            media_ok += 1;
        }
        session.media.insert(name, result);
    }
    preflight(
        on_event,
        "media",
        media_ok == wanted.len(),
        format!("{media_ok}/{} uploaded or created", wanted.len()),
    );

    let target_info = TargetInfo {
        url: config.target.clone(),
        server_name,
        server_version,
        versions,
        spec_override: config.spec_override.map(|v| v.to_string()),
        unstable_features: unstable
            .as_object()
            .map(|o| {
                o.iter()
                    .filter(|(_, v)| v.as_bool() == Some(true))
                    .map(|(k, _)| k.clone())
                    .collect()
            })
            .unwrap_or_default(),
    };
    on_event(Event::RunStarted {
        target: target_info,
        planned: planned.len(),
        preflight: started.elapsed(),
    });
    Ok(Prepared {
        session,
        planned,
        started,
        page,
        peer: peer_handle,
    })
}

/// The cases, in parallel, under the deadline; on an interrupt, unfinished cases are marked
/// `interrupted` at once and the verdicts still come back (so reports are written).
async fn run_cases(
    config: &RunConfig,
    prepared: Prepared,
    on_event: &mut (dyn FnMut(Event) + Send),
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> Vec<Verdict> {
    let Prepared {
        session,
        planned,
        started,
        page,
        peer: peer_handle,
    } = prepared;
    let session = Arc::new(session);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(config.jobs.max(1)));
    let deadline = started + config.deadline;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Verdict)>();
    let mut verdicts: Vec<Option<Verdict>> = vec![None; planned.len()];
    // Every case by plan index, to report the ones an interrupt leaves unfinished.
    let cases: Vec<Arc<crate::suite::Case>> =
        planned.iter().map(|p| Arc::clone(p.case())).collect();
    let mut tasks = Vec::new();
    let mut done = vec![false; cases.len()];
    let mut serial = Vec::new();
    // Cases that change shared state (our keys, the target's backoff from the peer) run one at
    // a time once every case they could disturb has finished: all but the slow client-only
    // cases (C-21, C-22 only wait on the target), whose wait the serial chain then overlaps.
    let disturbable = |case: &crate::suite::Case| {
        !case.serial
            && (case.slow.is_none()
                || case
                    .needs
                    .iter()
                    .any(|n| matches!(n, Need::Federation | Need::FederationApi | Need::MockPeer)))
    };
    let blockers_left = Arc::new(std::sync::atomic::AtomicUsize::new(
        planned
            .iter()
            .filter(|p| matches!(p, Planned::Run(c) if disturbable(c)))
            .count(),
    ));
    let blockers_done = Arc::new(tokio::sync::Notify::new());
    if blockers_left.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        blockers_done.notify_one();
    }
    // Cases that wait on purpose start first, longest wait first, so the rest overlaps them.
    let mut order: Vec<(usize, Planned)> = planned.into_iter().enumerate().collect();
    order.sort_by_key(|(_, p)| match p {
        Planned::Run(c) => std::cmp::Reverse(c.slow.unwrap_or_default()),
        _ => std::cmp::Reverse(std::time::Duration::ZERO),
    });
    for (index, p) in order {
        match p {
            Planned::Run(case) if case.serial => serial.push((index, case)),
            Planned::Skip(case, reason) => {
                let _ = tx.send((index, Verdict::skipped(&case, reason)));
            }
            Planned::NotRun(case, problem) => {
                let _ = tx.send((index, Verdict::not_run(&case, problem, false)));
            }
            Planned::Run(case) => {
                let session = session.clone();
                let semaphore = semaphore.clone();
                let tx = tx.clone();
                let blocks_serial = disturbable(&case);
                let (blockers_left, blockers_done) = (blockers_left.clone(), blockers_done.clone());
                // Every case is spawned at once and most wait for a permit: the case's own
                // future (large) is boxed only once it runs, so waiting tasks stay small and the
                // memory of finished cases is reused instead of touching fresh pages.
                tasks.push(tokio::spawn(async move {
                    let permit = semaphore.acquire_owned().await;
                    let verdict = if permit.is_err() {
                        deadline_verdict(&case, DEADLINE_BEFORE_START)
                    } else {
                        Box::pin(run_before_deadline(session, case, started, deadline)).await
                    };
                    let _ = tx.send((index, verdict));
                    if blocks_serial
                        && blockers_left.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1
                    {
                        blockers_done.notify_one();
                    }
                }));
            }
        }
    }
    // The serial chain: one case at a time, each within the deadline.
    {
        let session = session.clone();
        let tx = tx.clone();
        tasks.push(tokio::spawn(async move {
            blockers_done.notified().await;
            for (index, case) in serial {
                let verdict = Box::pin(run_before_deadline(
                    session.clone(),
                    case,
                    started,
                    deadline,
                ))
                .await;
                let _ = tx.send((index, verdict));
            }
        }));
    }
    drop(tx);
    let mut released = 0usize;
    let mut finish =
        |index: usize, mut verdict: Verdict, on_event: &mut (dyn FnMut(Event) + Send)| {
            let (outcome, baseline_reason) = config.baseline.apply(&verdict.id, verdict.outcome);
            if let Some(reason) = baseline_reason {
                verdict.reason = match outcome {
                    Outcome::UnexpectedPass => format!(
                        "listed in the baseline ({reason}) but passed: remove it from the baseline"
                    ),
                    _ if verdict.reason.is_empty() => format!("baseline: {reason}"),
                    _ => format!("{} [baseline: {reason}]", verdict.reason),
                };
            }
            verdict.outcome = outcome;
            on_event(Event::CaseCompleted {
                id: verdict.id.clone(),
            });
            if let Some(slot) = verdicts.get_mut(index) {
                *slot = Some(verdict);
            }
            // Reports see verdicts in plan order, whatever order the cases finished in.
            while let Some(Some(v)) = verdicts.get(released) {
                on_event(Event::CaseFinished(Box::new(v.clone())));
                released += 1;
            }
        };
    let mut stopped = *interrupt.borrow();
    while !stopped {
        tokio::select! {
            message = rx.recv() => match message {
                Some((index, verdict)) => {
                    done[index] = true;
                    finish(index, verdict, on_event);
                }
                None => break,
            },
            () = interrupted(&mut interrupt) => stopped = true,
        }
    }
    if stopped {
        // Stop every case still running (their requests are dropped with them), then report
        // each unfinished case as interrupted, in plan order.
        for task in &tasks {
            task.abort();
        }
        while let Ok((index, verdict)) = rx.try_recv() {
            done[index] = true;
            finish(index, verdict, on_event);
        }
        for (index, case) in cases.iter().enumerate() {
            if !done[index] {
                let mut v = Verdict::skipped(
                    case,
                    "interrupted (SIGINT or SIGTERM) before the case finished",
                );
                v.outcome = Outcome::Interrupted;
                finish(index, v, on_event);
            }
        }
    }
    drop(page);
    drop(peer_handle);
    let verdicts: Vec<Verdict> = verdicts.into_iter().flatten().collect();
    on_event(Event::RunFinished {
        summary: Summary::of(&verdicts),
        elapsed: started.elapsed(),
        causes: crate::rootcause::root_causes(&verdicts),
    });
    verdicts
}

/// Finds the target's federation API from its server name (server discovery), sets it as the
/// session's federation base, and returns what was found, for the preflight line. When SRV
/// names another host, the session's client connects there under the server name.
async fn discover_federation(
    config: &RunConfig,
    server_name: &str,
    session: &mut Session,
) -> String {
    let lookup = super::discovery::NetLookup::new(session.http.clone(), config.timeout);
    let found = super::discovery::resolve(server_name, &lookup).await;
    session.federation_base = found.url.clone();
    let mut detail = format!("{} ({})", found.url, found.how);
    if let Some((host, port)) = &found.connect_to {
        match tokio::net::lookup_host((host.as_str(), *port)).await {
            Ok(addrs) => {
                let addrs: Vec<std::net::SocketAddr> = addrs.collect();
                match session.http.with_resolve(&found.tls_name, &addrs) {
                    Ok(http) => session.http = http,
                    Err(e) => detail.push_str(&format!("; {e}")),
                }
            }
            Err(e) => detail.push_str(&format!("; {host} does not resolve: {e}")),
        }
    }
    detail
}

const DEADLINE_BEFORE_START: &str =
    "not run: the run deadline passed before this case started (raise --deadline)";

/// A failed verdict for a case the run deadline cut off.
fn deadline_verdict(case: &crate::suite::Case, reason: &str) -> Verdict {
    let mut v = Verdict::skipped(case, reason);
    v.outcome = Outcome::Failed;
    v
}

/// Runs `case` unless the deadline has passed, stopping it (5 s of grace) at the deadline;
/// the verdict records when it started, relative to the run.
async fn run_before_deadline(
    session: Arc<Session>,
    case: Arc<crate::suite::Case>,
    started: Instant,
    deadline: Instant,
) -> Verdict {
    if Instant::now() >= deadline {
        return deadline_verdict(&case, DEADLINE_BEFORE_START);
    }
    let offset = started.elapsed();
    let grace =
        deadline.saturating_duration_since(Instant::now()) + std::time::Duration::from_secs(5);
    match tokio::time::timeout(grace, run_case(session, Arc::clone(&case))).await {
        Ok(mut v) => {
            v.started_at = offset;
            v
        }
        Err(_) => deadline_verdict(&case, "stopped at the run deadline (raise --deadline)"),
    }
}
