//! Config-file errors: a kind (what is wrong, as values) at a file, line and column, rendered
//! like suite-file errors (summary, `--> file:line:column`, the line, carets, a hint).

use std::fmt;
use std::ops::Range;

/// What is wrong with a config file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigErrorKind {
    /// `--config FILE` names a file that does not exist.
    #[error(
        "config file not found (given with --config; `mediaconf init --out FILE` writes an example)"
    )]
    NotFound,
    #[error("cannot read the config file: {0}")]
    Read(String),
    /// Not TOML, or a value of the wrong type (the parser's message).
    #[error("{0}")]
    Syntax(String),
    #[error("unknown key `{key}`{}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownKey {
        key: String,
        suggestion: Option<&'static str>,
    },
    /// A key that would hold a secret's value.
    #[error(
        "`{key}` would hold a secret in the file: name the environment variable that holds it instead, `{env_key} = \"VARIABLE\"`"
    )]
    SecretValue { key: String, env_key: &'static str },
    /// A value of the right type that is still not usable.
    #[error("`{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

/// A problem in a config file, at a position of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file as given or found, e.g. `mediaconf.toml`.
    pub file: String,
    /// 1-based line and column (0 when the error has no position).
    pub line: usize,
    pub column: usize,
    /// The line the error is on (empty without a position).
    pub source_line: String,
    /// How many characters the carets underline.
    pub width: usize,
    pub kind: ConfigErrorKind,
}

impl ConfigError {
    /// An error about the file as a whole.
    pub fn file(file: &str, kind: ConfigErrorKind) -> Self {
        ConfigError {
            file: file.to_string(),
            line: 0,
            column: 0,
            source_line: String::new(),
            width: 0,
            kind,
        }
    }

    /// An error at byte range `span` of `text` (clamped to the text and to its first line).
    pub fn at(file: &str, text: &str, span: Range<usize>, kind: ConfigErrorKind) -> Self {
        let start = char_floor(text, span.start);
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
        let end = char_floor(text, span.end.clamp(start, line_end));
        ConfigError {
            file: file.to_string(),
            line: text[..start].matches('\n').count() + 1,
            column: text[line_start..start].chars().count() + 1,
            source_line: text[line_start..line_end]
                .trim_end_matches('\r')
                .to_string(),
            width: text[start..end].chars().count().max(1),
            kind,
        }
    }

    /// `file:line:column`, or the file alone without a position.
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// The largest char boundary of `text` at or before `i`.
fn char_floor(text: &str, i: usize) -> usize {
    (0..=i.min(text.len()))
        .rev()
        .find(|&b| text.is_char_boundary(b))
        .unwrap_or(0)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.kind)?;
        write!(f, "  --> {}", self.location())?;
        if let ConfigErrorKind::SecretValue { .. } = self.kind {
            // The line holds the secret: never print it (this goes to CI logs).
            return write!(f, "\n  = the line is not shown: it holds a secret");
        }
        if self.line > 0 {
            let gutter = " ".repeat(self.line.to_string().len());
            let pad: String = self
                .source_line
                .chars()
                .take(self.column - 1)
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(
                f,
                "\n{gutter} |\n{} | {}\n{gutter} | {pad}{}",
                self.line,
                self.source_line,
                "^".repeat(self.width)
            )?;
        }
        if let ConfigErrorKind::UnknownKey { .. } = self.kind {
            write!(f, "\n  = allowed keys: {}", super::KEYS.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_errors_point_at_line_and_column() {
        let text = "target = \"x\"\n  jbos = 3\n";
        let e = ConfigError::at(
            "m.toml",
            text,
            15..19,
            ConfigErrorKind::UnknownKey {
                key: "jbos".into(),
                suggestion: Some("jobs"),
            },
        );
        assert_eq!((e.line, e.column, e.width), (2, 3, 4));
        let shown = e.to_string();
        assert!(shown.starts_with(
            "error: unknown key `jbos` (did you mean `jobs`?)\n  --> m.toml:2:3\n  |\n2 |   jbos = 3\n  |   ^^^^\n  = allowed keys: target, "
        ), "{shown}");
    }

    #[test]
    fn a_secret_line_is_never_shown() {
        let e = ConfigError::at(
            "m.toml",
            "user-token = \"syt_abc\"",
            0..10,
            ConfigErrorKind::SecretValue {
                key: "user-token".into(),
                env_key: "user-token-env",
            },
        );
        let shown = e.to_string();
        assert!(!shown.contains("syt_abc"), "{shown}");
        assert!(shown.contains("m.toml:1:1") && shown.contains("`user-token-env = \"VARIABLE\"`"));
    }

    #[test]
    fn a_span_past_the_end_is_clamped() {
        let e = ConfigError::at(
            "m.toml",
            "a = é",
            5..99,
            ConfigErrorKind::Syntax("x".into()),
        );
        assert_eq!((e.line, e.column, e.width), (1, 5, 1));
    }
}
