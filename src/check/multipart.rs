//! Federation media responses: `multipart/mixed` framing and parts judged with the strict
//! parser, then the media part judged like a download (type, disposition, bytes, image).

use super::CheckContext;
use crate::exchange::RecordedResponse;
use crate::multipart::{MediaContent, parse_media_response};
use crate::outcome::Finding;
use crate::suite::model::MultipartExpect;

/// The rule group a parser violation belongs to (`framing`, `part-count`, `json-part`,
/// `media-part`).
pub fn rule_group(code: &str) -> &'static str {
    match code {
        "wrong-part-count" => "part-count",
        c if c.starts_with("json-part") => "json-part",
        c if c.starts_with("media-part") => "media-part",
        _ => "framing",
    }
}

pub use crate::suite::model::RULE_GROUPS;

/// `followed`: the answer at the media part's `Location`, when the runner followed it; then
/// the part checks judge that answer (its headers and bytes) instead of part 2.
pub fn check_multipart(
    expect: &MultipartExpect,
    response: &RecordedResponse,
    followed: Option<&RecordedResponse>,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let content_type = response.header("content-type").unwrap_or("");
    let mut parsed = parse_media_response(content_type, &response.body);
    let mut reported = report_kept_prefix(response, &mut parsed, findings);
    reported |= report_violations(expect, &parsed, reported, findings);
    let Some(media) = parsed.media() else {
        if needs_parts(expect) && !reported {
            findings.push(Finding::new(
                "multipart",
                "a JSON object part followed by a media part",
                format!(
                    "{} part(s) in a `{content_type}` body{}",
                    parsed.part_count,
                    parsed
                        .violations
                        .first()
                        .map(|v| format!(" ({v})"))
                        .unwrap_or_default()
                ),
            ));
        }
        return;
    };
    let (kind, part) = match media.content {
        MediaContent::Bytes {
            content_type,
            content_disposition,
            body,
        } => {
            let part =
                part_as_response(content_type, content_disposition, body, response.truncated);
            ("bytes", Some(part))
        }
        MediaContent::Location { .. } => ("location", followed.cloned()),
    };
    if let Some(wanted) = &expect.content
        && wanted != kind
    {
        findings.push(Finding::new("multipart media part", wanted.clone(), kind));
    }
    let Some(part) = part else {
        if has_part_checks(expect) && expect.content.is_none() {
            findings.push(Finding::new(
                "multipart media part",
                "bytes to check at the Location",
                "a Location part that could not be followed",
            ));
        }
        return;
    };
    let label = if kind == "location" {
        "the Location answer's"
    } else {
        "part 2"
    };
    check_media_part(expect, &part, label, ctx, findings);
}

/// Only a prefix of a large body is kept (src/client/body.rs). A body that ends inside that
/// prefix's last part was cut by us, not by the target: says so once instead, and drops the
/// violations the cut explains. Returns whether it reported.
fn report_kept_prefix(
    response: &RecordedResponse,
    parsed: &mut crate::multipart::MediaParse,
    findings: &mut Vec<Finding>,
) -> bool {
    let prefix_only = (response.body.len() as u64) < response.body_len;
    let cut = parsed
        .violations
        .iter()
        .any(|v| matches!(v.code(), "no-close-delimiter" | "body-ends-inside-part"));
    if !prefix_only || !cut {
        return false;
    }
    // What the cut hides: the close delimiter, and more parts if the prefix has ≤ 2.
    let count_unknown = parsed.part_count <= 2;
    parsed.violations.retain(|v| match v.code() {
        "no-close-delimiter" | "body-ends-inside-part" => false,
        "wrong-part-count" => !count_unknown,
        _ => true,
    });
    findings.push(Finding::new(
        "multipart size",
        format!(
            "a body whose close delimiter comes within the first {} bytes (the case's media is small)",
            response.body.len()
        ),
        format!(
            "no close delimiter in the first {} bytes of a {}-byte body{}",
            response.body.len(),
            response.body_len,
            if response.truncated {
                " (read up to the body cap)"
            } else {
                ""
            }
        ),
    ));
    true
}

/// The parser's violations in the rule groups the case judges, and a count of those not kept.
/// Returns whether it reported any.
fn report_violations(
    expect: &MultipartExpect,
    parsed: &crate::multipart::MediaParse,
    already_reported: bool,
    findings: &mut Vec<Finding>,
) -> bool {
    let mut reported = false;
    for v in &parsed.violations {
        if expect.rules.iter().any(|r| r == rule_group(v.code())) {
            findings.push(Finding::new(
                format!("multipart {}", v.code()),
                "a conformant multipart/mixed body",
                v.to_string(),
            ));
            reported = true;
        }
    }
    if (reported || already_reported) && parsed.omitted_violations > 0 {
        findings.push(Finding::new(
            "multipart",
            "a conformant multipart/mixed body",
            format!(
                "{} more violation(s) not listed (only the first {} are kept)",
                parsed.omitted_violations,
                crate::multipart::MAX_KEPT_VIOLATIONS
            ),
        ));
    }
    reported
}

/// Only a case that looks at the parts needs them; one that checks framing or the part count
/// alone is not failed for a problem in part 1.
fn needs_parts(expect: &MultipartExpect) -> bool {
    expect.content.is_some()
        || has_part_checks(expect)
        || expect
            .rules
            .iter()
            .any(|r| r == "json-part" || r == "media-part")
}

fn has_part_checks(expect: &MultipartExpect) -> bool {
    expect.content_type.is_some()
        || expect.disposition.is_some()
        || expect.body_equals.is_some()
        || expect.image.is_some()
}

/// An inline media part as a response, so the download checks can judge it.
fn part_as_response(
    content_type: Option<String>,
    content_disposition: Option<String>,
    body: Vec<u8>,
    truncated: bool,
) -> RecordedResponse {
    let mut headers = Vec::new();
    if let Some(ct) = content_type {
        headers.push(("content-type".to_string(), ct));
    }
    if let Some(cd) = content_disposition {
        headers.push(("content-disposition".to_string(), cd));
    }
    RecordedResponse {
        status: 200,
        headers,
        body_len: body.len() as u64,
        body,
        body_sha256: None,
        truncated,
    }
}

/// The media part (or the `Location` answer) judged like a download, findings labelled.
fn check_media_part(
    expect: &MultipartExpect,
    part: &RecordedResponse,
    label: &str,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let mut part_findings = Vec::new();
    if let Some(ct) = &expect.content_type {
        super::content_type::check_content_type(ct, part, &mut part_findings);
    }
    if let Some(d) = &expect.disposition {
        super::disposition::check_disposition(d, part, &mut part_findings);
    }
    if let Some(m) = &expect.body_equals {
        super::body::check_body_equals(m, part, ctx, &mut part_findings);
    }
    if let Some(i) = &expect.image {
        super::image::check_image(i, part, ctx, &mut part_findings);
    }
    for mut f in part_findings {
        f.check = format!("{label} {}", f.check);
        findings.push(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multipart::{Builder, Fault};
    use crate::suite::model::{ContentTypeExpect, DispositionExpect, OneOrMany};
    use std::collections::BTreeMap;

    fn response(builder: &Builder) -> RecordedResponse {
        RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), builder.content_type())],
            body: builder.build(),
            ..Default::default()
        }
    }

    fn findings(expect: &MultipartExpect, r: &RecordedResponse) -> Vec<Finding> {
        let media = BTreeMap::new();
        let vars = BTreeMap::new();
        let mut f = Vec::new();
        check_multipart(
            expect,
            r,
            None,
            &CheckContext {
                media: &media,
                vars: &vars,
            },
            &mut f,
        );
        f
    }

    fn judge(expect: &MultipartExpect, r: &RecordedResponse) -> Vec<String> {
        findings(expect, r).into_iter().map(|f| f.check).collect()
    }

    fn strict() -> MultipartExpect {
        MultipartExpect {
            rules: RULE_GROUPS.iter().map(|s| s.to_string()).collect(),
            content: Some("bytes".into()),
            content_type: Some(ContentTypeExpect {
                reasonable: Some("text/plain".into()),
                ..Default::default()
            }),
            disposition: Some(DispositionExpect {
                filename: Some("m.txt".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_synapse_shaped_body_passes() {
        let b = Builder::bytes(
            Some("text/plain"),
            Some("inline; filename=m.txt"),
            b"hello world",
        );
        assert!(judge(&strict(), &response(&b)).is_empty());
    }

    #[test]
    fn each_broken_rule_is_named() {
        let b = Builder::bytes(Some("text/plain"), Some("inline; filename=m.txt"), b"hello");
        assert_eq!(
            judge(&strict(), &response(&b.clone().fault(Fault::ThreeParts))),
            ["multipart wrong-part-count"]
        );
        assert_eq!(
            judge(&strict(), &response(&b.clone().fault(Fault::JsonArray))),
            ["multipart json-part-not-object"]
        );
        let wrong_name =
            Builder::bytes(Some("text/plain"), Some("inline; filename=x.txt"), b"hello");
        assert_eq!(
            judge(&strict(), &response(&wrong_name)),
            ["part 2 Content-Disposition filename"]
        );
        let location = Builder::location("https://cdn.example/x");
        assert_eq!(
            judge(&strict(), &response(&location)),
            ["multipart media part"]
        );
        let not_multipart = RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), "image/png".into())],
            body: b"\x89PNG".to_vec(),
            ..Default::default()
        };
        let found = judge(&strict(), &not_multipart);
        assert!(
            found
                .iter()
                .any(|c| c.starts_with("multipart not-multipart-mixed")
                    || c.starts_with("multipart missing-boundary")),
            "{found:?}"
        );
        let lenient = MultipartExpect {
            disposition: Some(DispositionExpect {
                r#type: Some(OneOrMany(vec!["inline".into()])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert!(judge(&lenient, &response(&b)).is_empty());
    }

    #[test]
    fn a_body_cut_by_the_keep_limit_is_reported_once_as_too_large() {
        let expect = MultipartExpect {
            rules: vec!["framing".into(), "part-count".into()],
            ..MultipartExpect::default()
        };
        let prefix = b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\n\r\nxxxxxxxx";
        let raw = |body_len: u64| RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), "multipart/mixed; boundary=b".into())],
            body: prefix.to_vec(),
            body_len,
            ..Default::default()
        };
        let cut = findings(&expect, &raw(1 << 30));
        let what: Vec<&str> = cut.iter().map(|f| f.check.as_str()).collect();
        assert_eq!(what, ["multipart size"], "{cut:?}");
        assert!(cut[0].actual.contains("1073741824-byte body"), "{cut:?}");
        // The same bytes as a whole body: the missing close delimiter is the target's.
        let whole = findings(&expect, &raw(prefix.len() as u64));
        assert!(
            whole
                .iter()
                .any(|f| f.check == "multipart no-close-delimiter"),
            "{whole:?}"
        );
    }
}
