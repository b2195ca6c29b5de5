//! Which endpoints the target serves: the "unrecognized endpoint" answer every stage and case
//! recognises, and stage "deprecated endpoints" (a note when `/_matrix/media/v3/*` is off;
//! nothing is made unavailable, the freeze cases judge that answer).

use super::Ledger;
use crate::client::Account;
use crate::exchange::RecordedResponse;
use crate::run::session::Session;

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
    let req = crate::client::OutgoingRequest {
        method: "GET".into(),
        url: format!("{}/_matrix/media/v3/config", session.base),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        body: Default::default(),
        timeout: session.timeout,
    };
    let ex = session.http.send(req, false).await;
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
