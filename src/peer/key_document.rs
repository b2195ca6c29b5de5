//! Server key documents (`GET /_matrix/key/v2/server`, checklist §3.4, K-01..K-03, F-31).
//!
//! What it does:
//! * [`server_key_document`] builds the self-signed document the mock peer publishes:
//!   `server_name`, `verify_keys`, `old_verify_keys` (left out when there are none),
//!   `valid_until_ts` and `signatures`, signed with the current key through
//!   [`sign_json`](crate::federation::canonical_json::sign_json);
//! * [`check_server_key_document`] judges a document served by a target homeserver and returns
//!   every [`KeyDocProblem`] it finds (an empty list means the document is acceptable).
//!
//! What it does not do: it is pure (no clock, no I/O: the caller passes the times), does not
//! fetch documents, does not handle notary responses (`/_matrix/key/v2/query`) or notary
//! signatures, and does not judge `old_verify_keys` (the spec only uses them for events).

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value, json};

use crate::federation::canonical_json::{SignJsonError, sign_json, verify_json_signature};
use crate::federation::signing_key::{SigningKey, decode_b64};

/// The spec asks origin servers to avoid documents that expire in less than an hour.
pub const MIN_VALIDITY_MS: u64 = 3_600_000;

/// A key that used to sign for the server, published under `old_verify_keys`.
#[derive(Debug, Clone)]
pub struct OldKey {
    /// The retired key (only its public half is published).
    pub key: SigningKey,
    /// When it stopped being used, in milliseconds since the Unix epoch.
    pub expired_ts: u64,
}

/// Errors building a key document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyDocumentError {
    /// The same key ID is both current and old, or listed twice among the old keys.
    #[error("key id {key_id} is listed twice in the key document (give every key its own version)")]
    DuplicateKeyId {
        /// The repeated key ID.
        key_id: String,
    },
    /// Signing failed, e.g. a timestamp beyond canonical JSON's integer range.
    #[error("cannot sign the key document: {0}")]
    Sign(#[from] SignJsonError),
}

/// Builds the self-signed server key document for `server_name`.
///
/// `current` goes into `verify_keys` and signs the document; every entry of `old` goes into
/// `old_verify_keys` with its `expired_ts`. `valid_until_ts` is in milliseconds since the Unix
/// epoch and must be at most `2^53 - 1` (canonical JSON).
pub fn server_key_document(
    server_name: &str,
    current: &SigningKey,
    old: &[OldKey],
    valid_until_ts: u64,
) -> Result<Value, KeyDocumentError> {
    server_key_document_with(server_name, current, &[], old, valid_until_ts)
}

/// As [`server_key_document`], with `also_current` published in `verify_keys` too (a rotation
/// key beside the long-lived key, which is never demoted). The document is signed by `current`.
pub fn server_key_document_with(
    server_name: &str,
    current: &SigningKey,
    also_current: &[SigningKey],
    old: &[OldKey],
    valid_until_ts: u64,
) -> Result<Value, KeyDocumentError> {
    let mut seen = BTreeSet::from([current.key_id.as_str()]);
    let mut verify_keys = Map::new();
    verify_keys.insert(
        current.key_id.clone(),
        json!({"key": current.public_key_b64()}),
    );
    for key in also_current {
        if !seen.insert(key.key_id.as_str()) {
            return Err(KeyDocumentError::DuplicateKeyId {
                key_id: key.key_id.clone(),
            });
        }
        verify_keys.insert(key.key_id.clone(), json!({"key": key.public_key_b64()}));
    }
    let mut old_keys = Map::new();
    for entry in old {
        if !seen.insert(entry.key.key_id.as_str()) {
            return Err(KeyDocumentError::DuplicateKeyId {
                key_id: entry.key.key_id.clone(),
            });
        }
        old_keys.insert(
            entry.key.key_id.clone(),
            json!({"key": entry.key.public_key_b64(), "expired_ts": entry.expired_ts}),
        );
    }

    let mut doc = json!({
        "server_name": server_name,
        "verify_keys": Value::Object(verify_keys),
        "valid_until_ts": valid_until_ts,
    });
    if !old_keys.is_empty() {
        doc["old_verify_keys"] = Value::Object(old_keys);
    }
    sign_json(&mut doc, server_name, current)?;
    Ok(doc)
}

/// One thing wrong with a server key document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyDocProblem {
    /// The document is not a JSON object.
    NotAnObject,
    /// `server_name` is absent or not a string.
    ServerNameMissing,
    /// `server_name` is not the server that was asked.
    ServerNameMismatch {
        /// The server the document was fetched from.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// `verify_keys` is absent or not an object.
    VerifyKeysMissing,
    /// `verify_keys` is an empty object.
    VerifyKeysEmpty,
    /// A key ID in `verify_keys` does not match `ed25519:[a-zA-Z0-9_]+`.
    BadKeyId {
        /// The key ID.
        key_id: String,
    },
    /// A `verify_keys` entry has no usable public key.
    BadVerifyKey {
        /// The key ID.
        key_id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `signatures[server_name]` is absent or not an object.
    SignaturesMissing {
        /// The server name the signatures were looked up under.
        server_name: String,
    },
    /// None of the signatures is by a key listed in `verify_keys`.
    NoSelfSignature {
        /// The key IDs that did sign, if any.
        signed_by: Vec<String>,
    },
    /// A signature by a listed verify key does not verify.
    SignatureInvalid {
        /// The key ID.
        key_id: String,
        /// Why the check failed.
        reason: String,
    },
    /// `valid_until_ts` is absent.
    ValidUntilMissing,
    /// `valid_until_ts` is not a non-negative integer.
    ValidUntilNotInteger {
        /// The value as JSON text.
        found: String,
    },
    /// `valid_until_ts` is less than an hour away (or in the past).
    ValidUntilTooSoon {
        /// The document's `valid_until_ts`.
        valid_until_ts: u64,
        /// The clock used for the check, in milliseconds since the Unix epoch.
        now_ms: u64,
    },
}

impl fmt::Display for KeyDocProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyDocProblem::NotAnObject => write!(f, "the key document is not a JSON object"),
            KeyDocProblem::ServerNameMissing => {
                write!(f, "the key document has no string `server_name`")
            }
            KeyDocProblem::ServerNameMismatch { expected, found } => write!(
                f,
                "`server_name` is {found:?} but the document was fetched for {expected:?}"
            ),
            KeyDocProblem::VerifyKeysMissing => {
                write!(f, "the key document has no `verify_keys` object")
            }
            KeyDocProblem::VerifyKeysEmpty => write!(f, "`verify_keys` lists no key"),
            KeyDocProblem::BadKeyId { key_id } => write!(
                f,
                "verify key id {key_id:?} does not match `ed25519:[a-zA-Z0-9_]+`"
            ),
            KeyDocProblem::BadVerifyKey { key_id, reason } => {
                write!(f, "verify key {key_id} is unusable: {reason}")
            }
            KeyDocProblem::SignaturesMissing { server_name } => write!(
                f,
                "the key document has no `signatures` object for {server_name:?} (it must be self-signed)"
            ),
            KeyDocProblem::NoSelfSignature { signed_by } if signed_by.is_empty() => write!(
                f,
                "the key document is not signed by any of its `verify_keys` (no signature at all)"
            ),
            KeyDocProblem::NoSelfSignature { signed_by } => write!(
                f,
                "the key document is not signed by any of its `verify_keys` (signed only by {})",
                signed_by.join(", ")
            ),
            KeyDocProblem::SignatureInvalid { key_id, reason } => {
                write!(
                    f,
                    "the self-signature by {key_id} does not verify: {reason}"
                )
            }
            KeyDocProblem::ValidUntilMissing => {
                write!(f, "the key document has no `valid_until_ts`")
            }
            KeyDocProblem::ValidUntilNotInteger { found } => write!(
                f,
                "`valid_until_ts` is {found}, not a non-negative integer of milliseconds"
            ),
            KeyDocProblem::ValidUntilTooSoon {
                valid_until_ts,
                now_ms,
            } => {
                let delta = i128::from(*valid_until_ts) - i128::from(*now_ms);
                write!(
                    f,
                    "`valid_until_ts` {valid_until_ts} is {} (the spec asks for at least an hour)",
                    describe_delta(delta)
                )
            }
        }
    }
}

fn describe_delta(delta_ms: i128) -> String {
    if delta_ms < 0 {
        format!("{} s in the past", (-delta_ms) / 1000)
    } else {
        format!("only {} s in the future", delta_ms / 1000)
    }
}

/// Whether `key_id` matches `ed25519:[a-zA-Z0-9_]+`.
fn is_valid_ed25519_key_id(key_id: &str) -> bool {
    key_id
        .strip_prefix("ed25519:")
        .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// Why a published public key is unusable, or `None` if it is 32 bytes of unpadded base64.
fn public_key_problem(entry: &Value) -> Option<String> {
    let Some(key) = entry.get("key") else {
        return Some("the entry has no `key` field".to_owned());
    };
    let Some(text) = key.as_str() else {
        return Some(format!("`key` is {key}, not a string"));
    };
    if text.ends_with('=') {
        return Some("`key` is padded base64 (Matrix uses unpadded base64)".to_owned());
    }
    match decode_b64(text) {
        Err(e) => Some(format!(
            "`key` is not valid base64: {}",
            crate::federation::signing_key::describe_b64_error(&e)
        )),
        Ok(bytes) if bytes.len() != 32 => Some(format!(
            "`key` decodes to {} bytes, an ed25519 key has 32",
            bytes.len()
        )),
        Ok(_) => None,
    }
}

/// Judges a server key document served by the target (F-31).
///
/// Checks, in order: `server_name` equals `expected_server_name`; `verify_keys` is a non-empty
/// object whose IDs match `ed25519:[a-zA-Z0-9_]+` and whose keys are 32 bytes of unpadded
/// base64; `signatures[server_name]` holds a signature by at least one listed verify key and
/// every signature by a listed (usable) verify key verifies (signatures by unlisted keys are
/// ignored); `valid_until_ts` is an integer at least [`MIN_VALIDITY_MS`] after `now_ms`.
/// Returns every problem found; an empty list means the document passes.
pub fn check_server_key_document(
    doc: &Value,
    expected_server_name: &str,
    now_ms: u64,
) -> Vec<KeyDocProblem> {
    let mut problems = Vec::new();
    let Some(map) = doc.as_object() else {
        return vec![KeyDocProblem::NotAnObject];
    };

    match map.get("server_name").and_then(Value::as_str) {
        None => problems.push(KeyDocProblem::ServerNameMissing),
        Some(found) if found != expected_server_name => {
            problems.push(KeyDocProblem::ServerNameMismatch {
                expected: expected_server_name.to_owned(),
                found: found.to_owned(),
            });
        }
        Some(_) => {}
    }

    // Usable verify keys: key ID → public key (base64).
    let mut usable: Vec<(&str, &str)> = Vec::new();
    match map.get("verify_keys").and_then(Value::as_object) {
        None => problems.push(KeyDocProblem::VerifyKeysMissing),
        Some(keys) if keys.is_empty() => problems.push(KeyDocProblem::VerifyKeysEmpty),
        Some(keys) => {
            for (key_id, entry) in keys {
                if !is_valid_ed25519_key_id(key_id) {
                    problems.push(KeyDocProblem::BadKeyId {
                        key_id: key_id.clone(),
                    });
                    continue;
                }
                match public_key_problem(entry) {
                    Some(reason) => problems.push(KeyDocProblem::BadVerifyKey {
                        key_id: key_id.clone(),
                        reason,
                    }),
                    None => {
                        if let Some(key) = entry.get("key").and_then(Value::as_str) {
                            usable.push((key_id.as_str(), key));
                        }
                    }
                }
            }
        }
    }

    // Signatures are looked up under the document's own name when it has one (that is what a
    // requesting server does), else under the expected name.
    let signer = map
        .get("server_name")
        .and_then(Value::as_str)
        .unwrap_or(expected_server_name);
    let listed: BTreeSet<&str> = map
        .get("verify_keys")
        .and_then(Value::as_object)
        .map(|keys| keys.keys().map(String::as_str).collect())
        .unwrap_or_default();
    match map
        .get("signatures")
        .and_then(Value::as_object)
        .and_then(|s| s.get(signer))
        .and_then(Value::as_object)
    {
        None => problems.push(KeyDocProblem::SignaturesMissing {
            server_name: signer.to_owned(),
        }),
        Some(sigs) => {
            if !sigs.keys().any(|id| listed.contains(id.as_str())) {
                problems.push(KeyDocProblem::NoSelfSignature {
                    signed_by: sigs.keys().cloned().collect(),
                });
            }
            for (key_id, public_key) in &usable {
                if !sigs.contains_key(*key_id) {
                    continue;
                }
                if let Err(e) = verify_json_signature(doc, signer, key_id, public_key) {
                    problems.push(KeyDocProblem::SignatureInvalid {
                        key_id: (*key_id).to_owned(),
                        reason: e.to_string(),
                    });
                }
            }
        }
    }

    match map.get("valid_until_ts") {
        None => problems.push(KeyDocProblem::ValidUntilMissing),
        Some(v) => match v.as_u64() {
            None => problems.push(KeyDocProblem::ValidUntilNotInteger {
                found: v.to_string(),
            }),
            Some(ts) if ts < now_ms.saturating_add(MIN_VALIDITY_MS) => {
                problems.push(KeyDocProblem::ValidUntilTooSoon {
                    valid_until_ts: ts,
                    now_ms,
                });
            }
            Some(_) => {}
        },
    }

    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "127.0.0.1:9443";
    const NOW: u64 = 1_700_000_000_000;
    const DAY: u64 = 86_400_000;

    fn key(version: &str, byte: u8) -> SigningKey {
        SigningKey::from_seed(version, &[byte; 32]).unwrap()
    }

    fn doc() -> Value {
        let old = [OldKey {
            key: key("mcold_x", 2),
            expired_ts: NOW - DAY,
        }];
        server_key_document(NAME, &key("mc_1", 1), &old, NOW + DAY).unwrap()
    }

    /// Re-signs `doc` after a modification so that only the intended problem shows.
    fn resign(mut doc: Value, signer: &str, k: &SigningKey) -> Value {
        doc.as_object_mut().unwrap().remove("signatures");
        sign_json(&mut doc, signer, k).unwrap();
        doc
    }

    #[test]
    fn document_shape() {
        let d = doc();
        let k = key("mc_1", 1);
        assert_eq!(d["server_name"], NAME);
        assert_eq!(d["verify_keys"]["ed25519:mc_1"]["key"], k.public_key_b64());
        assert_eq!(
            d["old_verify_keys"]["ed25519:mcold_x"]["key"],
            key("mcold_x", 2).public_key_b64()
        );
        assert_eq!(
            d["old_verify_keys"]["ed25519:mcold_x"]["expired_ts"],
            NOW - DAY
        );
        assert_eq!(d["valid_until_ts"], NOW + DAY);
        verify_json_signature(&d, NAME, "ed25519:mc_1", &k.public_key_b64()).unwrap();
    }

    #[test]
    fn old_verify_keys_omitted_when_empty() {
        let d = server_key_document(NAME, &key("mc_1", 1), &[], NOW + DAY).unwrap();
        assert!(d.get("old_verify_keys").is_none());
        assert!(check_server_key_document(&d, NAME, NOW).is_empty());
    }

    #[test]
    fn duplicate_key_id_rejected() {
        let old = [OldKey {
            key: key("mc_1", 9),
            expired_ts: NOW,
        }];
        let err = server_key_document(NAME, &key("mc_1", 1), &old, NOW + DAY).unwrap_err();
        assert_eq!(
            err,
            KeyDocumentError::DuplicateKeyId {
                key_id: "ed25519:mc_1".into()
            }
        );
    }

    #[test]
    fn out_of_range_timestamp_is_an_error() {
        let err = server_key_document(NAME, &key("mc_1", 1), &[], u64::MAX).unwrap_err();
        assert!(matches!(err, KeyDocumentError::Sign(_)), "{err}");
    }

    #[test]
    fn own_document_passes() {
        assert_eq!(check_server_key_document(&doc(), NAME, NOW), vec![]);
    }

    #[test]
    fn wrong_server_name() {
        let p = check_server_key_document(&doc(), "other.example", NOW);
        assert_eq!(
            p,
            vec![KeyDocProblem::ServerNameMismatch {
                expected: "other.example".into(),
                found: NAME.into(),
            }]
        );
        assert!(p[0].to_string().contains("other.example"));
    }

    #[test]
    fn missing_server_name_and_not_object() {
        let mut d = doc();
        d.as_object_mut().unwrap().remove("server_name");
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(p.contains(&KeyDocProblem::ServerNameMissing), "{p:?}");
        assert_eq!(
            check_server_key_document(&json!([1]), NAME, NOW),
            vec![KeyDocProblem::NotAnObject]
        );
    }

    #[test]
    fn no_keys() {
        let mut d = doc();
        d["verify_keys"] = json!({});
        let d = resign(d, NAME, &key("mc_1", 1));
        let p = check_server_key_document(&d, NAME, NOW);
        assert_eq!(
            p,
            vec![
                KeyDocProblem::VerifyKeysEmpty,
                KeyDocProblem::NoSelfSignature {
                    signed_by: vec!["ed25519:mc_1".into()]
                },
            ]
        );
        let mut d = doc();
        d.as_object_mut().unwrap().remove("verify_keys");
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(p.contains(&KeyDocProblem::VerifyKeysMissing), "{p:?}");
    }

    #[test]
    fn bad_key_id() {
        let k = SigningKey {
            key_id: "ed25519:bad-id".into(),
            secret: key("x", 3).secret,
        };
        let d = server_key_document(NAME, &k, &[], NOW + DAY).unwrap();
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(
            p.contains(&KeyDocProblem::BadKeyId {
                key_id: "ed25519:bad-id".into()
            }),
            "{p:?}"
        );
        assert!(!is_valid_ed25519_key_id("ed25519:"));
        assert!(!is_valid_ed25519_key_id("curve25519:abc"));
        assert!(is_valid_ed25519_key_id("ed25519:a_Z9"));
    }

    #[test]
    fn bad_public_keys() {
        let k = key("mc_1", 1);
        for (value, needle) in [
            (json!({}), "no `key`"),
            (json!({"key": 5}), "not a string"),
            (json!({"key": format!("{}=", k.public_key_b64())}), "padded"),
            (json!({"key": "!!!!"}), "not valid base64"),
            (json!({"key": "AAAA"}), "3 bytes"),
        ] {
            let mut d = doc();
            d["verify_keys"]["ed25519:mc_1"] = value;
            let d = resign(d, NAME, &k);
            let p = check_server_key_document(&d, NAME, NOW);
            assert!(
                matches!(&p[..], [KeyDocProblem::BadVerifyKey { key_id, reason }]
                    if key_id == "ed25519:mc_1" && reason.contains(needle)),
                "{needle}: {p:?}"
            );
        }
    }

    #[test]
    fn tampered_field_fails_signature() {
        let mut d = doc();
        d["valid_until_ts"] = json!(NOW + 2 * DAY);
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(
            matches!(&p[..], [KeyDocProblem::SignatureInvalid { key_id, .. }] if key_id == "ed25519:mc_1"),
            "{p:?}"
        );
        assert!(p[0].to_string().contains("does not verify"));
    }

    #[test]
    fn every_listed_signature_must_verify() {
        // Two verify keys, both sign, one signature is then replaced by garbage.
        let a = key("a", 1);
        let b = key("b", 2);
        let mut d = server_key_document(NAME, &a, &[], NOW + DAY).unwrap();
        d["verify_keys"]["ed25519:b"] = json!({"key": b.public_key_b64()});
        let mut d = resign(d, NAME, &a);
        sign_json(&mut d, NAME, &b).unwrap();
        assert!(check_server_key_document(&d, NAME, NOW).is_empty());
        d["signatures"][NAME]["ed25519:b"] = json!(key("c", 3).sign(b"x"));
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(
            matches!(&p[..], [KeyDocProblem::SignatureInvalid { key_id, .. }] if key_id == "ed25519:b"),
            "{p:?}"
        );
    }

    #[test]
    fn signature_by_unlisted_key_only() {
        let mut d = doc();
        d.as_object_mut().unwrap().remove("signatures");
        sign_json(&mut d, NAME, &key("mcold_x", 2)).unwrap();
        let p = check_server_key_document(&d, NAME, NOW);
        assert_eq!(
            p,
            vec![KeyDocProblem::NoSelfSignature {
                signed_by: vec!["ed25519:mcold_x".into()]
            }]
        );
        let mut d = doc();
        d.as_object_mut().unwrap().remove("signatures");
        let p = check_server_key_document(&d, NAME, NOW);
        assert_eq!(
            p,
            vec![KeyDocProblem::SignaturesMissing {
                server_name: NAME.into()
            }]
        );
    }

    #[test]
    fn expires_too_soon() {
        let k = key("mc_1", 1);
        let d = server_key_document(NAME, &k, &[], NOW + MIN_VALIDITY_MS - 1).unwrap();
        let p = check_server_key_document(&d, NAME, NOW);
        assert_eq!(
            p,
            vec![KeyDocProblem::ValidUntilTooSoon {
                valid_until_ts: NOW + MIN_VALIDITY_MS - 1,
                now_ms: NOW
            }]
        );
        assert!(p[0].to_string().contains("only 3599 s in the future"));
        let d = server_key_document(NAME, &k, &[], NOW + MIN_VALIDITY_MS).unwrap();
        assert!(check_server_key_document(&d, NAME, NOW).is_empty());
        let d = server_key_document(NAME, &k, &[], NOW - 5000).unwrap();
        let p = check_server_key_document(&d, NAME, NOW);
        assert!(p[0].to_string().contains("5 s in the past"), "{}", p[0]);
    }

    #[test]
    fn missing_or_non_integer_valid_until_ts() {
        let k = key("mc_1", 1);
        let mut d = doc();
        d.as_object_mut().unwrap().remove("valid_until_ts");
        let d = resign(d, NAME, &k);
        assert_eq!(
            check_server_key_document(&d, NAME, NOW),
            vec![KeyDocProblem::ValidUntilMissing]
        );
        let mut d = doc();
        d["valid_until_ts"] = json!("soon");
        let d = resign(d, NAME, &k);
        assert_eq!(
            check_server_key_document(&d, NAME, NOW),
            vec![KeyDocProblem::ValidUntilNotInteger {
                found: "\"soon\"".into()
            }]
        );
    }
}
