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
    if response.body_len != def.bytes.len() as u64 || response.body_sha256 != expected_hash {
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
                &response.body_sha256[..response.body_sha256.len().min(12)],
                if response.truncated {
                    ", truncated at the body cap"
                } else {
                    ""
                }
            ),
        ));
    }
}
