//! Checks: pure functions from an expectation and a recorded exchange to findings.
//!
//! A check never makes requests, reads the clock or the environment. One file per area; this
//! file only sequences them for one step.

pub mod body;
pub mod content_type;
pub mod disposition;
pub mod headers;
pub mod image;
pub mod json;
pub mod key_document;
pub mod multipart;
pub mod peer;
pub mod status;

use std::collections::BTreeMap;

use crate::exchange::Exchange;
use crate::outcome::Finding;
use crate::suite::MediaDef;
use crate::suite::model::ExpectSpec;

/// What checks may consult besides the exchange.
pub struct CheckContext<'a> {
    pub media: &'a BTreeMap<String, MediaDef>,
    /// Template values (for templated expectations such as `matches = "^mxc://{server_name}/"`).
    pub vars: &'a BTreeMap<String, String>,
}

/// All findings for one step. When the status is not what was expected, the other checks are
/// not evaluated (their results would only repeat the same problem).
pub fn check_step(
    expect: &ExpectSpec,
    exchange: &Exchange,
    ctx: &CheckContext<'_>,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    status::check_timing(expect, exchange, &mut findings);
    // What the peer received is judged whatever the client got.
    if let Some(p) = &expect.peer {
        peer::check_peer(p, &exchange.peer, ctx.vars, &mut findings);
    }
    if let (Some(inner), Some(followed)) = (&expect.location, &exchange.location) {
        for mut f in check_step(inner, followed, ctx) {
            f.check = format!("Location {}", f.check);
            findings.push(f);
        }
    }
    let response = match &exchange.response {
        Ok(r) => r,
        Err(failure) => {
            findings.push(Finding::new(
                "response",
                "an HTTP response",
                failure.to_string(),
            ));
            return findings;
        }
    };
    if !status::check_status(expect, response, &mut findings) {
        return findings;
    }
    headers::check_headers(&expect.headers, response, ctx, &mut findings);
    if response.is_success() {
        if let Some(j) = &expect.json {
            json::check_json(j, response, ctx, &mut findings);
        }
        if let Some(ct) = &expect.content_type {
            content_type::check_content_type(ct, response, &mut findings);
        }
        if let Some(d) = &expect.disposition {
            disposition::check_disposition(d, response, &mut findings);
        }
        if let Some(m) = &expect.body_equals {
            body::check_body_equals(m, response, ctx, &mut findings);
        }
        if let Some(i) = &expect.image {
            image::check_image(i, response, ctx, &mut findings);
        }
        if let Some(m) = &expect.multipart {
            let followed = exchange.location.as_ref().and_then(|e| e.ok());
            multipart::check_multipart(m, response, followed, ctx, &mut findings);
        }
        if let Some(name) = &expect.key_document {
            key_document::check_key_document(name, response, ctx, &mut findings);
        }
    } else {
        status::check_error_body(expect, response, &mut findings);
    }
    findings
}

/// A short, printable excerpt of a body: UTF-8 text up to `max` characters, else a byte summary.
pub fn body_excerpt(body: &[u8], total_len: u64, max: usize) -> String {
    if body.is_empty() {
        return "(empty body)".to_string();
    }
    match std::str::from_utf8(body) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) =>
        {
            let mut out: String = text.chars().take(max).collect();
            if text.chars().count() > max {
                out.push('…');
            }
            out.replace(['\n', '\r'], " ")
        }
        _ => {
            let head: Vec<String> = body.iter().take(16).map(|b| format!("{b:02x}")).collect();
            format!(
                "({total_len} bytes of binary data, starting {})",
                head.join(" ")
            )
        }
    }
}
