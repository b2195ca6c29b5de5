//! Replacing secrets (access tokens, registration secrets) with `<redacted>` in anything shown.

use std::sync::{Arc, RwLock};

/// The placeholder written instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// Percent-encoding that keeps RFC 3986 unreserved characters, as URL query encoders do.
const UNRESERVED_KEPT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A shared, growing list of secrets; cloning shares the list.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every form to replace: each secret and its percent-encoded forms, longest first.
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Redactor {
    /// Adds a secret; values shorter than 4 characters are ignored (they would mangle text).
    pub fn add(&self, secret: &str) {
        if secret.len() < 4 {
            return;
        }
        let Ok(mut s) = self.secrets.write() else {
            return;
        };
        // The encoded forms are computed once here, not on every redaction.
        let mut forms = vec![secret.to_string()];
        for set in [percent_encoding::NON_ALPHANUMERIC, UNRESERVED_KEPT] {
            forms.push(percent_encoding::utf8_percent_encode(secret, set).to_string());
        }
        for form in forms {
            if !s.contains(&form) {
                s.push(form);
            }
        }
        // Longest first so a secret containing another is replaced whole.
        s.sort_by_key(|x| std::cmp::Reverse(x.len()));
    }

    /// The text with every secret, and its percent-encoded form, replaced.
    pub fn redact(&self, text: &str) -> String {
        let Ok(secrets) = self.secrets.read() else {
            return text.to_string();
        };
        let mut out = text.to_string();
        for s in secrets.iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_plain_and_encoded_secrets() {
        let r = Redactor::default();
        r.add("syt_abc/def");
        r.add("xy");
        assert_eq!(
            r.redact("a syt_abc/def b syt_abc%2Fdef xy"),
            "a <redacted> b <redacted> xy"
        );
    }
}
