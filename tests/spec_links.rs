//! Spec links: every embedded case carries a URL to the spec section of a spec.matrix.org
//! version (`https://spec.matrix.org/vX.Y/<api>/#<anchor>`) or to an MSC, and a suite's
//! `spec-url` overrides the derived one (an URL that is not https:// is a suite error).

use mediaconf::suite::{SourceFile, build_suite, load_suite};
use regex::Regex;

const SPEC_URL: &str =
    r"^https://spec\.matrix\.org/v1\.\d+/(client-server-api|server-server-api)/#[a-z0-9_-]+$";
const MSC_URL: &str = r"^https://github\.com/matrix-org/matrix-spec-proposals/pull/\d+$";

#[test]
fn every_embedded_case_links_to_its_spec_section() {
    let suite = load_suite(&[]).expect("embedded suites load");
    let (spec, msc) = (Regex::new(SPEC_URL).unwrap(), Regex::new(MSC_URL).unwrap());
    let bad: Vec<String> = suite
        .cases
        .iter()
        .filter(|c| !spec.is_match(&c.spec_url) && !msc.is_match(&c.spec_url))
        .map(|c| format!("{} ({}): {:?}", c.id, c.location, c.spec_url))
        .collect();
    assert!(
        bad.is_empty(),
        "spec URLs of the wrong shape:\n{}",
        bad.join("\n")
    );
    // The MSC probes link to their MSC; the federation API cases to the server-server API (or
    // the MSC their reference quotes).
    for c in &suite.cases {
        if c.id.starts_with("MSC") {
            assert!(msc.is_match(&c.spec_url), "{}: {}", c.id, c.spec_url);
        }
        if c.id.starts_with("F-") && !c.spec_ref.starts_with("MSC") {
            assert!(
                c.spec_url.contains("/server-server-api/"),
                "{}: {}",
                c.id,
                c.spec_url
            );
        }
    }
    if std::env::var_os("MEDIACONF_PRINT_SPEC_URLS").is_some() {
        for c in &suite.cases {
            println!("{:<28} {}", c.id, c.spec_url);
        }
    }
}

fn one_case(extra: &str) -> String {
    format!(
        r#"
profile = "mine"
[[case]]
id = "MY-01"
title = "t"
level = "MUST"
spec = "v1.11 GET /_matrix/client/v1/media/config"
since = "v1.11"
{extra}
[case.request]
path = "/_matrix/client/v1/media/config"
"#
    )
}

fn build(text: &str) -> Result<mediaconf::suite::Suite, String> {
    let files = [SourceFile {
        name: "mine.toml".into(),
        text: text.into(),
        dir: None,
    }];
    build_suite(&files, &|_, _| None).map_err(|e| e.to_string())
}

#[test]
fn spec_url_is_derived_or_given() {
    let suite = build(&one_case("")).unwrap();
    assert_eq!(
        suite.cases[0].spec_url,
        "https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediaconfig"
    );
    let given = "https://spec.matrix.org/v1.11/client-server-api/#content-repository";
    let suite = build(&one_case(&format!("spec-url = \"{given}\""))).unwrap();
    assert_eq!(suite.cases[0].spec_url, given);
    let err = build(&one_case("spec-url = \"spec.matrix.org\"")).unwrap_err();
    assert!(err.contains("is not an https:// URL"), "{err}");
    assert!(err.contains("mine.toml:"), "{err}");
}
