//! Stages "federation discovery", "federation API" and "key server, signed probe": where the
//! target's federation API is, whether it serves the media API, and whether it verifies our
//! signatures (our key server started, one signed request accepted). The mock peer stage
//! ([`super::peer_probe`]) runs on the same server. Each failure makes its needs unavailable
//! with the reason and the fix.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::Ledger;
use super::endpoints::is_unrecognized_endpoint;
use super::refusal::{RefusalFacts, diagnose_refusal, key_requests};
use crate::federation::signing_key::SigningKey;
use crate::peer::{Peer, PeerConfig};
use crate::plan::Planned;
use crate::run::config::{FederationSettings, RunConfig};
use crate::run::session::Session;
use crate::run::signer::FederationContext;
use crate::suite::model::{Need, XMatrixSpec};

/// Stage "federation discovery": unless `--federation-url` gave it, finds the federation API
/// from the server name when a selected case reaches it.
pub async fn discover(
    config: &RunConfig,
    needs: &BTreeSet<Need>,
    session: &mut Session,
    ledger: &mut Ledger<'_>,
) {
    let reaches_federation = needs
        .iter()
        .any(|n| matches!(n, Need::FederationApi | Need::Federation | Need::MockPeer));
    if config.federation.federation_url.is_some() || !reaches_federation {
        return;
    }
    let server_name = session.server_name.clone();
    let found = discover_into(config, &server_name, session).await;
    ledger.report("federation discovery", true, found);
}

/// Finds the target's federation API from its server name (server discovery), sets it as the
/// session's federation base, and returns what was found, for the preflight line. When SRV
/// names another host, the session's client connects there under the server name.
async fn discover_into(config: &RunConfig, server_name: &str, session: &mut Session) -> String {
    let lookup = crate::run::discovery::NetLookup::new(session.http.clone(), config.timeout);
    let found = crate::run::discovery::resolve(server_name, &lookup).await;
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

/// Stage "federation API": when a case needs it, checks that the federation base serves the
/// federation media API; if not, the federation cases are blocked by this finding.
pub async fn probe_api(session: &Session, needs: &BTreeSet<Need>, ledger: &mut Ledger<'_>) {
    if !needs.contains(&Need::FederationApi) {
        return;
    }
    if let Err(reason) = api_answer(session).await {
        ledger.unavailable_after(
            "federation API",
            &[Need::FederationApi, Need::Federation],
            reason,
        );
    }
}

/// Stage "key server, signed probe" and then "mock peer": starts our key server (the mock
/// peer) when signed requests or peer cases are wanted, checks with one signed request that
/// the target verifies us, then that it fetches remote media from the peer. Returns the
/// running peer, kept alive for the cases.
pub async fn key_server_and_peer(
    config: &RunConfig,
    session: &mut Session,
    selected: &[Planned],
    needs: &BTreeSet<Need>,
    ledger: &mut Ledger<'_>,
) -> Option<Arc<Peer>> {
    let wants_federation =
        needs.contains(&Need::Federation) && !ledger.is_unavailable(Need::Federation);
    // The peer is probed only for cases nothing else keeps from running.
    let wants_peer = selected.iter().any(|p| match p {
        Planned::Run(c) => {
            c.needs.contains(&Need::MockPeer) && !c.needs.iter().any(|n| ledger.is_unavailable(*n))
        }
        Planned::Skip(..) | Planned::NotRun(..) => false,
    });
    if !wants_federation && !wants_peer {
        return None;
    }
    warn_readable_key_files(&config.federation, ledger);
    let key_existed = config.federation.signing_key.exists();
    let (peer, context) = match start_key_server(
        &config.federation,
        &session.server_name,
        &session.federation_base,
        session.http.redactor(),
    )
    .await
    {
        Ok(started) => started,
        Err(reason) => {
            ledger.unavailable_after("federation", &[Need::Federation, Need::MockPeer], reason);
            return None;
        }
    };
    session.peer = Some(peer.clone());
    session
        .base_vars
        .insert("mock_server_name".into(), peer.server_name().to_owned());
    if wants_federation {
        verify_signature(
            &config.federation,
            session,
            &peer,
            context,
            key_existed,
            ledger,
        )
        .await;
    }
    if wants_peer {
        probe_peer(session, &peer, ledger).await;
    }
    Some(peer)
}

/// A preflight warning for each secret key file other users can read.
fn warn_readable_key_files(settings: &FederationSettings, ledger: &mut Ledger<'_>) {
    let ca_key = crate::peer::server::ca_key_path(&settings.ca_out);
    for (path, what) in [
        (settings.signing_key.as_path(), "the signing key"),
        (ca_key.as_path(), "the key server's CA key"),
    ] {
        if let Some(warning) = readable_by_others(path, what) {
            ledger.report("key files", false, warning);
        }
    }
}

/// The signed probe: on success the session can sign requests; otherwise the federation
/// cases are blocked by the diagnosis.
async fn verify_signature(
    settings: &FederationSettings,
    session: &mut Session,
    peer: &Arc<Peer>,
    context: FederationContext,
    key_existed: bool,
    ledger: &mut Ledger<'_>,
) {
    match signed_probe(settings, session, peer, &context, key_existed).await {
        Ok(setup) => {
            let (verified, detail) = match setup {
                FederationSetup::Verified(d) => (true, d),
                FederationSetup::Unverified(d) => (false, d),
            };
            ledger.report("federation", verified, detail);
            session.federation = Some(context);
        }
        Err(reason) => ledger.unavailable_after("federation", &[Need::Federation], reason),
    }
}

/// Stage "mock peer" ([`super::peer_probe`]), with the user's token.
async fn probe_peer(session: &Session, peer: &Peer, ledger: &mut Ledger<'_>) {
    let probed = match session.user.as_ref() {
        Some(user) => super::peer_probe::probe_remote(session, peer, &user.access_token).await,
        None => Err("no user account to ask the target for remote media".into()),
    };
    match probed {
        Ok(contacted) => ledger.report("mock peer", contacted.verified, contacted.detail),
        Err(reason) => ledger.unavailable_after("mock peer", &[Need::MockPeer], reason),
    }
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
    settings: &FederationSettings,
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
    config.cdn_host = settings.reach_host.clone();
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
enum FederationSetup {
    /// The target accepted a signed request; the detail says how.
    Verified(String),
    /// The signed probe got no HTTP answer at all (the federation media endpoint misbehaves on
    /// every request): nothing was refused, so the cases run and judge that endpoint.
    Unverified(String),
}

/// Checks with one signed request that the target can verify us (our key server `peer` is
/// running). `Ok` describes the set-up; `Err` is the reason federation cases are skipped,
/// with the fix. `key_existed`: the signing key file was there before this run.
async fn signed_probe(
    settings: &FederationSettings,
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
    // The probe asks for media that does not exist: only an authentication refusal says the
    // signature was not accepted; a 404, a 504 M_NOT_YET_UPLOADED or any other answer about the
    // media came after the signature was verified. A refusal is diagnosed from what the target
    // did on our key server.
    let errcode = super::endpoints::errcode_of(response);
    let accepted = match read_signed_probe(response.status, errcode.as_deref()) {
        ProbeReading::Accepted => true,
        ProbeReading::Refused => false,
        ProbeReading::Unknown => {
            return Ok(FederationSetup::Unverified(format!(
                "not known whether the target accepts our signature: {answer}; the federation cases run and judge that endpoint"
            )));
        }
    };
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
            server_version: session.server_version.clone(),
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

/// Checks that `--federation-url` serves the federation media API: an unsigned download must be
/// refused (401/400/403) or answered, not be an unknown endpoint. `Err` says what to pass.
async fn api_answer(session: &Session) -> Result<(), String> {
    let exchange = send_probe(session, &session.federation_base, |_| Ok(Vec::new())).await?;
    let response = match &exchange.response {
        Ok(response) => response,
        // The media endpoint gave no HTTP answer. If the key document answers, the federation
        // API is there and only its media endpoints misbehave: the cases judge them, one by one.
        Err(media_failure) => {
            let key = format!("{}/_matrix/key/v2/server", session.federation_base);
            return match session.get(key).await.response {
                Ok(_) => Ok(()),
                Err(e) => Err(format!(
                    "{}: {}; GET /_matrix/key/v2/server got no answer either: {e}",
                    suggest_federation_url(session).await,
                    unreachable(&session.federation_base, media_failure)
                )),
            };
        }
    };
    if is_unrecognized_endpoint(response) {
        return Err(format!(
            "{}: {} does not serve the federation media API ({} answered {} {})",
            suggest_federation_url(session).await,
            session.federation_base,
            exchange.request.line(),
            response.status,
            crate::check::body_excerpt(&response.body, response.body_len, 120)
        ));
    }
    Ok(())
}

/// "pass --federation-url URL", where URL is the client base URL when our key request is
/// answered there with a key document (a server with one listener for both APIs), else
/// `https://HOST:8448` for the server name's host.
async fn suggest_federation_url(session: &Session) -> String {
    let serves_keys = session.base != session.federation_base
        && session
            .get(format!("{}/_matrix/key/v2/server", session.base))
            .await
            .response
            .is_ok_and(|r| {
                r.status == 200 && r.json().is_some_and(|j| j.get("server_name").is_some())
            });
    let url = if serves_keys {
        session.base.clone()
    } else {
        let host = match session.server_name.rsplit_once(':') {
            Some((host, port)) if port.parse::<u16>().is_ok() => host,
            _ => session.server_name.as_str(),
        };
        format!("https://{host}:8448")
    };
    format!("pass --federation-url {url}")
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
    format!("the target's federation API at {base} is not reachable ({failure})")
}

/// What the answer to the signed probe says about our signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeReading {
    /// Anything but an authentication refusal: the signature was verified, the answer is about
    /// the (unknown) media.
    Accepted,
    /// 401, 403, or 400 `M_UNAUTHORIZED` (a header the target could not read).
    Refused,
    /// A 5xx without a Matrix error (a proxy's page): the target's own answer is unknown.
    Unknown,
}

/// Reads the signed probe's answer by its status and Matrix error code. Pure.
pub fn read_signed_probe(status: u16, errcode: Option<&str>) -> ProbeReading {
    match (status, errcode) {
        (401 | 403, _) | (400, Some("M_UNAUTHORIZED")) => ProbeReading::Refused,
        (500..=599, None) => ProbeReading::Unknown,
        _ => ProbeReading::Accepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_authentication_refusal_refuses_the_signed_probe() {
        for (status, errcode, reading) in [
            (404, Some("M_NOT_FOUND"), ProbeReading::Accepted),
            (404, Some("M_UNRECOGNIZED"), ProbeReading::Accepted),
            (504, Some("M_NOT_YET_UPLOADED"), ProbeReading::Accepted),
            (200, None, ProbeReading::Accepted),
            (400, Some("M_INVALID_PARAM"), ProbeReading::Accepted),
            (502, Some("M_UNKNOWN"), ProbeReading::Accepted),
            (401, Some("M_UNAUTHORIZED"), ProbeReading::Refused),
            (403, Some("M_FORBIDDEN"), ProbeReading::Refused),
            (403, None, ProbeReading::Refused),
            (400, Some("M_UNAUTHORIZED"), ProbeReading::Refused),
            (502, None, ProbeReading::Unknown),
            (500, None, ProbeReading::Unknown),
        ] {
            assert_eq!(
                read_signed_probe(status, errcode),
                reading,
                "{status} {errcode:?}"
            );
        }
    }
}
