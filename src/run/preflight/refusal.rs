//! Why the target refused our signed probe, from what it did on our key server: the reason
//! and the fix, the generic requirement first, then per-implementation hints. Pure.

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
    /// The target's name and version, when it says (its settings are named first).
    pub server_version: Option<String>,
}

/// Paths of requests for our key document among the peer's observations.
pub fn key_requests(observations: &[crate::peer::Observation]) -> Vec<String> {
    observations
        .iter()
        .filter(|o| o.path.starts_with("/_matrix/key/"))
        .map(|o| o.path.clone())
        .collect()
}

/// When our server name is an IP literal, that may be why the target never came for our key.
pub fn ip_literal_hint(peer_server_name: &str) -> String {
    if !crate::peer::is_ip_literal(peer_server_name) {
        return String::new();
    }
    let port = peer_server_name.rsplit_once(':').map_or("8448", |(_, p)| p);
    format!(
        "; our server name {peer_server_name} is an IP literal, and some servers never fetch keys from one: pass --peer-server-name localhost:{port}"
    )
}

/// The reason and fix for a refused signed probe, from what happened: whether the target
/// fetched our key at all, and which key id it asked for. The generic requirement comes first,
/// then per-implementation hints. Pure.
pub fn diagnose_refusal(f: &RefusalFacts) -> String {
    let trust = format!(
        "the target must reach {} over HTTPS: {}",
        f.key_url,
        super::hints::hint(
            super::hints::Topic::FederationToPeer,
            f.server_version.as_deref(),
            &f.ca_path
        )
    );
    if f.key_requests.is_empty() {
        return format!(
            "the target refused our signed request and never fetched our key ({}): {trust}{}",
            f.answer,
            ip_literal_hint(&f.peer_server_name)
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
            server_version: None,
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
    fn an_ip_literal_name_is_named_as_a_possible_cause() {
        let d = diagnose_refusal(&facts(&[], 401));
        assert!(
            d.contains("is an IP literal") && d.contains("--peer-server-name localhost:9443"),
            "{d}"
        );
        let mut named = facts(&[], 401);
        named.peer_server_name = "localhost:9443".into();
        let d = diagnose_refusal(&named);
        assert!(!d.contains("IP literal"), "{d}");
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
