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
    secrets: Arc<RwLock<Secrets>>,
}

/// Every form to replace (each secret and its percent-encoded forms) and one automaton that
/// finds them all in a single pass (most texts hold none, and are then scanned once).
#[derive(Debug, Default)]
struct Secrets {
    forms: Vec<String>,
    finder: Option<aho_corasick::AhoCorasick>,
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
            if !s.forms.contains(&form) {
                s.forms.push(form);
            }
        }
        // Leftmost-longest, so a secret containing another is replaced whole. A contiguous NFA:
        // the automaton is rebuilt for every account registered, and a DFA costs more to build
        // than it saves on the few short texts a run redacts.
        s.finder = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .kind(Some(aho_corasick::AhoCorasickKind::ContiguousNFA))
            .build(&s.forms)
            .ok();
    }

    /// The text with every secret, and its percent-encoded form, replaced.
    pub fn redact(&self, text: &str) -> String {
        let Ok(secrets) = self.secrets.read() else {
            return text.to_string();
        };
        match &secrets.finder {
            Some(finder) if finder.is_match(text) => {
                finder.replace_all(text, &vec![REDACTED; secrets.forms.len()])
            }
            _ => text.to_string(),
        }
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

    #[test]
    fn a_secret_containing_another_is_replaced_whole() {
        let r = Redactor::default();
        r.add("abcd");
        r.add("abcdefgh");
        assert_eq!(
            r.redact("x abcdefgh y abcd z"),
            "x <redacted> y <redacted> z"
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
    }
}
