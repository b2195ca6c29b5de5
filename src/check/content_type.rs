//! `Content-Type` checks, including the spec's "reasonably close" rule (v1.12).

use crate::exchange::RecordedResponse;
use crate::outcome::Finding;
use crate::suite::model::ContentTypeExpect;

/// The media type without parameters, lower-cased: `Text/Plain; charset=x` → `text/plain`.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether `actual` is the uploaded type or "reasonably close" to it: the same media type with
/// any parameters (a charset may be added), or `text/html` detected for `text/plain`. (Uploads
/// without a type are checked with `one-of = ["application/octet-stream"]`.)
pub fn is_reasonable(uploaded: &str, actual: &str) -> bool {
    let (up, act) = (essence(uploaded), essence(actual));
    up == act || (up == "text/plain" && act == "text/html")
}

pub fn check_content_type(
    expect: &ContentTypeExpect,
    response: &RecordedResponse,
    findings: &mut Vec<Finding>,
) {
    let Some(actual) = response.header("content-type") else {
        findings.push(Finding::new("header Content-Type", "present", "absent"));
        return;
    };
    if let Some(uploaded) = &expect.reasonable
        && !is_reasonable(uploaded, actual)
    {
        findings.push(Finding::new(
            "Content-Type",
            format!("`{uploaded}` or reasonably close"),
            format!("`{actual}`"),
        ));
    }
    if !expect.one_of.is_empty() && !expect.one_of.iter().any(|t| essence(t) == essence(actual)) {
        findings.push(Finding::new(
            "Content-Type",
            format!("one of {}", expect.one_of.join(", ")),
            format!("`{actual}`"),
        ));
    }
    if expect
        .not_one_of
        .iter()
        .any(|t| essence(t) == essence(actual))
    {
        findings.push(Finding::new(
            "Content-Type",
            format!("none of {}", expect.not_one_of.join(", ")),
            format!("`{actual}`"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasonable_rules() {
        assert!(is_reasonable("image/png", "image/png"));
        assert!(is_reasonable("text/plain", "text/plain; charset=UTF-8"));
        assert!(is_reasonable("text/plain", "text/html"));
        assert!(is_reasonable("Image/PNG", "image/png"));
        assert!(!is_reasonable("image/png", "application/octet-stream"));
        assert!(!is_reasonable("image/png", "image/jpeg"));
    }

    #[test]
    fn not_one_of_refuses_listed_types_only() {
        let expect = ContentTypeExpect {
            not_one_of: vec!["application/json".into()],
            ..Default::default()
        };
        let with = |ct: &str| RecordedResponse {
            status: 200,
            headers: vec![("content-type".into(), ct.into())],
            ..Default::default()
        };
        let mut findings = Vec::new();
        check_content_type(&expect, &with("text/plain"), &mut findings);
        check_content_type(&expect, &with("application/octet-stream"), &mut findings);
        assert!(findings.is_empty(), "{findings:?}");
        check_content_type(
            &expect,
            &with("Application/JSON; charset=utf-8"),
            &mut findings,
        );
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].expected, "none of application/json");
    }
}
