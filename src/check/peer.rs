//! Checks on what the mock peer received (the target as requester): whether it was contacted,
//! which request came first, which paths were (not) requested, query parameters, signatures.

use std::collections::BTreeMap;

use crate::exchange::{PeerRequest, SignatureVerdict};
use crate::glob::glob_match;
use crate::outcome::Finding;
use crate::suite::model::PeerExpect;
use crate::template;

/// Appends a finding for every expectation the peer's requests do not meet.
pub fn check_peer(
    expect: &PeerExpect,
    requests: &[PeerRequest],
    vars: &BTreeMap<String, String>,
    findings: &mut Vec<Finding>,
) {
    let expand = |p: &str| template::expand(p, vars).unwrap_or_else(|_| p.to_owned());
    let seen = summary(requests);
    if let Some(wanted) = expect.contacted {
        if wanted && requests.is_empty() {
            findings.push(Finding::new(
                "peer",
                "the target fetches the media from the mock peer",
                "the peer received no request for it",
            ));
        } else if !wanted && !requests.is_empty() {
            findings.push(Finding::new(
                "peer",
                "no request to the mock peer",
                format!("the peer received {seen}"),
            ));
        }
    }
    if let Some(first) = &expect.first {
        let patterns: Vec<String> = first.0.iter().map(|p| expand(p)).collect();
        match requests.first() {
            None => findings.push(Finding::new(
                "peer",
                format!("first request {}", patterns.join(" or ")),
                "the peer received no request for the media",
            )),
            Some(r) if !patterns.iter().any(|p| matches(p, r)) => findings.push(Finding::new(
                "peer",
                format!("first request {}", patterns.join(" or ")),
                format!("first was {} (all: {seen})", r.line()),
            )),
            Some(_) => {}
        }
    }
    for pattern in &expect.requested {
        let p = expand(pattern);
        if !requests.iter().any(|r| matches(&p, r)) {
            findings.push(Finding::new(
                "peer",
                format!("a request {p}"),
                format!("the peer received {seen}"),
            ));
        }
    }
    for pattern in &expect.not_requested {
        let p = expand(pattern);
        if let Some(r) = requests.iter().find(|r| matches(&p, r)) {
            findings.push(Finding::new(
                "peer",
                format!("no request {p}"),
                format!("the target sent {}", r.line()),
            ));
        }
    }
    for (pattern, params) in &expect.query {
        let p = expand(pattern);
        for r in requests.iter().filter(|r| matches(&p, r)) {
            for param in params {
                let (name, value) = param
                    .split_once('=')
                    .map_or((param.as_str(), None), |(n, v)| (n, Some(v)));
                let ok = match (r.query_param(name), value) {
                    (None, _) => false,
                    (Some(_), None) => true,
                    (Some(found), Some(v)) => found == v,
                };
                if !ok {
                    findings.push(Finding::new(
                        "peer",
                        format!("{param} in the query of {p}"),
                        format!("the target sent {}", r.line()),
                    ));
                }
            }
        }
    }
    if expect.signed {
        for r in requests
            .iter()
            .filter(|r| r.path.starts_with("/_matrix/federation/"))
        {
            // An unverifiable signature is not judged here: the runner blocks the case.
            if !matches!(
                r.signature,
                SignatureVerdict::Verified { .. } | SignatureVerdict::Unverifiable(_)
            ) {
                findings.push(Finding::new(
                    "peer",
                    format!("{} signed with X-Matrix", r.line()),
                    r.signature.to_string(),
                ));
            }
        }
    }
}

/// `"GET /path"` matches method and path; `"/path"` the path with any method.
fn matches(pattern: &str, request: &PeerRequest) -> bool {
    match pattern.split_once(' ') {
        Some((method, path)) if !method.starts_with('/') => {
            method.eq_ignore_ascii_case(&request.method) && glob_match(path, &request.path)
        }
        _ => glob_match(pattern, &request.path),
    }
}

/// `2 requests: GET /a → 404, GET /b?x → 200`, or `no request`.
fn summary(requests: &[PeerRequest]) -> String {
    match requests.len() {
        0 => "no request".to_owned(),
        n => {
            let lines: Vec<String> = requests
                .iter()
                .take(4)
                .map(|r| format!("{} → {}", r.line(), r.status))
                .collect();
            let more = if n > 4 {
                format!(", … {} more", n - 4)
            } else {
                String::new()
            };
            format!(
                "{n} request{}: {}{more}",
                if n == 1 { "" } else { "s" },
                lines.join(", ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::model::OneOrMany;

    fn req(method: &str, path_and_query: &str, signature: SignatureVerdict) -> PeerRequest {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        PeerRequest {
            at_ms: 0,
            method: method.into(),
            path,
            query,
            headers: Vec::new(),
            status: 200,
            signature,
        }
    }

    fn verified() -> SignatureVerdict {
        SignatureVerdict::Verified {
            origin: "hs".into(),
            key: "ed25519:a".into(),
        }
    }

    fn run(expect: &PeerExpect, requests: &[PeerRequest]) -> Vec<Finding> {
        let vars = BTreeMap::from([("peer_media_id".to_string(), "x_1".to_string())]);
        let mut findings = Vec::new();
        check_peer(expect, requests, &vars, &mut findings);
        findings
    }

    #[test]
    fn a_fallback_after_the_federation_attempt_passes_and_other_orders_fail() {
        let expect = PeerExpect {
            first: Some(OneOrMany(vec![
                "GET /_matrix/federation/v1/media/download/{peer_media_id}".into(),
            ])),
            requested: vec!["GET /_matrix/media/*/download/*/{peer_media_id}".into()],
            query: BTreeMap::from([(
                "/_matrix/media/*".to_string(),
                vec!["allow_remote=false".to_string()],
            )]),
            signed: true,
            ..PeerExpect::default()
        };
        let good = [
            req(
                "GET",
                "/_matrix/federation/v1/media/download/x_1?timeout_ms=20000",
                verified(),
            ),
            req(
                "GET",
                "/_matrix/media/v3/download/peer/x_1?allow_remote=false",
                SignatureVerdict::NotSigned,
            ),
        ];
        assert!(run(&expect, &good).is_empty(), "{:?}", run(&expect, &good));
        let legacy_first = [good[1].clone(), good[0].clone()];
        assert_eq!(run(&expect, &legacy_first).len(), 1);
        let remote_true = [
            good[0].clone(),
            req(
                "GET",
                "/_matrix/media/v3/download/peer/x_1?allow_remote=true",
                SignatureVerdict::NotSigned,
            ),
        ];
        assert_eq!(run(&expect, &remote_true).len(), 1);
        let unsigned = [
            req(
                "GET",
                "/_matrix/federation/v1/media/download/x_1",
                SignatureVerdict::Invalid("wrong destination".into()),
            ),
            good[1].clone(),
        ];
        let findings = run(&expect, &unsigned);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].to_string().contains("wrong destination"),
            "{}",
            findings[0]
        );
        assert_eq!(
            run(&expect, &[]).len(),
            2,
            "no request: first and requested fail"
        );
    }

    #[test]
    fn contacted_and_not_requested() {
        let none = PeerExpect {
            contacted: Some(false),
            ..PeerExpect::default()
        };
        assert!(run(&none, &[]).is_empty());
        assert_eq!(run(&none, &[req("GET", "/cdn/x_1", verified())]).len(), 1);
        let some = PeerExpect {
            contacted: Some(true),
            not_requested: vec!["/_matrix/media/*".into()],
            ..PeerExpect::default()
        };
        assert_eq!(run(&some, &[]).len(), 1);
        assert_eq!(
            run(
                &some,
                &[req("POST", "/_matrix/media/v3/download/p/x_1", verified())]
            )
            .len(),
            1
        );
    }
}
