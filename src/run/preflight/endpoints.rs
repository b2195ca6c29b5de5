//! Which endpoints the target serves: the "unrecognized endpoint" answer every stage and case
//! recognises; stage "endpoints", which decides once per media endpoint of an advertised
//! version whether it is implemented (a case that then meets the endpoint's `M_UNRECOGNIZED`
//! is blocked by that one finding, and the endpoint's own existence case fails on it); and
//! stage "deprecated endpoints" (a note when `/_matrix/media/v3/*` is off; nothing is made
//! unavailable, the freeze cases judge that answer).

use super::Ledger;
use crate::client::Account;
use crate::exchange::RecordedResponse;
use crate::outcome::SetUpProblem;
use crate::run::session::{NotServed, Session};
use crate::spec_version::SpecVersion;

/// The media endpoints probed, as (method, path pattern, the request path's tail after the
/// base with `{server}` for the server name, the spec version that added it).
const ENDPOINTS: &[(&str, &str, &str, &str)] = &[
    (
        "GET",
        "/_matrix/client/v1/media/download/*/*",
        "/_matrix/client/v1/media/download/{server}/mediaconfProbe",
        "v1.11",
    ),
    (
        "GET",
        "/_matrix/client/v1/media/download/*/*/*",
        "/_matrix/client/v1/media/download/{server}/mediaconfProbe/probe.png",
        "v1.11",
    ),
    (
        "GET",
        "/_matrix/client/v1/media/thumbnail/*/*",
        "/_matrix/client/v1/media/thumbnail/{server}/mediaconfProbe?width=32&height=32",
        "v1.11",
    ),
    (
        "GET",
        "/_matrix/client/v1/media/config",
        "/_matrix/client/v1/media/config",
        "v1.11",
    ),
    (
        "POST",
        "/_matrix/media/v3/upload",
        "/_matrix/media/v3/upload",
        "v1.1",
    ),
    (
        "POST",
        "/_matrix/media/v1/create",
        "/_matrix/media/v1/create",
        "v1.7",
    ),
    (
        "PUT",
        "/_matrix/media/v3/upload/*/*",
        "/_matrix/media/v3/upload/{server}/mediaconfProbe",
        "v1.7",
    ),
];

/// Stage "endpoints": one unauthenticated request to each media endpoint of a version `newest`
/// covers; each that answers `M_UNRECOGNIZED` (404 or 405, or a bare 404) is recorded as not
/// implemented, with one preflight line naming them.
pub async fn probe_implemented(
    session: &mut Session,
    newest: Option<SpecVersion>,
    ledger: &mut Ledger<'_>,
) {
    let mut missing = Vec::new();
    for (method, pattern, tail, since) in ENDPOINTS {
        let since: SpecVersion = match since.parse() {
            Ok(v) => v,
            Err(_) => continue,
        };
        if newest.is_none_or(|n| n < since) {
            continue;
        }
        let request = crate::client::OutgoingRequest {
            method: (*method).into(),
            url: format!(
                "{}{}",
                session.base,
                tail.replace("{server}", &session.server_name)
            ),
            headers: Vec::new(),
            body: Default::default(),
            timeout: session.timeout,
        };
        let exchange = session.http.send(request, false).await;
        let Some(response) = exchange.ok().filter(|r| is_unrecognized_endpoint(r)) else {
            continue;
        };
        let why = format!(
            "{method} {pattern} answered {} {} to an unauthenticated request (an endpoint of {since} the target advertises)",
            response.status,
            errcode_of(response).unwrap_or_default()
        );
        let served = NotServed {
            method: Some((*method).into()),
            path: (*pattern).into(),
            problem: SetUpProblem {
                by: "endpoint not implemented".into(),
                why: why.clone(),
                need: None,
            },
        };
        missing.push(format!("{method} {pattern}"));
        session.not_served.push(served);
    }
    if !missing.is_empty() {
        ledger.report(
            "endpoints",
            false,
            format!(
                "not implemented (M_UNRECOGNIZED to an unauthenticated request): {}; the cases that need them are blocked, the A-01 existence cases judge them",
                missing.join(", ")
            ),
        );
    }
}

/// Stage "deprecated endpoints": reports when they seem switched off.
pub async fn probe_deprecated(session: &Session, user: &Account, ledger: &mut Ledger<'_>) {
    if let Some(answer) = deprecated_answer(session, &user.access_token).await {
        ledger.report("deprecated endpoints", false, answer);
    }
}

/// Whether the deprecated `/_matrix/media/v3/*` endpoints are switched off: `Some(answer)` when
/// an authenticated `GET /_matrix/media/v3/config` is refused with 403 or not served (a server
/// may remove them; the freeze cases then see that answer, which the preflight line explains).
async fn deprecated_answer(session: &Session, token: &str) -> Option<String> {
    let ex = session
        .get_as(format!("{}/_matrix/media/v3/config", session.base), token)
        .await;
    let r = ex.response.as_ref().ok()?;
    (r.status == 403 || is_unrecognized_endpoint(r)).then(|| {
        format!(
            "the deprecated /_matrix/media/v3/* endpoints seem switched off: {} answered {} {}",
            ex.request.line(),
            crate::check::status::describe_status(r),
            crate::check::body_excerpt(&r.body, r.body_len, 120)
        )
    })
}

/// `404 M_UNRECOGNIZED` (Synapse with previews off) or `403 M_FORBIDDEN` (MSC4452).
pub fn previews_disabled_answer(r: &RecordedResponse) -> bool {
    is_unrecognized_endpoint(r)
        || (r.status == 403 && errcode_of(r).as_deref() == Some("M_FORBIDDEN"))
}

pub fn errcode_of(r: &RecordedResponse) -> Option<String> {
    r.json().and_then(|j| {
        j.get("errcode")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    })
}

/// The answer of a server that does not serve an endpoint: 404 or 405 with `M_UNRECOGNIZED`
/// (the spec's answer for unknown endpoints), or with no Matrix error body at all.
pub fn is_unrecognized_endpoint(r: &RecordedResponse) -> bool {
    matches!(r.status, 404 | 405) && errcode_of(r).is_none_or(|e| e == "M_UNRECOGNIZED")
}
