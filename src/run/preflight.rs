//! Preflight probes that decide what a run can do: whether URL previews work, and whether the
//! target can verify our signatures (our key server started, one signed request accepted).
//! Each returns the reason, with the fix, when the answer is no.

use std::sync::Arc;

use super::session::Session;
use super::signer::FederationContext;
use crate::federation::signing_key::SigningKey;
use crate::peer::{Peer, PeerConfig};
use crate::suite::model::XMatrixSpec;

pub async fn probe_previews(session: &Session, token: &str, page_url: &str) -> Result<(), String> {
    let mut url = reqwest::Url::parse(&format!(
        "{}/_matrix/client/v1/media/preview_url",
        session.base
    ))
    .map_err(|e| e.to_string())?;
    url.query_pairs_mut().append_pair("url", page_url);
    let req = crate::target::OutgoingRequest {
        method: "GET".into(),
        url: url.to_string(),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        body: Vec::new(),
        timeout: session.timeout,
    };
    let ex = session.http.send(req, false).await;
    match &ex.response {
        Ok(r) if r.status == 200 => Ok(()),
        // Only the answers servers give when previews are switched off mean "disabled"; any
        // other answer is left for the preview cases to judge.
        Ok(r) if !previews_disabled_answer(r) => Ok(()),
        Ok(r) => Err(format!(
            "URL previews seem disabled: {} answered {} {} (for Synapse: url_preview_enabled: true and a url_preview_ip_range_blacklist that allows 127.0.0.1)",
            ex.request.line(),
            r.status,
            crate::check::body_excerpt(&r.body, r.body_len, 120)
        )),
        Err(e) => Err(format!("{}: {e}", ex.request.line())),
    }
}

/// `404 M_UNRECOGNIZED` (Synapse with previews off) or `403 M_FORBIDDEN` (MSC4452).
fn previews_disabled_answer(r: &crate::exchange::RecordedResponse) -> bool {
    let errcode = r.json().and_then(|j| {
        j.get("errcode")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    });
    matches!(
        (r.status, errcode.as_deref()),
        (404, Some("M_UNRECOGNIZED")) | (403, Some("M_FORBIDDEN"))
    )
}

/// Loads (or creates) our signing key, starts the key server and checks with one signed request
/// that the target can verify us. `Err` is the reason federation cases are skipped, with the fix.
pub async fn setup_federation(
    settings: &super::config::FederationSettings,
    session: &Session,
) -> Result<(Arc<Peer>, FederationContext, String), String> {
    let existed = settings.signing_key.exists();
    let key = SigningKey::load_or_create(&settings.signing_key).map_err(|e| {
        format!("cannot use the signing key {}: {e} (pass --signing-key FILE, or create one with mediaconf keygen)", settings.signing_key.display())
    })?;
    let key_id = key.key_id.clone();
    if let Some(seed) = key.to_key_file().split_whitespace().nth(2) {
        session.http.redactor().add(seed);
    }
    let peer = Peer::start(PeerConfig {
        listen: settings.peer_listen,
        server_name: settings.peer_server_name.clone(),
        key,
        ca_out: settings.ca_out.clone(),
    })
    .await
    .map_err(|e| format!("the key server cannot start: {e}"))?;
    let peer = Arc::new(peer);
    let unknown_key =
        SigningKey::generate("mcunknown").map_err(|e| format!("cannot make a test key: {e}"))?;
    let context = FederationContext {
        base: settings.federation_url.trim_end_matches('/').to_string(),
        origin: settings.peer_server_name.clone(),
        keys: peer.clone(),
        unknown_key,
    };
    let key_url = format!(
        "https://{}/_matrix/key/v2/server",
        settings.peer_server_name
    );
    let fix = format!(
        "the target cannot reach {key_url}: for Synapse set federation_verify_certificates: false or federation_custom_ca_list: [{}], ip_range_blacklist: [], trusted_key_servers: []",
        peer.ca_path().display()
    );
    let vars = session.base_vars.clone();
    let exchange = send_probe(session, &context.base, |path| {
        let auth = context.authorization(&XMatrixSpec::default(), "GET", path, None, &vars)?;
        Ok(vec![("Authorization".into(), auth)])
    })
    .await?;
    let Ok(response) = exchange.response.as_ref() else {
        return Err("no answer to the signed probe".to_string());
    };
    let answer = format!(
        "{} {}",
        response.status,
        crate::check::body_excerpt(&response.body, response.body_len, 160)
    );
    match response.status {
        401 if peer.key_fetches() == 0 => Err(fix),
        401 => Err(format!(
            "the target fetched our key from {key_url} but rejected a signed request ({answer}); check that --peer-server-name ({}) is how the target reaches us",
            settings.peer_server_name
        )),
        500..=599 => Err(format!(
            "the target's federation API failed on a signed request ({answer}); signed cases cannot be judged"
        )),
        403 => Err(format!(
            "the target refuses federation with {} ({answer}); for Synapse check federation_domain_whitelist",
            settings.peer_server_name
        )),
        _ => Ok((
            peer.clone(),
            context,
            format!(
                "{} signs as {} with {key_id} ({}), key server https://{} (CA {}), signed probe answered {}",
                settings.peer_server_name,
                settings.peer_server_name,
                if existed { "existing key" } else { "new key" },
                peer.local_addr(),
                peer.ca_path().display(),
                response.status
            ),
        )),
    }
}

/// Checks that `--federation-url` serves the federation media API: an unsigned download must be
/// refused (401/400/403) or answered, not be an unknown endpoint. `Err` says what to pass.
pub async fn probe_federation_api(session: &Session) -> Result<(), String> {
    let exchange = send_probe(session, &session.federation_base, |_| Ok(Vec::new())).await?;
    let Ok(response) = exchange.response.as_ref() else {
        return Err("no answer to the federation API probe".to_string());
    };
    let errcode = response.json().and_then(|j| {
        j.get("errcode")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    });
    let unknown_endpoint = matches!(response.status, 404 | 405)
        && (errcode.is_none() || errcode.as_deref() == Some("M_UNRECOGNIZED"));
    if unknown_endpoint {
        return Err(format!(
            "{} does not serve the federation media API ({} answered {} {}); pass --federation-url with the target's federation base URL",
            session.federation_base,
            exchange.request.line(),
            response.status,
            crate::check::body_excerpt(&response.body, response.body_len, 120)
        ));
    }
    Ok(())
}

/// Sends `GET /_matrix/federation/v1/media/download/mediaconfProbe…` to the target's federation
/// API with `headers`; `Err` when no answer comes back, with the fix.
async fn send_probe(
    session: &Session,
    base: &str,
    sign: impl FnOnce(&str) -> Result<Vec<(String, String)>, String>,
) -> Result<crate::exchange::Exchange, String> {
    let path = format!(
        "/_matrix/federation/v1/media/download/mediaconfProbe{}",
        session.unique().replace('-', "")
    );
    let request = crate::target::OutgoingRequest {
        method: "GET".into(),
        url: format!("{base}{path}"),
        headers: sign(&path)?,
        body: Vec::new(),
        timeout: session.timeout,
    };
    let exchange = session.http.send(request, false).await;
    if let Err(e) = &exchange.response {
        return Err(format!(
            "the target's federation API at {base} is not reachable: {e} (pass --federation-url)"
        ));
    }
    Ok(exchange)
}
