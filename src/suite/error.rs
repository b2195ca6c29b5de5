//! Suite-file errors with a file, line and column, rendered the way rustc and Hurl do.

use std::fmt;

/// A problem in a suite file, located at a byte span of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteError {
    /// File name as given (e.g. `suites/client-download.toml` or an embedded name).
    pub file: String,
    /// 1-based line and column of the start of the span (0 when unknown).
    pub line: usize,
    pub column: usize,
    /// The offending source line (empty when unknown).
    pub source_line: String,
    /// Width of the caret underline.
    pub width: usize,
    pub message: String,
}

impl SuiteError {
    /// Builds an error at `span` of `text`; a missing span points at the file only.
    pub fn at(
        file: &str,
        text: &str,
        span: Option<std::ops::Range<usize>>,
        message: impl Into<String>,
    ) -> Self {
        let (line, column, source_line, width) = match span {
            Some(span) => {
                let start = span.start.min(text.len());
                let before = &text[..floor_char_boundary(text, start)];
                let line = before.matches('\n').count() + 1;
                let line_start = before.rfind('\n').map_or(0, |i| i + 1);
                let column = before[line_start..].chars().count() + 1;
                let line_end = text[line_start..]
                    .find('\n')
                    .map_or(text.len(), |i| line_start + i);
                let source_line = text[line_start..line_end]
                    .trim_end_matches('\r')
                    .to_string();
                let end = span.end.clamp(start, line_end);
                let width = text[floor_char_boundary(text, start)..floor_char_boundary(text, end)]
                    .chars()
                    .count()
                    .max(1);
                (line, column, source_line, width)
            }
            None => (0, 0, String::new(), 0),
        };
        SuiteError {
            file: file.to_string(),
            line,
            column,
            source_line,
            width,
            message: message.into(),
        }
    }

    /// `file:line:column` (or just the file when the position is unknown).
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    i = i.min(text.len());
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.message)?;
        write!(f, "  --> {}", self.location())?;
        if self.line > 0 {
            let gutter = self.line.to_string().len();
            writeln!(f)?;
            writeln!(f, "{:gutter$} |", "")?;
            writeln!(f, "{} | {}", self.line, self.source_line)?;
            let pad: String = self
                .source_line
                .chars()
                .take(self.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            write!(f, "{:gutter$} | {pad}{}", "", "^".repeat(self.width))?;
        }
        Ok(())
    }
}

impl std::error::Error for SuiteError {}

/// Several suite errors at once (a run reports all of them before stopping).
#[derive(Debug, Clone, Default)]
pub struct SuiteErrors(pub Vec<SuiteError>);

impl fmt::Display for SuiteErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SuiteErrors {}
