//! Judging the `X-Matrix` signature of a request the peer received: parse the header, fetch
//! the origin's key document (`/_matrix/key/v2/server`), check its self-signature, and verify
//! the request signature over `{method, uri, origin, destination}`.
//!
//! Where a key document comes from: the base URL configured for that server name (a run maps
//! the target's server name to `--federation-url`), else `https://<name>` (`:8448` when the
//! name has no port). No `.well-known` or SRV lookup, and the origin's TLS certificate is not
//! verified: the document is self-signed, and that signature is what is checked. Documents
//! are cached for a minute and failures for 10 s (at most 1,024 origins); an unknown key ID
//! refetches once.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::exchange::SignatureVerdict;
use crate::federation::canonical_json::verify_json_signature;
use crate::federation::xmatrix::{parse_header, verify_request};

/// How long a fetched key document is reused.
const CACHE_FOR: Duration = Duration::from_secs(60);
/// Largest key document read.
const MAX_KEY_DOCUMENT: usize = 64 * 1024;
/// Timeout of one key document fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a failed fetch is remembered (forged origins must not cost a fetch each).
const FAILURE_CACHED_FOR: Duration = Duration::from_secs(10);
/// Most origins remembered; the cache is emptied when it is full.
const MAX_ORIGINS: usize = 1024;

/// Per origin: when it was fetched, and the document or why it could not be had.
type KeyCache = HashMap<String, (Instant, Result<Arc<KeyDocument>, String>)>;

/// A fetched key document, with the verdicts on its self-signature by each key ID asked about
/// (checked once per fetch, not once per request: an ed25519 verification each).
#[derive(Debug)]
struct KeyDocument {
    json: Value,
    self_signed: Mutex<HashMap<String, Result<(), String>>>,
}

impl KeyDocument {
    fn new(json: Value) -> Self {
        KeyDocument {
            json,
            self_signed: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the document is signed by `origin`'s key `key` (whose public half is `public`,
    /// read from this document).
    fn self_signature(&self, origin: &str, key: &str, public: &str) -> Result<(), String> {
        let mut verdicts = self
            .self_signed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        verdicts
            .entry(key.to_owned())
            .or_insert_with(|| {
                verify_json_signature(&self.json, origin, key, public).map_err(|e| e.to_string())
            })
            .clone()
    }
}

/// Fetches and caches origins' key documents and judges request signatures.
#[derive(Debug)]
pub struct SignatureJudge {
    client: reqwest::Client,
    sources: BTreeMap<String, String>,
    cache: Mutex<KeyCache>,
}

impl SignatureJudge {
    /// `sources` maps server names to the base URL their key document is fetched from.
    pub fn new(sources: BTreeMap<String, String>) -> Self {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .no_proxy()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        SignatureJudge {
            client,
            sources,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The verdict on a request with this `Authorization` value (`None`: not sent), sent to
    /// `own_name` as `method` `uri` (path and query as received).
    pub async fn judge(
        &self,
        authorization: Option<&str>,
        method: &str,
        uri: &str,
        own_name: &str,
    ) -> SignatureVerdict {
        let Some(value) = authorization else {
            return SignatureVerdict::NotSigned;
        };
        let parsed = match parse_header(value) {
            Ok(p) => p,
            Err(e) => return SignatureVerdict::Invalid(format!("unparsable X-Matrix header: {e}")),
        };
        // v1.3 server-server "Request Authentication": recipients should accept a header
        // without it, "but [senders] MUST always send it".
        if parsed.destination.is_none() {
            return SignatureVerdict::Invalid(
                "the X-Matrix header has no destination parameter (senders MUST send it since v1.3)"
                    .into(),
            );
        }
        let mut fresh = false;
        loop {
            let doc = match self.key_document(&parsed.origin, fresh).await {
                Ok(d) => d,
                // The target's own name, whose key we could not fetch: not judged. Another
                // origin (one we were not told where to ask) is a bad signature.
                Err(e) if self.sources.contains_key(&parsed.origin) => {
                    return SignatureVerdict::Unverifiable(e);
                }
                Err(e) => return SignatureVerdict::Invalid(e),
            };
            let public = doc
                .json
                .pointer(&format!("/verify_keys/{}/key", escape_pointer(&parsed.key)))
                .and_then(Value::as_str)
                .map(str::to_owned);
            let Some(public) = public else {
                if !fresh {
                    fresh = true;
                    continue;
                }
                return SignatureVerdict::Invalid(format!(
                    "{} does not publish key {} in verify_keys",
                    parsed.origin, parsed.key
                ));
            };
            if let Err(e) = doc.self_signature(&parsed.origin, &parsed.key, &public) {
                return SignatureVerdict::Invalid(format!(
                    "the key document of {} is not self-signed by {}: {e}",
                    parsed.origin, parsed.key
                ));
            }
            return match verify_request(&parsed, method, uri, own_name, &public, None) {
                Ok(()) => SignatureVerdict::Verified {
                    origin: parsed.origin.clone(),
                    key: parsed.key.clone(),
                },
                Err(e) => SignatureVerdict::Invalid(e.to_string()),
            };
        }
    }

    async fn key_document(&self, origin: &str, refresh: bool) -> Result<Arc<KeyDocument>, String> {
        if let Some((at, cached)) = self.lock().get(origin) {
            match cached {
                Ok(doc) if !refresh && at.elapsed() < CACHE_FOR => return Ok(doc.clone()),
                Err(e) if at.elapsed() < FAILURE_CACHED_FOR => return Err(e.clone()),
                _ => {}
            }
        }
        let fetched = self
            .fetch(origin)
            .await
            .map(|json| Arc::new(KeyDocument::new(json)));
        let mut cache = self.lock();
        if cache.len() >= MAX_ORIGINS {
            cache.clear();
        }
        cache.insert(origin.to_owned(), (Instant::now(), fetched.clone()));
        fetched
    }

    async fn fetch(&self, origin: &str) -> Result<Value, String> {
        let base = self.sources.get(origin).cloned().unwrap_or_else(|| {
            if origin.contains(':') && !origin.ends_with(']') {
                format!("https://{origin}")
            } else {
                format!("https://{origin}:8448")
            }
        });
        let url = format!("{}/_matrix/key/v2/server", base.trim_end_matches('/'));
        let fail = |e: String| format!("cannot fetch the key of {origin} from {url}: {e}");
        let mut response = self
            .client
            .get(&url)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !response.status().is_success() {
            return Err(fail(format!("it answered {}", response.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| fail(e.to_string()))? {
            if body.len() + chunk.len() > MAX_KEY_DOCUMENT {
                return Err(fail(format!("larger than {MAX_KEY_DOCUMENT} bytes")));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Value =
            serde_json::from_slice(&body).map_err(|e| fail(format!("not JSON: {e}")))?;
        if doc.get("server_name").and_then(Value::as_str) != Some(origin) {
            return Err(fail(format!(
                "it names server {}",
                doc.get("server_name")
                    .map_or("nothing".into(), Value::to_string)
            )));
        }
        Ok(doc)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, KeyCache> {
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A JSON pointer token (`~` → `~0`, `/` → `~1`).
fn escape_pointer(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}
