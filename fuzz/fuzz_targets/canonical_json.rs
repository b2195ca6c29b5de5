//! Canonical JSON: never panics, and is idempotent (canonicalising the canonical text again
//! gives the same text).
#![no_main]
use mediaconf::federation::canonical_json::to_canonical_string;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(text) = to_canonical_string(&value) {
        let again: serde_json::Value = serde_json::from_str(&text).expect("canonical JSON parses");
        assert_eq!(to_canonical_string(&again).expect("still canonical"), text);
    }
});
