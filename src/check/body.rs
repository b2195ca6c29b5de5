//! Body equality against a media fixture (length and SHA-256, computed as the body arrived).

use super::CheckContext;
use crate::exchange::RecordedResponse;
use crate::outcome::Finding;

pub fn check_body_equals(
    media: &str,
    response: &RecordedResponse,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let Some(def) = ctx.media.get(media) else {
        findings.push(Finding::new(
            "body",
            format!("the bytes of media `{media}`"),
            "no such media in the suite",
        ));
        return;
    };
    let expected_hash = def.sha256();
    // Length first: a body of another length cannot be equal, and needs no hash.
    let actual_hash = (response.body_len == def.bytes.len() as u64).then(|| response.sha256());
    if actual_hash.as_deref() != Some(expected_hash) {
        let actual_hash = actual_hash.unwrap_or_else(|| response.sha256());
        let first_diff = response
            .body
            .iter()
            .zip(def.bytes.iter())
            .position(|(a, b)| a != b)
            .map(|i| format!(", first difference at byte {i}"))
            .unwrap_or_default();
        findings.push(Finding::new(
            "body",
            format!(
                "the {} uploaded bytes of `{media}` (sha256 {}…)",
                def.bytes.len(),
                &expected_hash[..12]
            ),
            format!(
                "{} bytes (sha256 {}…){first_diff}{}",
                response.body_len,
                &actual_hash[..actual_hash.len().min(12)],
                if response.truncated {
                    ", truncated at the body cap"
                } else {
                    ""
                }
            ),
        ));
    }
}
