//! Reports fed by run events and verdicts: colored human output with progress, JUnit XML,
//! JSON, a Markdown summary and a self-contained HTML page. Every text they write passes through the redactor.

pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrix_html;

use std::path::Path;

/// Writes a report so that it is either absent or complete: the text goes to a temporary
/// file beside `path`, which is then renamed over it. A second Ctrl-C that ends the process
/// mid-write leaves no half-written report behind for a CI job to choke on.
pub fn write_atomically(path: &Path, text: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "report".into());
    let temporary = path.with_file_name(format!(".{name}.{}.partial", std::process::id()));
    let written = std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot write {}: {e}", path.display())
    })
}

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
