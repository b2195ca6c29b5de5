//! Reports fed by run events and verdicts: colored human output with progress, JUnit XML,
//! JSON and a Markdown summary. Every text they write passes through the redactor.

pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;

/// Text from the target made safe for a terminal: control characters other than newline and
/// tab are shown as `\u{1b}` instead of being passed through (a target could otherwise inject
/// escape sequences into the output).
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}
