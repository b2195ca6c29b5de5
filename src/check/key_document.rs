//! A server key document (`GET /_matrix/key/v2/server`): name, keys, self-signature and
//! validity, judged by `peer::key_document::check_server_key_document`.

use super::CheckContext;
use crate::exchange::RecordedResponse;
use crate::outcome::Finding;
use crate::peer::key_document::check_server_key_document;
use crate::template;

pub fn check_key_document(
    expected_name: &str,
    response: &RecordedResponse,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let name =
        template::expand(expected_name, ctx.vars).unwrap_or_else(|_| expected_name.to_string());
    let Some(doc) = response.json() else {
        findings.push(Finding::new(
            "key document",
            "a JSON object",
            super::body_excerpt(&response.body, response.body_len, 120),
        ));
        return;
    };
    let now_ms: u64 = ctx
        .vars
        .get("now_ms")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for problem in check_server_key_document(&doc, &name, now_ms) {
        findings.push(Finding::new(
            "key document",
            format!("a valid, self-signed key document of {name}"),
            problem.to_string(),
        ));
    }
}
