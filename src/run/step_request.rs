//! A case step as the request to send: templates expanded, the URL on the client or
//! federation base, the step's credentials (a bearer token, a query token, an invalid or
//! logged-out one, or an X-Matrix signature over the final URI and body), and the body.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::session::Session;
use crate::client::{OutgoingRequest, RequestBody};
use crate::suite::model::{Api, AuthMode, BodySpec, RequestSpec, StepSpec};
use crate::template;

/// Largest generated request body (`zeros = …`).
pub const MAX_GENERATED_BODY: usize = 256 * 1024 * 1024;

/// Expands a step into a request with the case's credentials.
pub fn build_request(
    session: &Session,
    case_api: Api,
    step: &StepSpec,
    vars: &BTreeMap<String, String>,
) -> Result<OutgoingRequest, String> {
    let req = &step.request;
    let mut url = url_of(session, case_api, req, vars)?;
    let mut query = expand_pairs(
        req.query.iter().map(|(k, v)| (k.as_str(), v.0.as_str())),
        vars,
    )?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for (k, v) in &req.headers {
        headers.push((k.clone(), expand(v, vars)?));
    }
    add_credentials(session, req.auth, vars, &mut headers, &mut query)?;
    if !query.is_empty() {
        let mut pairs = url.query_pairs_mut();
        for (k, v) in &query {
            pairs.append_pair(k, v);
        }
    }
    let body = match &req.body {
        Some(spec) => body_of(session, spec, vars, &mut headers)?,
        None => RequestBody::default(),
    };
    if req.auth == AuthMode::XMatrix {
        headers.push((
            "Authorization".into(),
            signature(session, req, &url, &body, vars)?,
        ));
    }
    let timeout = req
        .timeout_secs
        .map(Duration::from_secs)
        .unwrap_or(session.timeout);
    Ok(OutgoingRequest {
        method: req.method.clone(),
        url: url.to_string(),
        headers,
        body,
        timeout,
    })
}

fn expand(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    template::expand(text, vars).map_err(|e| e.to_string())
}

fn expand_pairs<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    pairs
        .map(|(k, v)| Ok((expand(k, vars)?, expand(v, vars)?)))
        .collect()
}

/// The step's path on the client API or the federation API base.
fn url_of(
    session: &Session,
    case_api: Api,
    req: &RequestSpec,
    vars: &BTreeMap<String, String>,
) -> Result<url::Url, String> {
    let path = expand(req.path.get_ref(), vars)?;
    let base = match req.api.unwrap_or(case_api) {
        Api::Client => session.base.as_str(),
        Api::Federation => session.federation_base.as_str(),
    };
    url::Url::parse(&format!("{base}{path}")).map_err(|e| format!("bad URL for path `{path}`: {e}"))
}

/// The bearer token or `access_token` the step's auth mode asks for (X-Matrix is signed last,
/// over the final URI).
fn add_credentials(
    session: &Session,
    auth: AuthMode,
    vars: &BTreeMap<String, String>,
    headers: &mut Vec<(String, String)>,
    query: &mut Vec<(String, String)>,
) -> Result<(), String> {
    let token_of = |account: &Option<crate::client::Account>, what: &str| {
        account
            .as_ref()
            .map(|a| a.access_token.clone())
            .ok_or_else(|| format!("no {what} account in this run"))
    };
    let invalid = format!(
        "mediaconf_invalid_{}",
        vars.get("unique").map_or("token", String::as_str)
    );
    match auth {
        AuthMode::User => headers.push(bearer(&token_of(&session.user, "user")?)),
        AuthMode::UserQuery => {
            query.push(("access_token".into(), token_of(&session.user, "user")?))
        }
        AuthMode::UserHeaderAndQuery => {
            let t = token_of(&session.user, "user")?;
            headers.push(bearer(&t));
            query.push(("access_token".into(), t));
        }
        AuthMode::OtherUser => headers.push(bearer(&token_of(&session.other_user, "other-user")?)),
        AuthMode::Guest => headers.push(bearer(&token_of(&session.guest, "guest")?)),
        AuthMode::LoggedOut => headers.push(bearer(
            session
                .logged_out_token
                .as_deref()
                .ok_or("no logged-out token in this run")?,
        )),
        AuthMode::Invalid => headers.push(bearer(&invalid)),
        AuthMode::InvalidQuery => query.push(("access_token".into(), invalid)),
        AuthMode::None | AuthMode::XMatrix => {}
    }
    Ok(())
}

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
}

/// The body: JSON (templates expanded), text, a media item's bytes, or generated zeros; a
/// `Content-Type` is added for JSON and media unless the step sets one.
fn body_of(
    session: &Session,
    spec: &BodySpec,
    vars: &BTreeMap<String, String>,
    headers: &mut Vec<(String, String)>,
) -> Result<RequestBody, String> {
    if let Some(json) = &spec.json {
        let body = serde_json::to_vec(&expand_json(json, vars)?).map_err(|e| e.to_string())?;
        if !has_header(headers, "content-type") {
            headers.push(("Content-Type".into(), "application/json".into()));
        }
        Ok(body.into())
    } else if let Some(text) = &spec.text {
        Ok(expand(text, vars)?.into_bytes().into())
    } else if let Some(media) = &spec.media {
        let def = session
            .media_defs
            .get(media)
            .ok_or_else(|| format!("no media `{media}`"))?;
        if let Some(ct) = &def.spec.content_type
            && !has_header(headers, "content-type")
        {
            headers.push(("Content-Type".into(), ct.clone()));
        }
        Ok(def.bytes.clone().into())
    } else if let Some(zeros) = &spec.zeros {
        Ok(RequestBody::Zeros(zeros_size(
            &expand(&zeros.0, vars)?,
            spec.zeros_plus,
        )?))
    } else {
        Ok(RequestBody::default())
    }
}

/// `zeros = "{{n}}"` plus `zeros-plus`, within [`MAX_GENERATED_BODY`].
fn zeros_size(n_text: &str, plus: i64) -> Result<usize, String> {
    let n: i64 = n_text
        .parse()
        .map_err(|_| format!("`zeros = {n_text}` is not a number"))?;
    let total = n.saturating_add(plus);
    let size = usize::try_from(total).map_err(|_| format!("body size {total} is negative"))?;
    if size > MAX_GENERATED_BODY {
        return Err(format!(
            "body of {size} bytes is larger than the {MAX_GENERATED_BODY}-byte limit for generated bodies"
        ));
    }
    Ok(size)
}

/// The X-Matrix `Authorization` value over the final URI and the JSON body, if any.
fn signature(
    session: &Session,
    req: &RequestSpec,
    url: &url::Url,
    body: &RequestBody,
    vars: &BTreeMap<String, String>,
) -> Result<String, String> {
    let federation = session
        .federation
        .as_ref()
        .ok_or("signed requests are not available in this run")?;
    let uri = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let content: Option<Value> = body
        .as_bytes()
        .filter(|b| !b.is_empty())
        .and_then(|b| serde_json::from_slice(b).ok());
    let spec = req.xmatrix.clone().unwrap_or_default();
    federation.authorization(&spec, &req.method, &uri, content.as_ref(), vars)
}

fn bearer(token: &str) -> (String, String) {
    ("Authorization".into(), format!("Bearer {token}"))
}

pub fn expand_json(v: &Value, vars: &BTreeMap<String, String>) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => Value::String(template::expand(s, vars).map_err(|e| e.to_string())?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| expand_json(x, vars))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| {
                    Ok((
                        template::expand(k, vars).map_err(|e| e.to_string())?,
                        expand_json(x, vars)?,
                    ))
                })
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}
