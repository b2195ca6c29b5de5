//! JSON body checks: object shape and per-pointer field expectations.

use serde_json::Value;

use super::CheckContext;
use crate::exchange::RecordedResponse;
use crate::outcome::Finding;
use crate::suite::model::{FieldExpect, JsonExpect, JsonType};
use crate::template;

pub fn check_json(
    expect: &JsonExpect,
    response: &RecordedResponse,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let Some(json) = response.json() else {
        findings.push(Finding::new(
            "body",
            "JSON",
            super::body_excerpt(&response.body, response.body_len, 120),
        ));
        return;
    };
    if expect.object && !json.is_object() {
        findings.push(Finding::new("body", "a JSON object", type_name(&json)));
    }
    for (pointer, field) in &expect.fields {
        check_field(pointer, field, json.pointer(pointer), ctx, findings);
    }
}

fn check_field(
    pointer: &str,
    f: &FieldExpect,
    value: Option<&Value>,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    let label = format!("JSON {pointer}");
    let Some(value) = value else {
        if f.present || f.equals.is_some() {
            findings.push(Finding::new(label, "present", "absent"));
        }
        return;
    };
    if f.absent {
        findings.push(Finding::new(label.clone(), "absent", value.to_string()));
    }
    if let Some(t) = f.r#type
        && !has_type(value, t)
    {
        findings.push(Finding::new(
            label.clone(),
            format!("{t:?}").to_lowercase(),
            format!("{} {}", type_name(value), value),
        ));
    }
    if let Some(eq) = &f.equals
        && value != eq
    {
        findings.push(Finding::new(
            label.clone(),
            eq.to_string(),
            value.to_string(),
        ));
    }
    if let Some(pattern) = &f.matches {
        let pattern =
            template::expand(pattern, &escaped_vars(ctx)).unwrap_or_else(|_| pattern.clone());
        match (crate::pattern::compile(&pattern), value.as_str()) {
            (Ok(re), Some(s)) if re.is_match(s) => {}
            (Ok(_), _) => findings.push(Finding::new(
                label.clone(),
                format!("matching /{pattern}/"),
                value.to_string(),
            )),
            (Err(e), _) => findings.push(Finding::new(
                label.clone(),
                format!("matching /{pattern}/"),
                format!("invalid regex: {e}"),
            )),
        }
    }
    if let Some(pattern) = &f.not_matches {
        let pattern =
            template::expand(pattern, &escaped_vars(ctx)).unwrap_or_else(|_| pattern.clone());
        if let (Ok(re), Some(s)) = (crate::pattern::compile(&pattern), value.as_str())
            && re.is_match(s)
        {
            findings.push(Finding::new(
                label.clone(),
                format!("not matching /{pattern}/"),
                value.to_string(),
            ));
        }
    }
    if let Some(element) = &f.contains
        && !value.as_array().is_some_and(|a| a.contains(element))
    {
        findings.push(Finding::new(
            label.clone(),
            format!("an array containing {element}"),
            value.to_string(),
        ));
    }
    if let Some(other) = &f.not_equals {
        let other = template::expand(other, ctx.vars).unwrap_or_else(|_| other.clone());
        if value.as_str() == Some(other.as_str()) {
            findings.push(Finding::new(
                label.clone(),
                format!("not `{other}`"),
                value.to_string(),
            ));
        }
    }
    if let Some(bound) = &f.greater_than {
        let bound_text = template::expand(&bound.0, ctx.vars).unwrap_or_else(|_| bound.0.clone());
        match (bound_text.parse::<i64>(), value.as_i64()) {
            (Ok(b), Some(v)) if v > b => {}
            _ => findings.push(Finding::new(
                label,
                format!("an integer greater than {bound_text}"),
                value.to_string(),
            )),
        }
    }
}

/// Template values with regex metacharacters escaped, for use inside patterns.
fn escaped_vars(ctx: &CheckContext<'_>) -> std::collections::BTreeMap<String, String> {
    ctx.vars
        .iter()
        .map(|(k, v)| (k.clone(), regex::escape(v)))
        .collect()
}

fn has_type(v: &Value, t: JsonType) -> bool {
    match t {
        JsonType::String => v.is_string(),
        JsonType::Integer => v.is_i64() || v.is_u64(),
        JsonType::Boolean => v.is_boolean(),
        JsonType::Object => v.is_object(),
        JsonType::Array => v.is_array(),
        JsonType::Null => v.is_null(),
    }
}

/// `a JSON array`, `a string`, …
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a JSON array",
        Value::Object(_) => "a JSON object",
    }
    .to_string()
}
