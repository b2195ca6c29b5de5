//! No verdict stronger than the spec text: every MUST case of the embedded suites cites the
//! sentence that makes it a requirement. Its `spec` field carries a quote (in double quotes)
//! with a normative word (MUST, REQUIRED, SHALL, in any case), or `defined response:` naming the
//! response the spec defines for the endpoint, which the case checks. A case whose rule the spec
//! only recommends is SHOULD; one the spec is silent on is GAP, with the reason in `spec`.

use mediaconf::level::Level;
use mediaconf::suite::load_suite;

/// The quoted parts of a `spec` field: text between pairs of `"` (ASCII or typographic).
fn quotes(spec: &str) -> Vec<String> {
    let normalised = spec.replace(['“', '”'], "\"");
    normalised
        .split('"')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, q)| q.to_string())
        .collect()
}

fn has_normative_word(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_alphabetic()).any(|w| {
        matches!(
            w.to_ascii_lowercase().as_str(),
            "must" | "required" | "shall"
        )
    })
}

/// Why a MUST case's `spec` does not justify the level, or `None` when it does.
fn unjustified(spec: &str) -> Option<String> {
    if let Some((_, rest)) = spec.split_once("defined response:") {
        let named = rest.trim();
        return (named.is_empty() || !named.chars().any(|c| c.is_ascii_digit()))
            .then(|| "`defined response:` must name the status the spec defines".to_string());
    }
    let quotes = quotes(spec);
    if quotes.is_empty() {
        return Some("no quoted spec sentence".to_string());
    }
    if !quotes.iter().any(|q| has_normative_word(q)) {
        return Some("no MUST/REQUIRED/SHALL in the quoted text".to_string());
    }
    None
}

#[test]
fn the_rule_itself_can_fail() {
    assert!(unjustified(r#"v1.11 download "the server MUST answer 401""#).is_none());
    assert!(unjustified(r#"v1.3 "must deny the request with an HTTP status code 401""#).is_none());
    assert!(unjustified("v1.7 create defined response: 200 {content_uri}").is_none());
    assert!(unjustified(r#"v1.11 "servers should answer 401""#).is_some());
    assert!(unjustified("v1.11 GET /_matrix/client/v1/media/config").is_some());
    assert!(unjustified("v1.7 defined response: the content").is_some());
    // "mustard" is not a normative word.
    assert!(unjustified(r#"v1.1 "mustard""#).is_some());
}

#[test]
fn every_must_case_cites_a_normative_sentence() {
    let suite = load_suite(&[]).expect("embedded suites load");
    let problems: Vec<String> = suite
        .cases
        .iter()
        .filter(|c| c.level == Level::Must)
        .filter_map(|c| {
            unjustified(&c.spec_ref)
                .map(|why| format!("{} ({}): {why}: {}", c.id, c.location, c.spec_ref))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "{} MUST cases without a normative quote (make the quote exact, or lower the level):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The thumbnail cases a missing thumbnail blocks are filed with the D-01 cases that judge it:
/// the cause the run gives them is the D-01 cases' `cause`.
#[test]
fn blocked_thumbnail_cases_share_the_d01_cause() {
    let suite = mediaconf::suite::load_suite(&[]).expect("embedded suites load");
    let d01: Vec<_> = suite
        .cases
        .iter()
        .filter(|c| c.id == "D-01" || c.id.starts_with("D-01."))
        .collect();
    assert!(d01.len() > 1);
    for c in d01 {
        assert_eq!(
            c.cause.as_deref(),
            Some(mediaconf::run::case::NO_THUMBNAIL_CAUSE),
            "{}",
            c.id
        );
    }
}
