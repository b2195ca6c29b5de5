//! Running one case: expanding templates, adding credentials, sending each step, judging it with
//! the checks, capturing values for later steps, and building the verdict.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::session::Session;
use super::step_request::{build_request, expand_json};
use crate::check::{self, CheckContext};
use crate::client::OutgoingRequest;
use crate::exchange::Exchange;
use crate::outcome::{Finding, Outcome, SetUpProblem, StepReport, Verdict, outcome_for};
use crate::suite::Case;
use crate::suite::model::{AuthMode, PeerAction, StepSpec};
use crate::template;

/// Headers worth showing in a failure, besides those the case checked.
const SHOWN_HEADERS: &[&str] = &[
    "content-type",
    "content-disposition",
    "location",
    "content-length",
];

/// Runs every step of a case and judges it: set-up (template values), each step's exchange
/// and judgement, the background steps, then the verdict.
pub async fn run_case(session: Arc<Session>, case: Arc<Case>) -> Verdict {
    let started = Instant::now();
    let (mut vars, peer_media_id) = match case_vars(&session, &case) {
        Ok(set_up) => set_up,
        Err((media, why)) => {
            let mut verdict = setup_failure(&case, &media, why, started);
            // Media that could not be made because its endpoint is missing: that cause.
            verdict.cause = session
                .not_served
                .iter()
                .find(|n| verdict.reason.contains(&n.problem.why))
                .map(crate::run::session::NotServed::cause);
            return verdict;
        }
    };
    let mut run = StepsRun {
        session: &session,
        case: &case,
        peer_media_id,
        background: Vec::new(),
        reports: Vec::new(),
        stopped: false,
        blocker: None,
        keys_expired: false,
        not_applicable: None,
        endpoint_cause: None,
    };
    for (index, step) in case.steps.iter().enumerate() {
        if run.step(index, step, &mut vars).await.is_break() {
            break;
        }
    }
    run.finish_background(&vars).await;
    if run.keys_expired
        && let Some(f) = &session.federation
    {
        f.keys.set_expired(false);
    }
    let mut verdict = run.verdict();
    verdict.duration = started.elapsed();
    verdict
}

/// A case's template values and its fresh media ID on the mock peer.
type CaseVars = (BTreeMap<String, String>, Option<String>);

/// The case's template values: the session's, its media, a unique value, a fresh media ID on
/// the mock peer (returned too) and the time. `Err` names a media item that is not there.
fn case_vars(session: &Session, case: &Case) -> Result<CaseVars, (String, String)> {
    let mut vars = session.base_vars.clone();
    for name in &case.media {
        match session.media.get(name) {
            Some(Ok(m)) => {
                vars.insert(format!("media.{name}.id"), m.id.clone());
                vars.insert(format!("media.{name}.server"), m.server.clone());
                vars.insert(
                    format!("media.{name}.mxc"),
                    format!("mxc://{}/{}", m.server, m.id),
                );
            }
            Some(Err(e)) => return Err((name.clone(), e.clone())),
            None => {
                return Err((name.clone(), "it was not prepared in preflight".to_string()));
            }
        }
    }
    vars.insert("unique".into(), session.unique());
    // A fresh media ID on the mock peer: the target has never seen it, so nothing it cached
    // or backed off from in another case applies.
    let peer_media_id = case
        .peer_scenario
        .as_ref()
        .map(|scenario| format!("{scenario}_{}", session.unique()));
    if let Some(id) = &peer_media_id {
        vars.insert("peer_media_id".into(), id.clone());
    }
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    vars.insert("now_ms".into(), now_ms.to_string());
    Ok((vars, peer_media_id))
}

/// The steps of one case as they run, and what they found so far.
struct StepsRun<'a> {
    session: &'a Arc<Session>,
    case: &'a Case,
    /// The case's fresh media ID on the mock peer, when it has a scenario.
    peer_media_id: Option<String>,
    background: Vec<(StepSpec, tokio::task::JoinHandle<Exchange>)>,
    reports: Vec<StepReport>,
    /// A step failed with later steps left unsent.
    stopped: bool,
    /// Set when a failure means the rule was not tested (set-up step, endpoint not served).
    blocker: Option<SetUpProblem>,
    /// Set by `peer = "expire-keys"`; the keys are renewed when the case ends, however it ends.
    keys_expired: bool,
    /// Set when the target's answer shows the rule does not apply (`follow-location` on inline
    /// bytes): the case is skipped with this reason unless something failed.
    not_applicable: Option<String>,
    /// Set when a step hit an endpoint preflight found not implemented: the case, blocked or
    /// (the endpoint's own existence case) failed, is filed under that one cause.
    endpoint_cause: Option<String>,
}

impl StepsRun<'_> {
    /// Sends one step (or starts it in the background) and judges it; `Break` when the case
    /// stops here.
    async fn step(
        &mut self,
        index: usize,
        step: &StepSpec,
        vars: &mut BTreeMap<String, String>,
    ) -> ControlFlow<()> {
        let later_steps = index + 1 < self.case.steps.len();
        if step.delay_ms > 0 && !step.background {
            tokio::time::sleep(Duration::from_millis(step.delay_ms)).await;
        }
        self.peer_action(step);
        let request = match build_request(self.session, self.case.api, step, vars) {
            Ok(r) => r,
            Err(e) => {
                self.reports.push(unsent_report(
                    step,
                    "(not sent)",
                    "a request built from the case",
                    e,
                ));
                self.stopped = later_steps;
                return ControlFlow::Break(());
            }
        };
        if step.background {
            self.start_background(step, request);
            return ControlFlow::Continue(());
        }
        let exchange = self.exchange(step, request).await;
        if let Some(endpoint) = not_served_endpoint(self.session, &exchange) {
            self.endpoint_cause.get_or_insert_with(|| endpoint.cause());
        }
        if let Some(problem) = not_exercised(step, &exchange) {
            let mut report = judge(self.session, self.case, step, &exchange, vars);
            report.findings.clear();
            self.reports.push(report);
            self.blocker.get_or_insert(problem);
            self.stopped = later_steps;
            return ControlFlow::Break(());
        }
        let report = judge(self.session, self.case, step, &exchange, vars);
        let failed = !report.findings.is_empty();
        capture(step, &exchange, vars);
        if self.blocker.is_none() {
            self.blocker = unverifiable_signature(step, &exchange);
        }
        if failed && self.blocker.is_none() && !judges_existence(step) {
            self.blocker = not_served_blocker(self.session, &exchange).or_else(|| {
                step.setup
                    .then(|| set_up_step_problem(step, index, &report))
            });
        }
        self.reports.push(report);
        if failed {
            self.stopped = later_steps;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }

    /// `peer = …`: rotates, expires or renews our keys before the step.
    fn peer_action(&mut self, step: &StepSpec) {
        let (Some(action), Some(f)) = (step.peer, &self.session.federation) else {
            return;
        };
        match action {
            PeerAction::RotateKey => {
                f.keys.rotate();
            }
            PeerAction::ExpireKeys => {
                f.keys.rotate();
                f.keys.set_expired(true);
                self.keys_expired = true;
            }
            PeerAction::RenewKeys => f.keys.set_expired(false),
        }
    }

    fn start_background(&mut self, step: &StepSpec, request: OutgoingRequest) {
        let session = Arc::clone(self.session);
        let delay = step.delay_ms;
        let follow = step.request.follow_redirects;
        self.background.push((
            step.clone(),
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                session.http.send(request, follow).await
            }),
        ));
    }

    /// Sends the request, with what the mock peer saw and the followed `Location`.
    async fn exchange(&mut self, step: &StepSpec, request: OutgoingRequest) -> Exchange {
        let mut exchange = self
            .session
            .http
            .send(request, step.request.follow_redirects)
            .await;
        if let Some(id) = &self.peer_media_id {
            exchange.peer = self.session.peer_requests(id);
        }
        // A Location media part is followed for `follow-location` (F-07) and for any step
        // that judges the media part, which may be bytes or a Location.
        let judges_media = step.expect.multipart.is_some();
        if step.request.follow_location || judges_media {
            match follow_location(self.session, &exchange).await {
                LocationHop::Followed(hop) => exchange.location = Some(hop),
                LocationHop::Inline if step.request.follow_location => {
                    self.not_applicable = Some(
                        "the target answered with the media inline, not a Location part: the rule applies only to Location parts".to_string(),
                    );
                }
                LocationHop::NoMultipart if step.request.follow_location => {
                    self.not_applicable = Some(
                        "the answer has no media part to follow (the multipart cases say what is wrong with it)".to_string(),
                    );
                }
                LocationHop::Inline | LocationHop::NoMultipart => {}
            }
        }
        exchange
    }

    /// Waits for the background steps and judges them.
    async fn finish_background(&mut self, vars: &BTreeMap<String, String>) {
        for (step, handle) in std::mem::take(&mut self.background) {
            match handle.await {
                Ok(mut exchange) => {
                    if let Some(id) = &self.peer_media_id {
                        exchange.peer = self.session.peer_requests(id);
                    }
                    self.reports
                        .push(judge(self.session, self.case, &step, &exchange, vars));
                }
                Err(e) => self.reports.push(unsent_report(
                    &step,
                    "(background step did not finish)",
                    "a completed request",
                    e.to_string(),
                )),
            }
        }
    }

    /// The verdict: by level and findings, then not applicable, then blocked.
    fn verdict(self) -> Verdict {
        let case = self.case;
        let mut verdict = Verdict::skipped(case, "");
        let has_findings = self.reports.iter().any(|r| !r.findings.is_empty());
        verdict.outcome = outcome_for(case.level, has_findings);
        verdict.reason = reason_of(&self.reports, self.stopped);
        if case.level == crate::level::Level::Info {
            verdict.reason = if case.opt_in {
                probe_reading(&self.reports)
            } else {
                observation(&self.reports)
            };
        }
        if let Some(why) = self.not_applicable
            && !has_findings
        {
            verdict.outcome = Outcome::Skipped;
            verdict.reason = why;
        }
        let requests = match &self.peer_media_id {
            Some(id) => self.session.peer_requests(id),
            None => Vec::new(),
        };
        let fetch_path = match &self.blocker {
            None => fetch_path_blocker(case, &requests),
            Some(_) => None,
        };
        // Fetching from the deprecated endpoint first is one cause, whichever case shows it.
        let legacy_first = requests
            .first()
            .is_some_and(|r| r.path.starts_with("/_matrix/media/"));
        let no_thumbnail = self
            .blocker
            .as_ref()
            .is_some_and(|b| b.by == NO_THUMBNAIL_BY);
        verdict.cause = if legacy_first {
            Some(LEGACY_FIRST_CAUSE.to_string())
        } else if no_thumbnail {
            Some(NO_THUMBNAIL_CAUSE.to_string())
        } else {
            let first_broken = self
                .reports
                .iter()
                .find_map(|s| s.findings.first())
                .map(|f| format!("{} {}", f.check, f.actual));
            self.endpoint_cause
                .or_else(|| case.cause_of(first_broken.as_deref()))
        };
        if let Some(problem) = self.blocker.or(fetch_path) {
            verdict.outcome = Outcome::Blocked;
            verdict.reason = format!("blocked by {}: {}", problem.by, problem.why);
            verdict.set_up = Some(problem);
        }
        verdict.steps = self.reports;
        verdict
    }
}

/// What blocks a case whose thumbnail was not produced.
const NO_THUMBNAIL_BY: &str = "no thumbnail";

/// The cause of a thumbnail case blocked that way, the same as the D-01 cases' (which judge it).
pub const NO_THUMBNAIL_CAUSE: &str = "no thumbnail of a standard image at some sizes";

/// The step's rule was not exercised: its answer is one of `not-exercised-on` (a thumbnail
/// `400` for mediaconf's own PNG or JPEG: no thumbnail to judge).
fn not_exercised(step: &StepSpec, exchange: &Exchange) -> Option<SetUpProblem> {
    let status = exchange.ok()?.status;
    step.expect
        .not_exercised_on
        .contains(&status)
        .then(|| SetUpProblem {
            by: NO_THUMBNAIL_BY.into(),
            why: format!(
                "the target answered {status} for a thumbnail of mediaconf's own standard image, so there was nothing to judge (the D-01 cases warn about each size without a thumbnail)"
            ),
            need: None,
        })
}

/// A step that judges the target's signatures (`expect.peer.signed`) when the peer could not
/// fetch the target's key: the rule was not exercised, the case is blocked by that.
fn unverifiable_signature(step: &StepSpec, exchange: &Exchange) -> Option<SetUpProblem> {
    if !step.expect.peer.as_ref().is_some_and(|p| p.signed) {
        return None;
    }
    exchange.peer.iter().find_map(|r| match &r.signature {
        crate::exchange::SignatureVerdict::Unverifiable(why) => Some(SetUpProblem {
            by: "the mock peer's key fetch".into(),
            why: format!("the target's signature could not be judged: {why}"),
            need: None,
        }),
        _ => None,
    })
}

/// The cause of every remote case whose target asked the deprecated endpoint first.
pub const LEGACY_FIRST_CAUSE: &str = "remote media is fetched from the deprecated /_matrix/media/*/download first, not over federation";

/// Why a blocked remote case did not exercise its rule: its scenario is served over the
/// federation endpoint, and the target fetched the media from the deprecated one instead.
pub const LEGACY_FIRST: &str = "the target fetched the media from the deprecated /_matrix/media/*/download and never asked /_matrix/federation/v1/media/*, where the case's scenario is served";

/// A case with a mock-peer scenario is blocked when the target fetched its media only from
/// the deprecated endpoint, unless the case judges the fetch path itself (G-02, G-11, G-13…).
fn fetch_path_blocker(
    case: &Case,
    requests: &[crate::exchange::PeerRequest],
) -> Option<SetUpProblem> {
    let judges_fetch_path = case
        .steps
        .iter()
        .filter_map(|s| s.expect.peer.as_ref())
        .any(crate::suite::model::PeerExpect::judges_fetch_path);
    let over_federation = requests
        .iter()
        .any(|r| r.path.starts_with("/_matrix/federation/"));
    let from_legacy = requests
        .iter()
        .any(|r| r.path.starts_with("/_matrix/media/"));
    (!judges_fetch_path && !over_federation && from_legacy).then(|| SetUpProblem {
        by: "remote fetch path".into(),
        why: LEGACY_FIRST.into(),
        need: None,
    })
}

/// A step that checks the endpoint exists (`not-errcode = ["M_UNRECOGNIZED"]`) is the one that
/// judges a missing endpoint: it is never blocked by it.
fn judges_existence(step: &StepSpec) -> bool {
    step.expect
        .not_errcode
        .iter()
        .any(|e| e == "M_UNRECOGNIZED")
}

/// The report of a step whose request was not sent or not finished.
fn unsent_report(step: &StepSpec, summary: &str, expected: &str, actual: String) -> StepReport {
    StepReport {
        request_line: format!("{} {}", step.request.method, step.request.path.get_ref()),
        request_headers: Vec::new(),
        elapsed_ms: 0,
        response_summary: summary.into(),
        findings: vec![Finding::new("request", expected, actual)],
        reproduction: None,
    }
}

/// What `follow-location` found in a federation answer.
enum LocationHop {
    /// The media part is a `Location`, and this is the unauthenticated request to it.
    Followed(Box<Exchange>),
    /// A well-formed answer with the bytes inline.
    Inline,
    /// Not a multipart answer with a media part (the step's own checks say what is wrong).
    NoMultipart,
}

/// F-07: GETs the `Location` of the answer's media part, without credentials (a relative URL
/// is resolved against the request URL).
async fn follow_location(session: &Session, exchange: &Exchange) -> LocationHop {
    let Some(response) = exchange.ok().filter(|r| r.is_success()) else {
        return LocationHop::NoMultipart;
    };
    let content_type = response.header("content-type").unwrap_or("");
    let Some(media) = crate::multipart::parse_media_response(content_type, &response.body).media()
    else {
        return LocationHop::NoMultipart;
    };
    let url = match media.content {
        crate::multipart::MediaContent::Bytes { .. } => return LocationHop::Inline,
        crate::multipart::MediaContent::Location { url } => url,
    };
    let absolute = url::Url::parse(&exchange.request.url)
        .and_then(|base| base.join(&url))
        .map_or(url, |u| u.to_string());
    let request = OutgoingRequest::get(absolute, session.timeout);
    LocationHop::Followed(Box::new(session.http.send(request, true).await))
}

/// What an INFO case saw: the first finding's actual value, else the answer of the last step
/// (`observed: status: 403 M_FORBIDDEN`), never phrased as an expectation that failed.
fn observation(reports: &[StepReport]) -> String {
    let seen = reports
        .iter()
        .flat_map(|r| r.findings.iter())
        .map(|f| format!("{}: {}", f.check, f.actual))
        .next()
        .or_else(|| {
            reports.last().and_then(|r| {
                r.response_summary
                    .lines()
                    .next()
                    .map(|l| format!("answered {l}"))
            })
        });
    seen.map_or_else(String::new, |s| format!("observed: {s}"))
}

/// What a probe of an opt-in profile (MSC1902, unstable prefixes) found: `implemented`, `not
/// implemented (404 M_UNRECOGNIZED)`, `implemented with other auth (401 …)`, or the observation.
fn probe_reading(reports: &[StepReport]) -> String {
    let Some(last) = reports.last() else {
        return String::new();
    };
    let first_line = last.response_summary.lines().next().unwrap_or("");
    let status: Option<u16> = first_line
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok());
    let findings = reports.iter().any(|r| !r.findings.is_empty());
    let unrecognized = last.response_summary.contains("M_UNRECOGNIZED");
    match status {
        _ if !findings => format!("implemented (answered {first_line})"),
        Some(404 | 405) if unrecognized => "not implemented (M_UNRECOGNIZED)".to_owned(),
        Some(404) if !last.response_summary.contains("M_NOT_FOUND") => {
            format!("not implemented (answered {first_line})")
        }
        Some(401 | 403) => format!(
            "implemented with other auth (answered {})",
            observation(reports)
        ),
        _ => observation(reports),
    }
}

/// A case whose media could not be prepared did not test its rule: blocked by that media item.
fn setup_failure(case: &Case, media: &str, why: String, started: Instant) -> Verdict {
    let problem = SetUpProblem {
        by: format!("media `{media}`"),
        why,
        need: None,
    };
    let mut v = Verdict::not_run(case, problem, true);
    v.reason = format!("blocked by {}", v.reason);
    v.duration = started.elapsed();
    v
}

/// When preflight found that the endpoint a failed step used is not served (e.g.
/// `preview_url` answering `404 M_UNRECOGNIZED`) and the step got that same answer, the case is
/// blocked by that preflight finding instead of failing on it again.
fn not_served_blocker(session: &Session, exchange: &Exchange) -> Option<SetUpProblem> {
    not_served_endpoint(session, exchange).map(|n| n.problem.clone())
}

/// The endpoint preflight found not served, when the exchange went to it and got the
/// "unrecognized endpoint" answer.
fn not_served_endpoint<'a>(
    session: &'a Session,
    exchange: &Exchange,
) -> Option<&'a crate::run::session::NotServed> {
    let response = exchange.response.as_ref().ok()?;
    if !crate::run::preflight::is_unrecognized_endpoint(response) {
        return None;
    }
    let path = url::Url::parse(&exchange.request.url)
        .ok()?
        .path()
        .to_string();
    session
        .not_served
        .iter()
        .find(|n| n.matches(&exchange.request.method, &path))
}

fn set_up_step_problem(step: &StepSpec, index: usize, report: &StepReport) -> SetUpProblem {
    let name = step
        .name
        .clone()
        .unwrap_or_else(|| format!("step {}", index + 1));
    SetUpProblem {
        by: format!("set-up step `{name}`"),
        why: report
            .findings
            .first()
            .map_or_else(String::new, ToString::to_string),
        need: None,
    }
}

/// One line: the first finding of the first failing step.
fn reason_of(reports: &[StepReport], stopped: bool) -> String {
    let mut all = reports.iter().flat_map(|r| r.findings.iter());
    match all.next() {
        None => String::new(),
        Some(first) => {
            let more = all.count();
            let mut s = first.to_string();
            if more > 0 {
                s.push_str(&format!(" (+{more} more)"));
            }
            if stopped {
                s.push_str("; later steps not run");
            }
            s
        }
    }
}

fn judge(
    session: &Session,
    case: &Case,
    step: &StepSpec,
    exchange: &Exchange,
    vars: &BTreeMap<String, String>,
) -> StepReport {
    let ctx = CheckContext {
        media: &session.media_defs,
        vars,
    };
    let findings = check::check_step(&step.expect, exchange, &ctx);
    let extra: Vec<String> = step
        .expect
        .headers
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    let label = step
        .name
        .as_ref()
        .map(|n| format!("[{n}] "))
        .unwrap_or_default();
    StepReport {
        request_line: format!("{label}{}", exchange.request.line()),
        request_headers: exchange.request.headers.clone(),
        elapsed_ms: u64::try_from(exchange.elapsed.as_millis()).unwrap_or(u64::MAX),
        response_summary: summarize(exchange, &extra),
        reproduction: (!findings.is_empty())
            .then(|| reproduction(session, step, exchange, vars))
            .flatten()
            .map(|command| with_peer_note(session, case, command)),
        findings,
    }
}

/// A command that sends the same request again: `curl` with tokens as environment variables,
/// or `mediaconf request` for a signed federation request (curl cannot sign; a header spelling
/// is replayed with `--auth-variant`). `None` for deliberately mis-signed requests (flipped
/// signatures, other keys, another destination or URI), which only a run can send.
fn reproduction(
    session: &Session,
    step: &StepSpec,
    exchange: &Exchange,
    vars: &BTreeMap<String, String>,
) -> Option<String> {
    use crate::repro::{BodyShape, curl};
    if step.request.auth == AuthMode::XMatrix {
        // A header spelling is replayed with --auth-variant; other mis-signing is not.
        let variant = step
            .request
            .xmatrix
            .as_ref()
            .and_then(|x| x.variant.clone());
        let without_variant = step
            .request
            .xmatrix
            .clone()
            .map(|x| crate::suite::model::XMatrixSpec { variant: None, ..x });
        let plain =
            without_variant.is_none_or(|x| x == crate::suite::model::XMatrixSpec::default());
        let federation = session.federation.as_ref()?;
        if !plain || step.request.body.is_some() {
            return None;
        }
        let url = url::Url::parse(&exchange.request.url).ok()?;
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let variant = variant.map_or_else(String::new, |v| format!(" --auth-variant {v}"));
        return Some(format!(
            "mediaconf request --target {} --server-name {} --peer-server-name {}{variant} {} '{}'  # with this run's --signing-key, --peer-listen and --peer-ca-out",
            federation.base,
            session.server_name,
            federation.origin,
            exchange.request.method,
            path.replace('\'', "'\\''")
        ));
    }
    let token_var = match step.request.auth {
        AuthMode::OtherUser => "MEDIACONF_OTHER_TOKEN",
        AuthMode::Guest => "MEDIACONF_GUEST_TOKEN",
        AuthMode::LoggedOut => "MEDIACONF_LOGGED_OUT_TOKEN",
        _ => "MEDIACONF_TOKEN",
    };
    let body = match &step.request.body {
        None => BodyShape::None,
        Some(spec) => {
            if let Some(json) = &spec.json {
                BodyShape::Text(
                    expand_json(json, vars)
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                )
            } else if let Some(text) = &spec.text {
                BodyShape::Text(template::expand(text, vars).unwrap_or_default())
            } else if let Some(media) = &spec.media {
                let fixture = session
                    .media_defs
                    .get(media)
                    .and_then(|d| d.spec.fixture.clone())
                    .unwrap_or_else(|| media.clone());
                BodyShape::Fixture(format!("fixtures/{fixture}"))
            } else {
                BodyShape::Zeros(exchange.request.body_len)
            }
        }
    };
    let text = curl(
        &exchange.request.method,
        &exchange.request.url,
        &exchange.request.headers,
        &body,
        token_var,
    );
    Some(session.http.redactor().redact(&text))
}

/// A remote case's reproduction needs the mock peer, which stopped with the run, and a media
/// ID the target has not cached or backed off from: says how.
fn with_peer_note(session: &Session, case: &Case, command: String) -> String {
    let (Some(scenario), Some(peer)) = (&case.peer_scenario, &session.peer) else {
        return command;
    };
    let cdn_host = peer
        .cdn_host()
        .map(|h| format!(" --cdn-host {h}"))
        .unwrap_or_default();
    format!(
        "{command}\n           # the mock peer stopped with the run: start it again with `mediaconf peer --listen {} --server-name {}{cdn_host}` (this run's --signing-key and --peer-ca-out), and ask for a fresh media ID `{scenario}_<new>` instead (the target cached or backed off from this one)",
        peer.local_addr(),
        peer.server_name()
    )
}

/// Status, the relevant headers and a body excerpt.
pub fn summarize(exchange: &Exchange, extra_headers: &[String]) -> String {
    let mut out = String::new();
    for (req, resp) in &exchange.redirects {
        out.push_str(&format!(
            "{} → {} Location: {}\n",
            req.line(),
            resp.status,
            resp.header("location").unwrap_or("?")
        ));
    }
    match &exchange.response {
        Err(e) => out.push_str(&e.to_string()),
        Ok(r) => {
            out.push_str(&format!(
                "{} ({} ms)",
                r.status,
                exchange.elapsed.as_millis()
            ));
            for (name, value) in &r.headers {
                if SHOWN_HEADERS.contains(&name.as_str()) || extra_headers.contains(name) {
                    out.push_str(&format!("\n{name}: {value}"));
                }
            }
            out.push_str(&format!(
                "\n{}",
                check::body_excerpt(&r.body, r.body_len, 200)
            ));
        }
    }
    if let Some(hop) = &exchange.location {
        let answer = match &hop.response {
            Ok(r) => format!("{} ({} ms)", r.status, hop.elapsed.as_millis()),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!(
            "\nLocation followed without credentials: {} → {answer}",
            hop.request.line()
        ));
        if let Ok(r) = &hop.response {
            for (name, value) in &r.headers {
                if SHOWN_HEADERS.contains(&name.as_str()) {
                    out.push_str(&format!("\n  {name}: {value}"));
                }
            }
        }
    }
    for p in &exchange.peer {
        out.push_str(&format!(
            "\nthe mock peer received {} → {} ({})",
            p.line(),
            p.status,
            p.signature
        ));
    }
    out
}

fn capture(step: &StepSpec, exchange: &Exchange, vars: &mut BTreeMap<String, String>) {
    let Some(json) = exchange.ok().and_then(|r| r.json()) else {
        return;
    };
    for (name, spec) in &step.capture {
        let Some(value) = json.pointer(&spec.json) else {
            continue;
        };
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let captured = match &spec.regex {
            None => Some(text),
            Some(pattern) => crate::pattern::compile(pattern).ok().and_then(|re| {
                re.captures(&text).map(|c| {
                    c.get(1)
                        .or_else(|| c.get(0))
                        .map_or(String::new(), |m| m.as_str().to_string())
                })
            }),
        };
        if let Some(v) = captured {
            vars.insert(name.clone(), v);
        }
    }
}
