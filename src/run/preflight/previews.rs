//! Stages "preview page" and "URL previews": our loopback page for the preview cases, and
//! whether the target previews it. Needs the selected cases' needs and the user; adds the
//! page, its template values and, when previews are not served, that finding.

use std::collections::BTreeSet;

use super::Ledger;
use crate::client::Account;
use crate::outcome::SetUpProblem;
use crate::run::config::RunConfig;
use crate::run::preview_page::PreviewPage;
use crate::run::session::{NotServed, Session};
use crate::suite::model::Need;

/// Where the preview variables point when there is no page.
const NO_PAGE: &str = "http://127.0.0.1:9/unavailable";

/// Stage "preview page": started when a selected case needs it.
pub async fn start_page(
    config: &RunConfig,
    needs: &BTreeSet<Need>,
    ledger: &mut Ledger<'_>,
) -> Option<PreviewPage> {
    if !needs.contains(&Need::PreviewPage) && !needs.contains(&Need::Previews) {
        return None;
    }
    let host = config.federation.reach_host.as_deref();
    match PreviewPage::start(config.preview_listen, host).await {
        Ok(page) => Some(page),
        Err(e) => {
            let why = format!(
                "cannot serve the preview page on {}: {e} (pass --preview-listen with a free address)",
                config.preview_listen
            );
            ledger.report("preview page", false, why.clone());
            ledger.mark(Need::PreviewPage, "preflight preview page", why.clone());
            ledger.mark(Need::Previews, "preflight preview page", why);
            None
        }
    }
}

/// Stage "URL previews": sets the page's template values and, when a case needs previews,
/// asks the target to preview the page.
pub async fn probe(
    session: &mut Session,
    page: Option<&PreviewPage>,
    needs: &BTreeSet<Need>,
    user: &Account,
    ledger: &mut Ledger<'_>,
) {
    let Some(page) = page else {
        for var in ["preview_url", "preview_image_url", "preview_url_absolute"] {
            session.base_vars.insert(var.into(), NO_PAGE.into());
        }
        return;
    };
    session
        .base_vars
        .insert("preview_url".into(), page.page_url());
    session
        .base_vars
        .insert("preview_url_absolute".into(), page.absolute_page_url());
    session
        .base_vars
        .insert("preview_image_url".into(), page.image_url());
    if !needs.contains(&Need::Previews) {
        return;
    }
    match probe_previews(session, &user.access_token, &page.page_url()).await {
        PreviewProbe::Previewed => ledger.report(
            "URL previews",
            true,
            format!("the target previewed {} (og:title seen)", page.page_url()),
        ),
        PreviewProbe::Answered(what) => ledger.report("URL previews", false, what),
        PreviewProbe::NotServed(why) => not_served(session, why, ledger),
        PreviewProbe::Missing(why) => missing(session, why, ledger),
    }
}

/// Previews are not served: every preview endpoint is marked, and the need made unavailable.
fn not_served(session: &mut Session, why: String, ledger: &mut Ledger<'_>) {
    ledger.report("URL previews", false, why.clone());
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
            method: Some("GET".into()),
            path: prefix.into(),
            problem: problem.clone(),
        });
    }
    ledger.mark(Need::Previews, "preflight URL previews", why);
}

/// Previews answer `M_UNRECOGNIZED`: the endpoints are recorded as not implemented. The
/// preview cases still run: each that meets the answer is blocked by this one finding, and
/// A-01.preview-url judges it.
fn missing(session: &mut Session, why: String, ledger: &mut Ledger<'_>) {
    ledger.report("URL previews", false, why.clone());
    for path in [
        "/_matrix/client/v1/media/preview_url",
        "/_matrix/media/v3/preview_url",
    ] {
        session.not_served.push(NotServed {
            method: Some("GET".into()),
            path: path.into(),
            problem: SetUpProblem {
                by: "endpoint not implemented".into(),
                why: format!("GET {path} answered M_UNRECOGNIZED"),
                need: None,
            },
        });
    }
}

/// What the URL-preview probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewProbe {
    /// A 200 carrying our page's title: previews work.
    Previewed,
    /// Another answer that does not mean "switched off" (e.g. a 400): the preview cases run and
    /// judge it; the preflight line shows it as a warning.
    Answered(String),
    /// `404 M_UNRECOGNIZED` or `403 M_FORBIDDEN`: the endpoint is not served; every case that
    /// needs previews is skipped with this one reason.
    NotServed(String),
    /// `404`/`405 M_UNRECOGNIZED`: the endpoint is not implemented (or answers so when
    /// switched off); the cases meeting that answer are blocked by it.
    Missing(String),
}

async fn probe_previews(session: &Session, token: &str, page_url: &str) -> PreviewProbe {
    let url = url::Url::parse(&format!(
        "{}/_matrix/client/v1/media/preview_url",
        session.base
    ));
    let mut url = match url {
        Ok(u) => u,
        Err(e) => return PreviewProbe::Answered(e.to_string()),
    };
    url.query_pairs_mut().append_pair("url", page_url);
    let ex = session.get_as(url.to_string(), token).await;
    let r = match &ex.response {
        Ok(r) => r,
        Err(e) => return PreviewProbe::Answered(format!("{}: {e}", ex.request.line())),
    };
    let answer = format!(
        "{} answered {} {}",
        ex.request.line(),
        crate::check::status::describe_status(r),
        crate::check::body_excerpt(&r.body, r.body_len, 120)
    );
    let title = r.json().and_then(|j| {
        j.get("og:title")
            .and_then(|t| t.as_str())
            .map(str::to_string)
    });
    if r.status == 200
        && title
            .as_deref()
            .is_some_and(|t| t.starts_with(crate::run::preview_page::PAGE_TITLE))
    {
        return PreviewProbe::Previewed;
    }
    if super::endpoints::previews_disabled_answer(r) {
        let what = if super::endpoints::is_unrecognized_endpoint(r) {
            "URL previews are not served: M_UNRECOGNIZED, the endpoint is not implemented (or switched off on a server that answers so, as Synapse does)"
        } else {
            "URL previews are not served: they are switched off (403 M_FORBIDDEN)"
        };
        let why = format!(
            "{what}: {answer}; {}",
            super::hints::hint(
                super::hints::Topic::Previews,
                session.server_version.as_deref(),
                ""
            )
        );
        return if super::endpoints::is_unrecognized_endpoint(r) {
            PreviewProbe::Missing(why)
        } else {
            PreviewProbe::NotServed(why)
        };
    }
    PreviewProbe::Answered(format!(
        "the target did not preview the loopback page: {answer}; the preview cases run and judge this answer"
    ))
}
