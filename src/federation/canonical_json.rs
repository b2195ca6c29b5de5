//! Matrix canonical JSON (spec appendices, "Canonical JSON") and signing/verifying JSON objects
//! ("Signing JSON").
//!
//! What it does:
//! * [`to_canonical_string`] serialises a `serde_json::Value` itself (it never relies on
//!   serde_json's map order): object keys sorted by Unicode codepoint, no insignificant
//!   whitespace, integers only in `[-(2^53)+1, 2^53-1]`, every non-integer number (including
//!   `1.0` and `-0`) rejected, strings with only the mandatory escapes (`\" \\ \b \f \n \r \t`,
//!   other C0 controls as lowercase `\u00xx`) and everything else, non-ASCII included, as raw
//!   UTF-8. Errors carry the JSON path of the offending value, e.g. `$.content.size`;
//! * [`sign_json`] removes `signatures` and `unsigned`, canonicalises, signs with ed25519 and
//!   inserts `signatures[entity][key_id]`, keeping other signatures;
//! * [`verify_json_signature`] checks one entity's signature with one given public key.
//!
//! What it does not do: it does not look keys up (the caller passes the public key), does not
//! compute or check event content hashes or redactions, and does not parse JSON text: it works on
//! an already-parsed `Value`, so duplicate keys in the original text (where `serde_json` keeps the
//! last one) cannot be detected here.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::signing_key::{self, SignatureCheckError, SigningKey};

/// Largest integer allowed in canonical JSON, `2^53 - 1`.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;
/// Smallest integer allowed in canonical JSON, `-(2^53) + 1`.
pub const MIN_SAFE_INTEGER: i64 = -MAX_SAFE_INTEGER;

/// A value that has no canonical JSON form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalJsonError {
    /// A number with a fraction or exponent, or any number `serde_json` stores as a float
    /// (canonical JSON allows integers only, so `1.0` is rejected too).
    #[error("{path}: number {value} is not an integer (canonical JSON allows integers only)")]
    Float {
        /// JSON path of the value, e.g. `$.content.size`.
        path: String,
        /// The number as `serde_json` prints it.
        value: String,
    },
    /// Negative zero (`-0` / `-0.0`), which canonical JSON forbids.
    #[error("{path}: negative zero is not allowed in canonical JSON")]
    NegativeZero {
        /// JSON path of the value.
        path: String,
    },
    /// An integer outside `[-(2^53)+1, 2^53-1]`.
    #[error("{path}: integer {value} is outside the canonical JSON range [-(2^53)+1, 2^53-1]")]
    IntegerOutOfRange {
        /// JSON path of the value.
        path: String,
        /// The integer.
        value: String,
    },
}

impl CanonicalJsonError {
    /// JSON path of the offending value.
    pub fn path(&self) -> &str {
        match self {
            CanonicalJsonError::Float { path, .. }
            | CanonicalJsonError::NegativeZero { path }
            | CanonicalJsonError::IntegerOutOfRange { path, .. } => path,
        }
    }
}

/// Serialises `v` as canonical JSON.
pub fn to_canonical_string(v: &Value) -> Result<String, CanonicalJsonError> {
    let mut out = String::new();
    let mut path = String::from("$");
    write_value(&mut out, &mut path, v)?;
    Ok(out)
}

/// Canonical JSON of an object without its `signatures` and `unsigned` members: the bytes that
/// get signed. A non-object is canonicalised as is.
pub fn to_canonical_string_for_signing(v: &Value) -> Result<String, CanonicalJsonError> {
    match v {
        Value::Object(map) => {
            let mut out = String::new();
            let mut path = String::from("$");
            write_object(&mut out, &mut path, map, &["signatures", "unsigned"])?;
            Ok(out)
        }
        other => to_canonical_string(other),
    }
}

fn write_value(out: &mut String, path: &mut String, v: &Value) -> Result<(), CanonicalJsonError> {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, path, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let len = path.len();
                let _ = write!(path, "[{i}]");
                write_value(out, path, item)?;
                path.truncate(len);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, path, map, &[])?,
    }
    Ok(())
}

fn write_object(
    out: &mut String,
    path: &mut String,
    map: &Map<String, Value>,
    skip: &[&str],
) -> Result<(), CanonicalJsonError> {
    // Sort explicitly: byte order of UTF-8 equals codepoint order, and this must not depend on
    // whether some crate in the graph enabled serde_json's `preserve_order`.
    let mut entries: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    out.push('{');
    for (i, (k, v)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        let len = path.len();
        push_path_key(path, k);
        write_value(out, path, v)?;
        path.truncate(len);
    }
    out.push('}');
    Ok(())
}

/// Appends `.key` for identifier-like keys, else `["key"]` with JSON escaping.
fn push_path_key(path: &mut String, key: &str) {
    let simple = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if simple {
        path.push('.');
        path.push_str(key);
    } else {
        path.push('[');
        write_string(path, key);
        path.push(']');
    }
}

fn write_number(
    out: &mut String,
    path: &str,
    n: &serde_json::Number,
) -> Result<(), CanonicalJsonError> {
    if let Some(i) = n.as_i64() {
        if !(MIN_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&i) {
            return Err(CanonicalJsonError::IntegerOutOfRange {
                path: path.to_owned(),
                value: i.to_string(),
            });
        }
        let _ = write!(out, "{i}");
        return Ok(());
    }
    if let Some(u) = n.as_u64() {
        // Only reached for u64 values above i64::MAX, which are out of range anyway.
        return Err(CanonicalJsonError::IntegerOutOfRange {
            path: path.to_owned(),
            value: u.to_string(),
        });
    }
    match n.as_f64() {
        Some(f) if f == 0.0 && f.is_sign_negative() => Err(CanonicalJsonError::NegativeZero {
            path: path.to_owned(),
        }),
        _ => Err(CanonicalJsonError::Float {
            path: path.to_owned(),
            value: n.to_string(),
        }),
    }
}

/// Writes `s` as a JSON string with only the mandatory escapes.
fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Errors signing a JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignJsonError {
    /// Only objects can be signed.
    #[error("only JSON objects can be signed")]
    NotAnObject,
    /// `signatures` or `signatures[entity]` exists but is not an object.
    #[error("{path} exists but is not an object")]
    SignaturesNotObject {
        /// JSON path, e.g. `$.signatures`.
        path: String,
    },
    /// The object has no canonical form.
    #[error(transparent)]
    Canonical(#[from] CanonicalJsonError),
}

/// Signs `obj` as `entity` with `key` and stores the signature at
/// `signatures[entity][key.key_id]` (unpadded base64). `signatures` and `unsigned` are left out
/// of the signed bytes; signatures by other entities or keys are kept, one by the same key is
/// replaced.
pub fn sign_json(obj: &mut Value, entity: &str, key: &SigningKey) -> Result<(), SignJsonError> {
    let canonical = to_canonical_string_for_signing(obj)?;
    let map = obj.as_object_mut().ok_or(SignJsonError::NotAnObject)?;
    let sig = key.sign(canonical.as_bytes());

    let signatures = map
        .entry("signatures")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| SignJsonError::SignaturesNotObject {
            path: "$.signatures".to_owned(),
        })?;
    let for_entity = signatures
        .entry(entity)
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .ok_or_else(|| {
            let mut path = String::from("$.signatures");
            push_path_key(&mut path, entity);
            SignJsonError::SignaturesNotObject { path }
        })?;
    for_entity.insert(key.key_id.clone(), Value::String(sig));
    Ok(())
}

/// Why a JSON signature check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The value is not an object.
    #[error("only JSON objects carry signatures")]
    NotAnObject,
    /// No `signatures[entity][key_id]`, or `signatures`/`signatures[entity]` is not an object.
    #[error("no signature by {entity} with key {key_id}")]
    MissingSignature {
        /// The entity (server name).
        entity: String,
        /// The key ID.
        key_id: String,
    },
    /// The signature is not a string.
    #[error("signature by {entity} with key {key_id} is not a string")]
    SignatureNotString {
        /// The entity.
        entity: String,
        /// The key ID.
        key_id: String,
    },
    /// The signature is not valid base64.
    #[error("signature is not valid base64: {0}")]
    SignatureBase64(String),
    /// The key ID's algorithm is not `ed25519`.
    #[error("unsupported signing algorithm in key ID {0:?}")]
    UnsupportedAlgorithm(String),
    /// The object has no canonical form.
    #[error(transparent)]
    Canonical(#[from] CanonicalJsonError),
    /// Bad public key, wrong signature length, or the signature does not match.
    #[error(transparent)]
    Signature(#[from] SignatureCheckError),
}

/// Checks `obj`'s signature by `entity` with `key_id` (e.g. `ed25519:abc`) against the given
/// public key (base64, padded or not). `signatures` and `unsigned` are ignored when computing the
/// signed bytes.
pub fn verify_json_signature(
    obj: &Value,
    entity: &str,
    key_id: &str,
    public_key_b64: &str,
) -> Result<(), VerifyError> {
    let map = obj.as_object().ok_or(VerifyError::NotAnObject)?;
    if key_id.split_once(':').map(|(alg, _)| alg) != Some(signing_key::ED25519) {
        return Err(VerifyError::UnsupportedAlgorithm(key_id.to_owned()));
    }
    let sig_value = map
        .get("signatures")
        .and_then(Value::as_object)
        .and_then(|s| s.get(entity))
        .and_then(Value::as_object)
        .and_then(|e| e.get(key_id))
        .ok_or_else(|| VerifyError::MissingSignature {
            entity: entity.to_owned(),
            key_id: key_id.to_owned(),
        })?;
    let sig_b64 = sig_value
        .as_str()
        .ok_or_else(|| VerifyError::SignatureNotString {
            entity: entity.to_owned(),
            key_id: key_id.to_owned(),
        })?;
    let sig = signing_key::decode_b64(sig_b64)
        .map_err(|e| VerifyError::SignatureBase64(signing_key::describe_b64_error(&e)))?;
    let canonical = to_canonical_string_for_signing(obj)?;
    signing_key::verify_signature(public_key_b64, canonical.as_bytes(), &sig)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC_SEED: &str = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
    const SPEC_PUBLIC: &str = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";

    fn spec_key() -> SigningKey {
        SigningKey::parse_key_file(&format!("ed25519 1 {SPEC_SEED}")).unwrap()
    }

    fn canon(text: &str) -> Result<String, CanonicalJsonError> {
        to_canonical_string(&serde_json::from_str(text).unwrap())
    }

    // Examples from the spec appendix "Canonical JSON".
    #[test]
    fn spec_appendix_examples() {
        assert_eq!(canon("{}").unwrap(), "{}");
        assert_eq!(
            canon(r#"{"one": 1, "two": "Two"}"#).unwrap(),
            r#"{"one":1,"two":"Two"}"#
        );
        assert_eq!(
            canon(r#"{"b": "2", "a": "1"}"#).unwrap(),
            r#"{"a":"1","b":"2"}"#
        );
        assert_eq!(
            canon(r#"{"b":"2","a":"1"}"#).unwrap(),
            r#"{"a":"1","b":"2"}"#
        );
        assert_eq!(
            canon(
                r#"{
                "auth": {
                    "success": true,
                    "mxid": "@john.doe:example.com",
                    "profile": {
                        "display_name": "John Doe",
                        "three_pids": [
                            {"medium": "email", "address": "john.doe@example.org"},
                            {"medium": "msisdn", "address": "123456789"}
                        ]
                    }
                }
            }"#
            )
            .unwrap(),
            r#"{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}"#
        );
        assert_eq!(canon(r#"{"a": "日本語"}"#).unwrap(), r#"{"a":"日本語"}"#);
        assert_eq!(
            canon(r#"{"本": 2, "日": 1}"#).unwrap(),
            r#"{"日":1,"本":2}"#
        );
        assert_eq!(canon(r#"{"a": "\u65E5"}"#).unwrap(), r#"{"a":"日"}"#);
        assert_eq!(canon(r#"{"a": null}"#).unwrap(), r#"{"a":null}"#);
        assert_eq!(
            canon(r#"{"a": -1, "b": 1e10}"#).unwrap_err(),
            CanonicalJsonError::Float {
                path: "$.b".into(),
                value: "10000000000.0".into()
            }
        );
        // The spec example with an integer instead of the exponent form.
        assert_eq!(
            canon(r#"{"a": -1, "b": 10000000000}"#).unwrap(),
            r#"{"a":-1,"b":10000000000}"#
        );
    }

    #[test]
    fn sorting_is_by_codepoint_and_nested() {
        // 'B' (0x42) < '_' (0x5f) < 'a' (0x61) < 'é' (U+00E9) < '日' < '😀' (U+1F600).
        let v = json!({"😀": 1, "日": 2, "é": 3, "a": {"z": [ {"y": 1, "x": 2} ], "m": 0}, "_": 4, "B": 5});
        assert_eq!(
            to_canonical_string(&v).unwrap(),
            r#"{"B":5,"_":4,"a":{"m":0,"z":[{"x":2,"y":1}]},"é":3,"日":2,"😀":1}"#
        );
        // U+FFFD sorts before U+1F600 although UTF-16 order would put it after.
        let v = json!({"\u{1F600}": 1, "\u{FFFD}": 2});
        assert_eq!(
            to_canonical_string(&v).unwrap(),
            "{\"\u{FFFD}\":2,\"\u{1F600}\":1}"
        );
    }

    #[test]
    fn string_escapes() {
        let v = json!("q\" b\\ \u{8}\u{c}\n\r\t \u{0}\u{1f}\u{1b} / \u{7f} é \u{2028} 😀");
        assert_eq!(
            to_canonical_string(&v).unwrap(),
            "\"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0000\\u001f\\u001b / \u{7f} é \u{2028} 😀\""
        );
        // Keys are escaped the same way.
        let v = json!({"a\nb": 1});
        assert_eq!(to_canonical_string(&v).unwrap(), r#"{"a\nb":1}"#);
    }

    #[test]
    fn integer_range() {
        assert_eq!(
            to_canonical_string(&json!([9007199254740991i64, -9007199254740991i64, 0, -1]))
                .unwrap(),
            "[9007199254740991,-9007199254740991,0,-1]"
        );
        assert_eq!(
            to_canonical_string(&json!({"content": {"size": 9007199254740992i64}})).unwrap_err(),
            CanonicalJsonError::IntegerOutOfRange {
                path: "$.content.size".into(),
                value: "9007199254740992".into()
            }
        );
        let e = to_canonical_string(&json!({"x": [1, -9007199254740992i64]})).unwrap_err();
        assert_eq!(e.path(), "$.x[1]");
        assert_eq!(
            e.to_string(),
            "$.x[1]: integer -9007199254740992 is outside the canonical JSON range [-(2^53)+1, 2^53-1]"
        );
        let e = to_canonical_string(&json!({"big": u64::MAX})).unwrap_err();
        assert!(matches!(e, CanonicalJsonError::IntegerOutOfRange { .. }));
        // Parsed from text, too.
        assert!(canon(r#"{"n": 18446744073709551616}"#).is_err());
    }

    #[test]
    fn floats_and_negative_zero_rejected() {
        assert_eq!(
            to_canonical_string(&json!({"a": 1.0})).unwrap_err(),
            CanonicalJsonError::Float {
                path: "$.a".into(),
                value: "1.0".into()
            }
        );
        assert!(matches!(
            canon(r#"{"a": 1.5}"#),
            Err(CanonicalJsonError::Float { .. })
        ));
        assert!(matches!(
            canon("[1e2]"),
            Err(CanonicalJsonError::Float { .. })
        ));
        // serde_json parses `-0` as a float; either way it never reaches the output.
        assert_eq!(
            canon(r#"{"z": -0}"#).unwrap_err(),
            CanonicalJsonError::NegativeZero { path: "$.z".into() }
        );
        assert_eq!(
            to_canonical_string(&json!([-0.0])).unwrap_err(),
            CanonicalJsonError::NegativeZero {
                path: "$[0]".into()
            }
        );
        assert_eq!(canon("0").unwrap(), "0");
    }

    #[test]
    fn error_paths_for_odd_keys() {
        let v = json!({"weird key": {"a\"b": {"1x": 0.5}}});
        assert_eq!(
            to_canonical_string(&v).unwrap_err().path(),
            r#"$["weird key"]["a\"b"]["1x"]"#
        );
    }

    #[test]
    fn spec_signing_vectors() {
        let key = spec_key();
        assert_eq!(key.public_key_b64(), SPEC_PUBLIC);

        let mut empty = json!({});
        sign_json(&mut empty, "domain", &key).unwrap();
        assert_eq!(
            empty,
            json!({"signatures": {"domain": {"ed25519:1":
                "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"}}})
        );
        verify_json_signature(&empty, "domain", "ed25519:1", SPEC_PUBLIC).unwrap();

        let mut two = json!({"one": 1, "two": "Two"});
        sign_json(&mut two, "domain", &key).unwrap();
        assert_eq!(
            two["signatures"]["domain"]["ed25519:1"],
            "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        );
        verify_json_signature(&two, "domain", "ed25519:1", SPEC_PUBLIC).unwrap();
        // Padded public key accepted too.
        verify_json_signature(&two, "domain", "ed25519:1", &format!("{SPEC_PUBLIC}=")).unwrap();
    }

    #[test]
    fn sign_ignores_unsigned_and_keeps_other_signatures() {
        let key = spec_key();
        let mut obj = json!({
            "one": 1, "two": "Two",
            "unsigned": {"age_ts": 1.5},
            "signatures": {"other.example": {"ed25519:x": "abc"}, "domain": {"ed25519:0": "old"}}
        });
        sign_json(&mut obj, "domain", &key).unwrap();
        assert_eq!(obj["signatures"]["other.example"]["ed25519:x"], "abc");
        assert_eq!(obj["signatures"]["domain"]["ed25519:0"], "old");
        assert_eq!(
            obj["signatures"]["domain"]["ed25519:1"],
            "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        );
        assert_eq!(obj["unsigned"]["age_ts"], 1.5);
        verify_json_signature(&obj, "domain", "ed25519:1", SPEC_PUBLIC).unwrap();

        // Changing `unsigned` does not matter; changing content does.
        obj["unsigned"] = json!({"x": 1});
        verify_json_signature(&obj, "domain", "ed25519:1", SPEC_PUBLIC).unwrap();
        obj["one"] = json!(2);
        assert_eq!(
            verify_json_signature(&obj, "domain", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::Signature(SignatureCheckError::Mismatch))
        );
    }

    #[test]
    fn sign_errors() {
        let key = spec_key();
        assert_eq!(
            sign_json(&mut json!([1]), "domain", &key),
            Err(SignJsonError::NotAnObject)
        );
        assert_eq!(
            sign_json(&mut json!({"signatures": []}), "domain", &key),
            Err(SignJsonError::SignaturesNotObject {
                path: "$.signatures".into()
            })
        );
        assert_eq!(
            sign_json(&mut json!({"signatures": {"a.b": 1}}), "a.b", &key),
            Err(SignJsonError::SignaturesNotObject {
                path: r#"$.signatures["a.b"]"#.into()
            })
        );
        let mut with_float = json!({"content": {"size": 2.5}});
        assert_eq!(
            sign_json(&mut with_float, "domain", &key),
            Err(SignJsonError::Canonical(CanonicalJsonError::Float {
                path: "$.content.size".into(),
                value: "2.5".into()
            }))
        );
        assert_eq!(with_float, json!({"content": {"size": 2.5}}));
    }

    #[test]
    fn verify_errors() {
        let key = spec_key();
        let mut obj = json!({"a": 1});
        sign_json(&mut obj, "domain", &key).unwrap();
        assert_eq!(
            verify_json_signature(&json!(1), "domain", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::NotAnObject)
        );
        assert!(matches!(
            verify_json_signature(&obj, "other", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::MissingSignature { .. })
        ));
        assert!(matches!(
            verify_json_signature(&obj, "domain", "ed25519:2", SPEC_PUBLIC),
            Err(VerifyError::MissingSignature { .. })
        ));
        assert_eq!(
            verify_json_signature(&obj, "domain", "curve25519:1", SPEC_PUBLIC),
            Err(VerifyError::UnsupportedAlgorithm("curve25519:1".into()))
        );
        let other = SigningKey::generate("1").unwrap();
        assert_eq!(
            verify_json_signature(&obj, "domain", "ed25519:1", &other.public_key_b64()),
            Err(VerifyError::Signature(SignatureCheckError::Mismatch))
        );
        let mut bad = obj.clone();
        bad["signatures"]["domain"]["ed25519:1"] = json!(5);
        assert!(matches!(
            verify_json_signature(&bad, "domain", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::SignatureNotString { .. })
        ));
        bad["signatures"]["domain"]["ed25519:1"] = json!("@@@");
        assert!(matches!(
            verify_json_signature(&bad, "domain", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::SignatureBase64(_))
        ));
        bad["signatures"]["domain"]["ed25519:1"] = json!("AAAA");
        assert_eq!(
            verify_json_signature(&bad, "domain", "ed25519:1", SPEC_PUBLIC),
            Err(VerifyError::Signature(
                SignatureCheckError::SignatureLength(3)
            ))
        );
    }

    #[test]
    fn for_signing_strips_only_top_level() {
        let v = json!({"a": {"signatures": 1, "unsigned": 2}, "signatures": {}, "unsigned": {}});
        assert_eq!(
            to_canonical_string_for_signing(&v).unwrap(),
            r#"{"a":{"signatures":1,"unsigned":2}}"#
        );
    }
}
