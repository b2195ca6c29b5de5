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
use std::fmt::Write as _;

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
            let mut out = format!("({total_len} bytes of binary data, starting");
            for b in body.iter().take(16) {
                let _ = write!(out, " {b:02x}");
            }
            out.push(')');
            out
        }
    }
}

#[cfg(test)]
mod excerpt_tests {
    use super::body_excerpt;

    #[test]
    fn binary_bodies_show_their_first_sixteen_bytes_in_hex() {
        let body: Vec<u8> = (0u8..20).collect();
        assert_eq!(
            body_excerpt(&body, 20, 100),
            "(20 bytes of binary data, starting 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f)"
        );
        assert_eq!(body_excerpt(b"", 0, 10), "(empty body)");
        assert_eq!(body_excerpt(b"a\nb", 3, 10), "a b");
    }
}
