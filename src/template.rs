//! `{name}` templates in suite strings: parsing, listing the variables used, and expansion.
//!
//! Pure. A variable is `{server_name}`, `{media.NAME.id}` or any other `{word.word}` name; `{{` and
//! `}}` stand for literal braces. Which names exist is decided by the caller.

use std::collections::BTreeMap;

/// A piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
    Brace(char),
}

/// Why a template does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unclosed `{{` at byte {offset} (write `{{{{` for a literal brace)")]
    Unclosed { offset: usize },
    #[error("stray `}}` at byte {offset} (write `}}}}` for a literal brace)")]
    StrayClose { offset: usize },
    #[error(
        "invalid variable name `{name}` at byte {offset} (letters, digits, `_`, `-`, `.` only)"
    )]
    BadName { name: String, offset: usize },
    #[error("unknown variable `{{{name}}}`{hint}")]
    Unknown { name: String, hint: String },
}

/// Splits a template into pieces.
pub fn parse(template: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let bytes = template.as_bytes();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                push_text(&mut pieces, &template[text_start..i]);
                pieces.push(Piece::Brace('{'));
                i += 2;
                text_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                push_text(&mut pieces, &template[text_start..i]);
                pieces.push(Piece::Brace('}'));
                i += 2;
                text_start = i;
            }
            b'{' => {
                push_text(&mut pieces, &template[text_start..i]);
                let close = template[i + 1..]
                    .find('}')
                    .ok_or(TemplateError::Unclosed { offset: i })?;
                let name = &template[i + 1..i + 1 + close];
                let valid = !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
                if !valid {
                    return Err(TemplateError::BadName {
                        name: name.to_string(),
                        offset: i,
                    });
                }
                pieces.push(Piece::Var(name));
                i += close + 2;
                text_start = i;
            }
            b'}' => return Err(TemplateError::StrayClose { offset: i }),
            _ => i += 1,
        }
    }
    push_text(&mut pieces, &template[text_start..]);
    Ok(pieces)
}

fn push_text<'a>(pieces: &mut Vec<Piece<'a>>, text: &'a str) {
    if !text.is_empty() {
        pieces.push(Piece::Text(text));
    }
}

/// Variable names used by a template.
pub fn variables(template: &str) -> Result<Vec<String>, TemplateError> {
    Ok(parse(template)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Var(v) => Some(v.to_string()),
            _ => None,
        })
        .collect())
}

/// Expands a template with the given values; an unknown name is an error listing near names.
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len());
    for piece in parse(template)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Brace(c) => out.push(c),
            Piece::Var(name) => match values.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    let near: Vec<&str> = values
                        .keys()
                        .filter(|k| k.split('.').next() == name.split('.').next())
                        .map(String::as_str)
                        .take(5)
                        .collect();
                    let hint = if near.is_empty() {
                        String::new()
                    } else {
                        format!(" (known: {})", near.join(", "))
                    };
                    return Err(TemplateError::Unknown {
                        name: name.to_string(),
                        hint,
                    });
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_variables_and_braces() {
        let mut v = BTreeMap::new();
        v.insert("server_name".to_string(), "hs.example".to_string());
        v.insert("media.png.id".to_string(), "abc".to_string());
        assert_eq!(
            expand("/d/{server_name}/{media.png.id}?x={{y}}", &v).unwrap(),
            "/d/hs.example/abc?x={y}"
        );
        assert_eq!(variables("{a}-{b.c}").unwrap(), vec!["a", "b.c"]);
    }

    #[test]
    fn errors_have_offsets() {
        assert_eq!(parse("ab{cd"), Err(TemplateError::Unclosed { offset: 2 }));
        assert_eq!(parse("ab}c"), Err(TemplateError::StrayClose { offset: 2 }));
        assert!(matches!(parse("{a b}"), Err(TemplateError::BadName { .. })));
        let err = expand(
            "{media.gif.id}",
            &BTreeMap::from([("media.png.id".into(), "x".into())]),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown variable `{media.gif.id}` (known: media.png.id)"
        );
    }
}
