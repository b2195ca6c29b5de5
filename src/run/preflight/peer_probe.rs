//! Stage "mock peer": asks the target, as a client, for media on our mock peer and looks at
//! whether the peer was contacted. Needs the running peer and the user; adds nothing but the
//! finding (the `remote` cases are blocked by it when the target never came).

use crate::exchange::SignatureVerdict;
use crate::peer::Peer;
use crate::run::session::Session;

/// Asks the target, as a client, for media on the mock peer and looks at whether the peer was
/// contacted. `Err` is the reason the remote cases are skipped, with the configuration fix.
///
/// A target may still be backing off from the peer's server name after a previous run whose
/// scenarios failed on purpose (Synapse: 1-2 s with the settings of `scripts/synapse.sh`, 10
/// minutes by default). The federation set-up just sent it a signed request from the peer,
/// which makes Synapse reset that backoff, so an uncontacted probe is tried again, three times
/// in all, a second apart.
pub async fn probe_remote(
    session: &Session,
    peer: &Peer,
    token: &str,
) -> Result<Contacted, String> {
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

async fn probe_remote_once(
    session: &Session,
    peer: &Peer,
    token: &str,
) -> Result<Contacted, String> {
    let media_id = format!("inline-bytes_{}probe", session.unique());
    let name = peer.server_name();
    let url = format!(
        "{}/_matrix/client/v1/media/download/{name}/{media_id}",
        session.base
    );
    let exchange = session.get_as(url, token).await;
    let answer = match &exchange.response {
        Ok(r) => crate::check::status::describe_status(r),
        Err(e) => e.to_string(),
    };
    let seen = session.peer_requests(&media_id);
    if seen.is_empty() {
        return Err(format!(
            "the target never contacted the mock peer {name} when a client asked for mxc://{name}/{media_id} (it answered {answer}). \
             The remote cases need the target to federate with https://{name}: {} (scripts/synapse-homeserver.yaml.in has Synapse's){}",
            super::hints::hint(
                super::hints::Topic::FederationToPeer,
                session.server_version.as_deref(),
                &peer.ca_path().display().to_string()
            ),
            super::refusal::ip_literal_hint(name)
        ));
    }
    let first = &seen[0];
    let sent = format!(
        "a client download of mxc://{name}/{media_id} made the target send {} ({}); the client got {answer}",
        first.line(),
        first.signature
    );
    Ok(Contacted {
        verified: matches!(first.signature, SignatureVerdict::Verified { .. })
            && first.path.starts_with("/_matrix/federation/"),
        detail: sent,
    })
}

/// The target contacted the peer: how, and whether its first request was a federation request
/// whose signature verified (only then is the preflight line a ✔; otherwise the cases run and
/// judge what it did: G-02 the path, G-03 the signature).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contacted {
    pub verified: bool,
    pub detail: String,
}
