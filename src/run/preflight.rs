//! Preflight probes that decide what a run can do: whether URL previews work, and whether the
//! target can verify our signatures (our key server started, one signed request accepted).
//! Each returns the reason, with the fix, when the answer is no.

use std::sync::Arc;

use super::session::Session;
use super::signer::FederationContext;
use crate::federation::signing_key::SigningKey;
use crate::peer::{Peer, PeerConfig};
use crate::suite::model::XMatrixSpec;

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
}

pub async fn probe_previews(session: &Session, token: &str, page_url: &str) -> PreviewProbe {
    let url = reqwest::Url::parse(&format!(
        "{}/_matrix/client/v1/media/preview_url",
        session.base
    ));
    let mut url = match url {
        Ok(u) => u,
        Err(e) => return PreviewProbe::Answered(e.to_string()),
    };
    url.query_pairs_mut().append_pair("url", page_url);
    let req = crate::client::OutgoingRequest {
        method: "GET".into(),
        url: url.to_string(),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        body: Default::default(),
        timeout: session.timeout,
    };
    let ex = session.http.send(req, false).await;
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
            .is_some_and(|t| t.starts_with(super::preview_page::PAGE_TITLE))
    {
        return PreviewProbe::Previewed;
    }
    if previews_disabled_answer(r) {
        return PreviewProbe::NotServed(format!(
            "URL previews are not served: {answer} (for Synapse: url_preview_enabled: true and a url_preview_ip_range_blacklist that allows 127.0.0.1)"
        ));
    }
    PreviewProbe::Answered(format!(
        "the target did not preview the loopback page: {answer}; the preview cases run and judge this answer"
    ))
}

/// `404 M_UNRECOGNIZED` (Synapse with previews off) or `403 M_FORBIDDEN` (MSC4452).
fn previews_disabled_answer(r: &crate::exchange::RecordedResponse) -> bool {
    is_unrecognized_endpoint(r)
        || (r.status == 403 && errcode_of(r).as_deref() == Some("M_FORBIDDEN"))
}

fn errcode_of(r: &crate::exchange::RecordedResponse) -> Option<String> {
    r.json().and_then(|j| {
        j.get("errcode")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    })
}

/// The answer of a server that does not serve an endpoint: 404 or 405 with `M_UNRECOGNIZED`
/// (the spec's answer for unknown endpoints), or with no Matrix error body at all.
pub fn is_unrecognized_endpoint(r: &crate::exchange::RecordedResponse) -> bool {
    matches!(r.status, 404 | 405) && errcode_of(r).is_none_or(|e| e == "M_UNRECOGNIZED")
}

/// Whether the deprecated `/_matrix/media/v3/*` endpoints are switched off: `Some(answer)` when
/// an authenticated `GET /_matrix/media/v3/config` is refused with 403 or not served (a server
/// may remove them; the freeze cases then see that answer, which the preflight line explains).
pub async fn probe_deprecated_endpoints(session: &Session, token: &str) -> Option<String> {
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

/// A warning with the fix when a secret key file can be read by other users (group or world
/// permission bits set); `None` when it is private or does not exist yet.
pub fn readable_by_others(path: &std::path::Path, what: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{what} {} is readable by other users (mode {mode:03o}): run chmod 600 {}",
            path.display(),
            path.display()
        )
    })
}

/// Loads (or creates) our signing key (its seed added to `redactor`), starts our HTTPS key
/// server and returns it with the context for signing requests to `federation_base`.
/// Used by a run's preflight and by `mediaconf request`.
pub async fn start_key_server(
    settings: &super::config::FederationSettings,
    target_server_name: &str,
    federation_base: &str,
    redactor: &crate::redact::Redactor,
) -> Result<(Arc<Peer>, FederationContext), String> {
    let key = SigningKey::load_or_create(&settings.signing_key).map_err(|e| {
        format!("cannot use the signing key {}: {e} (pass --signing-key FILE, or create one with mediaconf keygen)", settings.signing_key.display())
    })?;
    if let Some(seed) = key.to_key_file().split_whitespace().nth(2) {
        redactor.add(seed);
    }
    let mut config = PeerConfig::new(
        settings.peer_listen,
        &settings.peer_server_name,
        key,
        settings.ca_out.clone(),
    );
    config.cdn_listen = Some(settings.cdn_listen);
    config
        .key_sources
        .insert(target_server_name.to_owned(), federation_base.to_owned());
    let peer = Peer::start(config)
        .await
        .map_err(|e| format!("the key server cannot start: {e}"))?;
    let peer = Arc::new(peer);
    let unknown_key =
        SigningKey::generate("mcunknown").map_err(|e| format!("cannot make a test key: {e}"))?;
    let context = FederationContext {
        base: federation_base.trim_end_matches('/').to_string(),
        origin: settings.peer_server_name.clone(),
        keys: peer.clone(),
        unknown_key,
    };
    Ok((peer, context))
}

/// What the signed probe showed, when it did not show a refusal.
pub enum FederationSetup {
    /// The target accepted a signed request; the detail says how.
    Verified(String),
    /// The signed probe got no HTTP answer at all (the federation media endpoint misbehaves on
    /// every request): nothing was refused, so the cases run and judge that endpoint.
    Unverified(String),
}

/// Checks with one signed request that the target can verify us (our key server `peer` is
/// running). `Ok` describes the set-up; `Err` is the reason federation cases are skipped,
/// with the fix. `key_existed`: the signing key file was there before this run.
pub async fn setup_federation(
    settings: &super::config::FederationSettings,
    session: &Session,
    peer: &Arc<Peer>,
    context: &FederationContext,
    key_existed: bool,
) -> Result<FederationSetup, String> {
    let existed = key_existed;
    let key_id = peer.current_key().key_id;
    let key_url = format!(
        "https://{}/_matrix/key/v2/server",
        settings.peer_server_name
    );
    let vars = session.base_vars.clone();
    let exchange = send_probe(session, &context.base, |path| {
        let auth = context.authorization(&XMatrixSpec::default(), "GET", path, None, &vars)?;
        Ok(vec![("Authorization".into(), auth)])
    })
    .await?;
    let response = match &exchange.response {
        Ok(response) => response,
        // No HTTP answer at all: nothing was refused.
        Err(e) => {
            return Ok(FederationSetup::Unverified(format!(
                "not known whether the target accepts our signature: {}; the federation cases run and judge that endpoint",
                unreachable(&context.base, e)
            )));
        }
    };
    let answer = format!(
        "{} answered {} {}",
        exchange.request.line(),
        crate::check::status::describe_status(response),
        crate::check::body_excerpt(&response.body, response.body_len, 160)
    );
    // The probe asks for media that does not exist: a 404 or a 2xx means the signature was
    // accepted (the unsigned probe before showed that the endpoint exists, so even a 404
    // M_UNRECOGNIZED is about the media); anything else is a refusal, diagnosed from what the
    // target did on our key server.
    let accepted = response.is_success() || response.status == 404;
    if !accepted {
        let fetches = key_requests(&peer.observations());
        return Err(diagnose_refusal(&RefusalFacts {
            answer,
            status: response.status,
            key_url,
            our_key_id: key_id,
            peer_server_name: settings.peer_server_name.clone(),
            ca_path: peer.ca_path().display().to_string(),
            key_requests: fetches,
        }));
    }
    Ok(FederationSetup::Verified(format!(
        "{} signs with {key_id} ({}), key server https://{} (CA {}); the target fetched our key and accepted a signed request ({})",
        settings.peer_server_name,
        if existed { "existing key" } else { "new key" },
        peer.local_addr(),
        peer.ca_path().display(),
        crate::check::status::describe_status(response)
    )))
}

/// Asks the target, as a client, for media on the mock peer and looks at whether the peer was
/// contacted. `Err` is the reason the remote cases are skipped, with the configuration fix.
///
/// A target may still be backing off from the peer's server name after a previous run whose
/// scenarios failed on purpose (Synapse: 1-2 s with the settings of `scripts/synapse.sh`, 10
/// minutes by default). The federation set-up just sent it a signed request from the peer,
/// which makes Synapse reset that backoff, so an uncontacted probe is tried again, three times
/// in all, a second apart.
pub async fn probe_remote(session: &Session, peer: &Peer, token: &str) -> Result<String, String> {
    let mut attempt = 1;
    loop {
        match probe_remote_once(session, peer, token).await {
            Err(_) if attempt < 3 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            Err(e) if attempt > 1 => {
                return Err(format!("{e} ({attempt} attempts, a second apart)"));
            }
            other => return other,
        }
    }
}

async fn probe_remote_once(session: &Session, peer: &Peer, token: &str) -> Result<String, String> {
    let media_id = format!("inline-bytes_{}probe", session.unique());
    let name = peer.server_name();
    let request = crate::client::OutgoingRequest {
        method: "GET".into(),
        url: format!(
            "{}/_matrix/client/v1/media/download/{name}/{media_id}",
            session.base
        ),
        headers: vec![("Authorization".into(), format!("Bearer {token}"))],
        body: Default::default(),
        timeout: session.timeout,
    };
    let exchange = session.http.send(request, false).await;
    let answer = match &exchange.response {
        Ok(r) => crate::check::status::describe_status(r),
        Err(e) => e.to_string(),
    };
    let seen = session.peer_requests(&media_id);
    if seen.is_empty() {
        return Err(format!(
            "the target never contacted the mock peer {name} when a client asked for mxc://{name}/{media_id} (it answered {answer}). \
             The remote cases need the target to federate with https://{name}: for Synapse set ip_range_blacklist: [] (loopback is blocked by default), \
             federation_verify_certificates: false or federation_custom_ca_list: [\"{}\"], and no federation_domain_whitelist without {name} \
             (scripts/synapse-homeserver.yaml.in has all of them)",
            peer.ca_path().display()
        ));
    }
    let first = &seen[0];
    Ok(format!(
        "a client download of mxc://{name}/{media_id} made the target send {} ({}); the client got {answer}",
        first.line(),
        first.signature
    ))
}

/// What is known when the target refused the signed probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalFacts {
    /// `GET … answered 401 M_UNAUTHORIZED …`.
    pub answer: String,
    pub status: u16,
    pub key_url: String,
    pub our_key_id: String,
    pub peer_server_name: String,
    pub ca_path: String,
    /// Paths of the key requests the target made to our key server, in order.
    pub key_requests: Vec<String>,
}

/// Paths of requests for our key document among the peer's observations.
pub fn key_requests(observations: &[crate::peer::Observation]) -> Vec<String> {
    observations
        .iter()
        .filter(|o| o.path.starts_with("/_matrix/key/"))
        .map(|o| o.path.clone())
        .collect()
}

/// The reason and fix for a refused signed probe, from what happened: whether the target
/// fetched our key at all, and which key id it asked for. The generic requirement comes first,
/// then per-implementation hints. Pure.
pub fn diagnose_refusal(f: &RefusalFacts) -> String {
    let trust = format!(
        "the target must reach {} over HTTPS and trust our CA {} (Synapse: federation_custom_ca_list: [{}] or federation_verify_certificates: false, plus ip_range_blacklist: [] and trusted_key_servers: []; servers built on rustls or OpenSSL: start them with SSL_CERT_FILE={})",
        f.key_url, f.ca_path, f.ca_path, f.ca_path
    );
    if f.key_requests.is_empty() {
        return format!(
            "the target refused our signed request and never fetched our key ({}): {trust}",
            f.answer
        );
    }
    let asked_other: Vec<&str> = f
        .key_requests
        .iter()
        .filter_map(|p| p.strip_prefix("/_matrix/key/v2/server/"))
        .map(|id| id.split('?').next().unwrap_or(id))
        .filter(|id| !id.is_empty() && *id != f.our_key_id)
        .collect();
    if !asked_other.is_empty() {
        return format!(
            "the target fetched our key document but asked for key id {} while we sign with {} ({}); it may hold a cached key document of another server under the name {}: restart it with a fresh key cache, or pass another --peer-server-name",
            asked_other.join(", "),
            f.our_key_id,
            f.answer,
            f.peer_server_name
        );
    }
    let federation_allowed = if f.status == 403 {
        " If it refuses federation with us by policy (Synapse: federation_domain_whitelist), allow our server name."
    } else {
        ""
    };
    format!(
        "the target fetched our key document ({} request{}: {}) but still refused a signed request ({}): check that --peer-server-name ({}) is the name the target reaches us by, that the request reaches it unchanged (a proxy that rewrites the path or host breaks the signature), and that both clocks are right.{federation_allowed}",
        f.key_requests.len(),
        if f.key_requests.len() == 1 { "" } else { "s" },
        f.key_requests.join(", "),
        f.answer,
        f.peer_server_name
    )
}

/// Checks that `--federation-url` serves the federation media API: an unsigned download must be
/// refused (401/400/403) or answered, not be an unknown endpoint. `Err` says what to pass.
pub async fn probe_federation_api(session: &Session) -> Result<(), String> {
    let exchange = send_probe(session, &session.federation_base, |_| Ok(Vec::new())).await?;
    let response = match &exchange.response {
        Ok(response) => response,
        // The media endpoint gave no HTTP answer. If the key document answers, the federation
        // API is there and only its media endpoints misbehave: the cases judge them, one by one.
        Err(media_failure) => {
            let key = crate::client::OutgoingRequest {
                method: "GET".into(),
                url: format!("{}/_matrix/key/v2/server", session.federation_base),
                headers: Vec::new(),
                body: Default::default(),
                timeout: session.timeout,
            };
            return match session.http.send(key, false).await.response {
                Ok(_) => Ok(()),
                Err(e) => Err(format!(
                    "{}; GET /_matrix/key/v2/server got no answer either: {e}",
                    unreachable(&session.federation_base, media_failure)
                )),
            };
        }
    };
    if is_unrecognized_endpoint(response) {
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
/// API with the headers `sign` makes; `Err` only when they cannot be made (a transport failure
/// is in the exchange, for the caller to judge).
async fn send_probe(
    session: &Session,
    base: &str,
    sign: impl FnOnce(&str) -> Result<Vec<(String, String)>, String>,
) -> Result<crate::exchange::Exchange, String> {
    let path = format!(
        "/_matrix/federation/v1/media/download/mediaconfProbe{}",
        session.unique().replace('-', "")
    );
    let request = crate::client::OutgoingRequest {
        method: "GET".into(),
        url: format!("{base}{path}"),
        headers: sign(&path)?,
        body: Default::default(),
        timeout: session.timeout,
    };
    Ok(session.http.send(request, false).await)
}

/// Why the federation API at `base` gave no answer, with the fix.
fn unreachable(base: &str, failure: &crate::exchange::TransportFailure) -> String {
    format!(
        "the target's federation API at {base} is not reachable: {failure} (pass --federation-url)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(requests: &[&str], status: u16) -> RefusalFacts {
        RefusalFacts {
            answer: format!("GET … answered {status}"),
            status,
            key_url: "https://127.0.0.1:9443/_matrix/key/v2/server".into(),
            our_key_id: "ed25519:mc_abc".into(),
            peer_server_name: "127.0.0.1:9443".into(),
            ca_path: "/tmp/ca.pem".into(),
            key_requests: requests.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn never_fetched_names_the_trust_requirement_then_implementations() {
        let d = diagnose_refusal(&facts(&[], 401));
        assert!(d.contains("never fetched our key"), "{d}");
        let generic = d.find("must reach").unwrap();
        let synapse = d.find("Synapse:").unwrap();
        let rustls = d.find("SSL_CERT_FILE=/tmp/ca.pem").unwrap();
        assert!(generic < synapse && synapse < rustls, "{d}");
    }

    #[test]
    fn fetched_but_refused_is_not_a_trust_problem() {
        for status in [401, 403] {
            let d = diagnose_refusal(&facts(&["/_matrix/key/v2/server"], status));
            assert!(d.contains("fetched our key document (1 request"), "{d}");
            assert!(!d.contains("never fetched"), "{d}");
            assert_eq!(
                d.contains("federation_domain_whitelist"),
                status == 403,
                "{d}"
            );
        }
    }

    #[test]
    fn another_key_id_is_named() {
        let d = diagnose_refusal(&facts(&["/_matrix/key/v2/server/ed25519:other"], 401));
        assert!(
            d.contains("asked for key id ed25519:other while we sign with ed25519:mc_abc"),
            "{d}"
        );
    }
}
