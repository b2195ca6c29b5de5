//! Reproductions: a copy-paste `curl` command for a client-API request a case sent. Pure.
//!
//! Secrets never appear: the request is the recorded (redacted) one, and each redacted token is
//! written as an environment variable the user sets (`$MEDIACONF_TOKEN` for the main account).

use crate::redact::REDACTED;

/// What the body of the request was, as far as a command line can say it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyShape {
    None,
    /// Small text (JSON or plain): sent inline.
    Text(String),
    /// A fixture file's bytes.
    Fixture(String),
    /// That many zero bytes.
    Zeros(usize),
}

/// Quotes `text` for a POSIX shell, leaving `${NAME}` variables (written as `\u{0}NAME\u{0}`
/// by the caller) to expand.
fn shell_quote(text: &str) -> String {
    let mut out = String::from("\"");
    let mut in_var = false;
    for c in text.chars() {
        match c {
            '\u{0}' => {
                out.push_str(if in_var { "}" } else { "${" });
                in_var = !in_var;
            }
            '"' | '\\' | '`' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `curl` for a request: method, URL, headers (except those curl sets itself) and body, with
/// every `<redacted>` replaced by `$token_var`.
pub fn curl(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &BodyShape,
    token_var: &str,
) -> String {
    let var = format!("\u{0}{token_var}\u{0}");
    let unredact = |s: &str| s.replace(REDACTED, &var).replace("%3Credacted%3E", &var);
    let mut parts = vec!["curl".to_string(), "-sS".to_string(), "-i".to_string()];
    if method != "GET" {
        parts.push(format!("-X {method}"));
    }
    for (name, value) in headers {
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("host") {
            continue;
        }
        parts.push(format!(
            "-H {}",
            shell_quote(&unredact(&format!("{name}: {value}")))
        ));
    }
    match body {
        BodyShape::None => {}
        BodyShape::Text(t) => parts.push(format!("--data-binary {}", shell_quote(t))),
        BodyShape::Fixture(f) => parts.push(format!("--data-binary @{}", shell_quote(f))),
        BodyShape::Zeros(n) => parts.push(format!("--data-binary @<(head -c {n} /dev/zero)")),
    }
    parts.push(shell_quote(&unredact(url)));
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_become_variables_and_text_is_quoted() {
        let cmd = curl(
            "GET",
            "http://hs/_matrix/client/v1/media/download/s/m?access_token=<redacted>",
            &[("Authorization".into(), "Bearer <redacted>".into())],
            &BodyShape::None,
            "MEDIACONF_TOKEN",
        );
        assert_eq!(
            cmd,
            "curl -sS -i -H \"Authorization: Bearer ${MEDIACONF_TOKEN}\" \"http://hs/_matrix/client/v1/media/download/s/m?access_token=${MEDIACONF_TOKEN}\""
        );
        assert!(!cmd.contains(REDACTED));
    }

    #[test]
    fn bodies_and_shell_characters() {
        let cmd = curl(
            "POST",
            "http://hs/_matrix/media/v3/upload?filename=a$b",
            &[
                ("Content-Type".into(), "text/plain".into()),
                ("Content-Length".into(), "5".into()),
            ],
            &BodyShape::Text("say \"hi\" `x`".into()),
            "MEDIACONF_TOKEN",
        );
        assert_eq!(
            cmd,
            "curl -sS -i -X POST -H \"Content-Type: text/plain\" --data-binary \"say \\\"hi\\\" \\`x\\`\" \"http://hs/_matrix/media/v3/upload?filename=a\\$b\""
        );
        let zeros = curl("POST", "http://hs/u", &[], &BodyShape::Zeros(3), "T");
        assert!(
            zeros.contains("--data-binary @<(head -c 3 /dev/zero)"),
            "{zeros}"
        );
        let file = curl(
            "POST",
            "http://hs/u",
            &[],
            &BodyShape::Fixture("fixtures/a.png".into()),
            "T",
        );
        assert!(file.contains("--data-binary @\"fixtures/a.png\""), "{file}");
    }
}
