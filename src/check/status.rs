//! Status code, timing and standard-error-body checks.

use crate::exchange::{Exchange, RecordedResponse};
use crate::outcome::Finding;
use crate::suite::model::ExpectSpec;

/// Checks `status` and `not-status`; false when the status was wrong.
pub fn check_status(
    expect: &ExpectSpec,
    response: &RecordedResponse,
    findings: &mut Vec<Finding>,
) -> bool {
    let mut ok = true;
    if let Some(allowed) = &expect.status
        && !allowed.0.contains(&response.status)
    {
        let expected = allowed
            .0
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(" or ");
        findings.push(Finding::new("status", expected, describe_status(response)));
        ok = false;
    }
    if let Some(classes) = &expect.status_class
        && !classes.0.iter().any(|c| {
            c.len() == 3 && c.ends_with("xx") && c.starts_with(&(response.status / 100).to_string())
        })
    {
        findings.push(Finding::new(
            "status",
            classes.0.join(" or "),
            describe_status(response),
        ));
        ok = false;
    }
    let errcode = response.json().and_then(|j| {
        j.get("errcode")
            .and_then(|e| e.as_str())
            .map(str::to_string)
    });
    if let Some(e) = &errcode
        && expect.not_errcode.iter().any(|n| n == e)
    {
        findings.push(Finding::new(
            "errcode",
            format!("anything but {}", expect.not_errcode.join(", ")),
            describe_status(response),
        ));
        ok = false;
    }
    if expect.not_status.contains(&response.status) {
        let forbidden = expect
            .not_status
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        findings.push(Finding::new(
            "status",
            format!("anything but {forbidden}"),
            describe_status(response),
        ));
        ok = false;
    }
    ok
}

/// `404 M_NOT_FOUND` or `200`.
pub fn describe_status(response: &RecordedResponse) -> String {
    match response
        .json()
        .as_ref()
        .and_then(|j| j.get("errcode"))
        .and_then(|e| e.as_str())
    {
        Some(errcode) if !response.is_success() => format!("{} {errcode}", response.status),
        _ => response.status.to_string(),
    }
}

/// Checks `within-ms` against the time the exchange took.
pub fn check_timing(expect: &ExpectSpec, exchange: &Exchange, findings: &mut Vec<Finding>) {
    if let Some(limit) = expect.within_ms {
        let took = exchange.elapsed.as_millis();
        if took > u128::from(limit) {
            findings.push(Finding::new(
                "response time",
                format!("at most {limit} ms"),
                format!("{took} ms"),
            ));
        }
    }
}

/// Checks `errcode` and `standard-error` on a non-2xx response.
pub fn check_error_body(
    expect: &ExpectSpec,
    response: &RecordedResponse,
    findings: &mut Vec<Finding>,
) {
    let json = response.json();
    let errcode = json
        .as_ref()
        .and_then(|j| j.get("errcode"))
        .and_then(|e| e.as_str());
    if let Some(allowed) = &expect.errcode
        && !errcode.is_some_and(|e| allowed.0.iter().any(|a| a == e))
    {
        let actual = match (&json, errcode) {
            (_, Some(e)) => e.to_string(),
            (Some(_), None) => "a JSON body without errcode".to_string(),
            (None, None) => "a body that is not JSON".to_string(),
        };
        findings.push(Finding::new("errcode", allowed.0.join(" or "), actual));
    }
    if expect.standard_error {
        let content_type = response.header("content-type").unwrap_or("");
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/json")
        {
            findings.push(Finding::new(
                "error Content-Type",
                "application/json",
                if content_type.is_empty() {
                    "no Content-Type"
                } else {
                    content_type
                },
            ));
        }
        let obj = json.as_ref().and_then(|j| j.as_object());
        let has = |k: &str| obj.and_then(|o| o.get(k)).is_some_and(|v| v.is_string());
        if !(has("errcode") && has("error")) {
            findings.push(Finding::new(
                "error body",
                "a JSON object with string `errcode` and `error`",
                super::body_excerpt(&response.body, response.body_len, 120),
            ));
        }
    }
}
