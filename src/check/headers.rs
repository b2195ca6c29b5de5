//! Response header checks: present, absent, equals, contains, matches.

use std::collections::BTreeMap;

use super::CheckContext;
use crate::exchange::RecordedResponse;
use crate::outcome::Finding;
use crate::suite::model::HeaderExpect;
use crate::template;

pub fn check_headers(
    expects: &BTreeMap<String, HeaderExpect>,
    response: &RecordedResponse,
    ctx: &CheckContext<'_>,
    findings: &mut Vec<Finding>,
) {
    for (name, h) in expects {
        let values = response.header_all(name);
        let label = format!("header {name}");
        let shown = if values.is_empty() {
            "absent".to_string()
        } else {
            values.join(", ")
        };
        if h.absent && !values.is_empty() {
            findings.push(Finding::new(label.clone(), "absent", shown.clone()));
        }
        let needs_value =
            h.present || h.equals.is_some() || h.contains.is_some() || h.matches.is_some();
        if needs_value && values.is_empty() {
            findings.push(Finding::new(label.clone(), "present", "absent"));
            continue;
        }
        if let Some(eq) = &h.equals {
            let eq = template::expand(eq, ctx.vars).unwrap_or_else(|_| eq.clone());
            if !values.iter().any(|v| *v == eq) {
                findings.push(Finding::new(
                    label.clone(),
                    format!("`{eq}`"),
                    shown.clone(),
                ));
            }
        }
        let expand = |t: &String| template::expand(t, ctx.vars).unwrap_or_else(|_| t.clone());
        if let Some(sub) = h.contains.as_ref().map(expand) {
            let sub_l = sub.to_ascii_lowercase();
            if !values
                .iter()
                .any(|v| v.to_ascii_lowercase().contains(&sub_l))
            {
                findings.push(Finding::new(
                    label.clone(),
                    format!("containing `{sub}`"),
                    shown.clone(),
                ));
            }
        }
        if let Some(sub) = h.not_contains.as_ref().map(expand) {
            let sub_l = sub.to_ascii_lowercase();
            if values
                .iter()
                .any(|v| v.to_ascii_lowercase().contains(&sub_l))
            {
                findings.push(Finding::new(
                    label.clone(),
                    format!("not containing `{sub}`"),
                    shown.clone(),
                ));
            }
        }
        if let Some(pattern) = &h.matches {
            let escaped: BTreeMap<String, String> = ctx
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), regex::escape(v)))
                .collect();
            let pattern = &template::expand(pattern, &escaped).unwrap_or_else(|_| pattern.clone());
            match crate::pattern::compile(pattern) {
                Ok(re) if values.iter().any(|v| re.is_match(v)) => {}
                Ok(_) => findings.push(Finding::new(
                    label.clone(),
                    format!("matching /{pattern}/"),
                    shown.clone(),
                )),
                Err(e) => findings.push(Finding::new(
                    label.clone(),
                    format!("matching /{pattern}/"),
                    format!("invalid regex: {e}"),
                )),
            }
        }
    }
}
