//! Signing federation requests for cases: picks the key a case asks for, the uri and
//! destination to sign, and the header spelling, then renders the `Authorization` value.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::federation::signing_key::SigningKey;
use crate::federation::xmatrix::{self, HeaderVariant};
use crate::suite::model::{KeyChoice, XMatrixSpec};
use crate::template;

/// Where the keys of the tester's server come from (the running key server).
pub trait FederationKeys: Send + Sync {
    /// The key published in `verify_keys` now.
    fn current(&self) -> SigningKey;
    /// A key published only in `old_verify_keys`.
    fn old(&self) -> SigningKey;
    /// Publishes a new throw-away key beside the current one; the previous throw-away key
    /// moves to `old_verify_keys`.
    fn rotate(&self) -> SigningKey;
    /// The throw-away key of the last rotation.
    fn rotated(&self) -> Option<SigningKey>;
    /// How many times the target fetched our key document so far.
    fn key_fetches(&self) -> usize;
    /// K-03: from now on our key document claims `valid_until_ts` an hour in the past
    /// (`true`), or the usual 24 h again (`false`).
    fn set_expired(&self, expired: bool);
}

/// What a run needs to send signed federation requests.
#[derive(Clone)]
pub struct FederationContext {
    /// Base URL of the target's federation API, without a trailing slash.
    pub base: String,
    /// Our server name (the `origin`).
    pub origin: String,
    pub keys: Arc<dyn FederationKeys>,
    /// A key that is never published anywhere.
    pub unknown_key: SigningKey,
}

impl FederationKeys for crate::peer::Peer {
    fn current(&self) -> SigningKey {
        self.current_key()
    }
    fn old(&self) -> SigningKey {
        self.old_key()
    }
    fn rotate(&self) -> SigningKey {
        crate::peer::Peer::rotate(self)
    }
    fn rotated(&self) -> Option<SigningKey> {
        self.rotation_key()
    }
    fn key_fetches(&self) -> usize {
        crate::peer::Peer::key_fetches(self)
    }
    fn set_expired(&self, expired: bool) {
        crate::peer::Peer::set_expired(self, expired);
    }
}

/// Finds a header variant by its kebab-case name.
pub fn variant_by_name(name: &str) -> Option<HeaderVariant> {
    HeaderVariant::ALL.into_iter().find(|v| v.name() == name)
}

impl FederationContext {
    /// The `Authorization` header value for a request whose path and query on the wire are
    /// `uri`.
    pub fn authorization(
        &self,
        spec: &XMatrixSpec,
        method: &str,
        uri: &str,
        content: Option<&serde_json::Value>,
        vars: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let expand = |t: &str| template::expand(t, vars).map_err(|e| e.to_string());
        let key = match spec.key {
            KeyChoice::Current => self.keys.current(),
            KeyChoice::Old => self.keys.old(),
            KeyChoice::Unknown => self.unknown_key.clone(),
            KeyChoice::Rotated => self.keys.rotated().ok_or(
                "`key = \"rotated\"` needs an earlier `peer = \"rotate-key\"` step in the case",
            )?,
        };
        let destination = match &spec.destination {
            Some(d) => expand(d)?,
            None => vars
                .get("server_name")
                .cloned()
                .ok_or("no server name in this run")?,
        };
        let signed_uri = match &spec.sign_uri {
            Some(u) => expand(u)?,
            None => uri.to_string(),
        };
        let mut auth = xmatrix::sign_request(
            &key,
            method,
            &signed_uri,
            &self.origin,
            &destination,
            content,
        )
        .map_err(|e| format!("cannot sign the request: {e}"))?;
        if spec.flip_signature {
            auth.sig = flip_one_char(&auth.sig);
        }
        let variant = match &spec.variant {
            Some(name) => {
                variant_by_name(name).ok_or_else(|| format!("unknown X-Matrix variant `{name}`"))?
            }
            None => HeaderVariant::Canonical,
        };
        Ok(variant.render(&auth))
    }
}

/// Changes one base64 character so the signature no longer verifies but still decodes.
fn flip_one_char(sig: &str) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    if let Some(c) = chars.get_mut(5) {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::federation::xmatrix::{parse_header, verify_request};
    use std::sync::Mutex;

    struct Keys(Mutex<(SigningKey, SigningKey)>);

    impl FederationKeys for Keys {
        fn current(&self) -> SigningKey {
            self.0.lock().unwrap().0.clone()
        }
        fn old(&self) -> SigningKey {
            self.0.lock().unwrap().1.clone()
        }
        fn rotate(&self) -> SigningKey {
            let mut k = self.0.lock().unwrap();
            k.1 = k.0.clone();
            k.0 = SigningKey::generate("rotated").unwrap();
            k.0.clone()
        }
        fn rotated(&self) -> Option<SigningKey> {
            None
        }
        fn key_fetches(&self) -> usize {
            0
        }
        fn set_expired(&self, _: bool) {}
    }

    fn ctx() -> FederationContext {
        FederationContext {
            base: "http://hs".into(),
            origin: "peer.test".into(),
            keys: Arc::new(Keys(Mutex::new((
                SigningKey::generate("cur").unwrap(),
                SigningKey::generate("old").unwrap(),
            )))),
            unknown_key: SigningKey::generate("unknown").unwrap(),
        }
    }

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([("server_name".to_string(), "hs.test".to_string())])
    }

    #[test]
    fn default_spec_signs_a_verifiable_request() {
        let c = ctx();
        let uri = "/_matrix/federation/v1/media/download/abc?timeout_ms=5";
        let header = c
            .authorization(&XMatrixSpec::default(), "GET", uri, None, &vars())
            .unwrap();
        let parsed = parse_header(&header).unwrap();
        assert_eq!(parsed.destination.as_deref(), Some("hs.test"));
        verify_request(
            &parsed,
            "GET",
            uri,
            "hs.test",
            &c.keys.current().public_key_b64(),
            None,
        )
        .unwrap();
    }

    #[test]
    fn broken_variants_do_not_verify() {
        let c = ctx();
        let uri = "/_matrix/federation/v1/media/download/abc";
        let pk = c.keys.current().public_key_b64();
        let flipped = XMatrixSpec {
            flip_signature: true,
            ..Default::default()
        };
        let h = c
            .authorization(&flipped, "GET", uri, None, &vars())
            .unwrap();
        assert!(
            verify_request(&parse_header(&h).unwrap(), "GET", uri, "hs.test", &pk, None).is_err()
        );
        let other_uri = XMatrixSpec {
            sign_uri: Some("/other".into()),
            ..Default::default()
        };
        let h = c
            .authorization(&other_uri, "GET", uri, None, &vars())
            .unwrap();
        assert!(
            verify_request(&parse_header(&h).unwrap(), "GET", uri, "hs.test", &pk, None).is_err()
        );
        let old = XMatrixSpec {
            key: KeyChoice::Old,
            ..Default::default()
        };
        let h = c.authorization(&old, "GET", uri, None, &vars()).unwrap();
        assert!(
            verify_request(&parse_header(&h).unwrap(), "GET", uri, "hs.test", &pk, None).is_err()
        );
        let wrong_dest = XMatrixSpec {
            destination: Some("not-{server_name}".into()),
            ..Default::default()
        };
        let h = c
            .authorization(&wrong_dest, "GET", uri, None, &vars())
            .unwrap();
        assert_eq!(
            parse_header(&h).unwrap().destination.as_deref(),
            Some("not-hs.test")
        );
        let bad = XMatrixSpec {
            variant: Some("nope".into()),
            ..Default::default()
        };
        assert!(
            c.authorization(&bad, "GET", uri, None, &vars())
                .unwrap_err()
                .contains("unknown X-Matrix variant")
        );
    }
}
