//! `Content-Disposition` parsing (RFC 6266 with RFC 8187 `filename*`) and the spec's rules on
//! inline vs attachment and file names.

use crate::exchange::RecordedResponse;
use crate::outcome::Finding;
use crate::suite::model::DispositionExpect;

use super::content_type::essence;

/// The 26 media types the spec (v1.12) lists as safe to serve `inline`.
pub const SAFE_INLINE_TYPES: &[&str] = &[
    "text/css",
    "text/plain",
    "text/csv",
    "application/json",
    "application/ld+json",
    "image/jpeg",
    "image/gif",
    "image/png",
    "image/apng",
    "image/webp",
    "image/avif",
    "video/mp4",
    "video/webm",
    "video/ogg",
    "video/quicktime",
    "audio/mp4",
    "audio/webm",
    "audio/aac",
    "audio/mpeg",
    "audio/ogg",
    "audio/wave",
    "audio/wav",
    "audio/x-wav",
    "audio/x-pn-wav",
    "audio/flac",
    "audio/x-flac",
];

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disposition {
    /// `inline`, `attachment` or whatever the server sent, lower-cased.
    pub kind: String,
    /// Decoded file name: `filename*` wins over `filename`.
    pub filename: Option<String>,
}

/// Parses `inline; filename="a b.png"; filename*=utf-8''a%20b.png`.
pub fn parse_disposition(value: &str) -> Result<Disposition, String> {
    let mut rest = value.trim();
    let kind_end = rest.find(';').unwrap_or(rest.len());
    let kind = rest[..kind_end].trim().to_ascii_lowercase();
    if kind.is_empty() {
        return Err("no disposition type".to_string());
    }
    rest = &rest[kind_end..];
    let mut plain = None;
    let mut extended = None;
    while let Some(after) = rest.strip_prefix(';') {
        let after = after.trim_start();
        if after.is_empty() {
            break;
        }
        let eq = after
            .find('=')
            .ok_or_else(|| format!("parameter without `=` in `{after}`"))?;
        let name = after[..eq].trim().to_ascii_lowercase();
        let value_part = after[eq + 1..].trim_start();
        let (val, remaining) = if let Some(q) = value_part.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = q.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = Some(i);
                        break;
                    }
                    c => out.push(c),
                }
            }
            let end =
                end.ok_or_else(|| format!("unterminated quoted string in parameter `{name}`"))?;
            (out, q[end + 1..].trim_start())
        } else {
            let end = value_part.find(';').unwrap_or(value_part.len());
            (value_part[..end].trim().to_string(), &value_part[end..])
        };
        match name.as_str() {
            "filename" => plain = Some(val),
            "filename*" => extended = Some(decode_ext_value(&val)?),
            _ => {}
        }
        rest = remaining;
        if !rest.is_empty() && !rest.starts_with(';') {
            return Err(format!("unexpected text `{rest}` after parameter `{name}`"));
        }
    }
    Ok(Disposition {
        kind,
        filename: extended.or(plain),
    })
}

/// Decodes an RFC 8187 ext-value `utf-8'lang'pct%20encoded`.
pub fn decode_ext_value(v: &str) -> Result<String, String> {
    let mut parts = v.splitn(3, '\'');
    let (charset, _lang, encoded) = match (parts.next(), parts.next(), parts.next()) {
        (Some(c), Some(l), Some(e)) => (c, l, e),
        _ => return Err(format!("`filename*={v}` is not charset'lang'value")),
    };
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(encoded).collect();
    match charset.to_ascii_lowercase().as_str() {
        "utf-8" => {
            String::from_utf8(bytes).map_err(|_| format!("`filename*={v}` is not valid UTF-8"))
        }
        "iso-8859-1" => Ok(bytes.iter().map(|b| char::from(*b)).collect()),
        other => Err(format!("`filename*` charset `{other}` is not UTF-8")),
    }
}

pub fn check_disposition(
    expect: &DispositionExpect,
    response: &RecordedResponse,
    findings: &mut Vec<Finding>,
) {
    let Some(raw) = response.header("content-disposition") else {
        findings.push(Finding::new(
            "header Content-Disposition",
            "present",
            "absent",
        ));
        return;
    };
    let parsed = match parse_disposition(raw) {
        Ok(p) => p,
        Err(e) => {
            findings.push(Finding::new(
                "Content-Disposition",
                "a valid header",
                format!("`{raw}` ({e})"),
            ));
            return;
        }
    };
    if let Some(types) = &expect.r#type
        && !types.0.iter().any(|t| t.eq_ignore_ascii_case(&parsed.kind))
    {
        findings.push(Finding::new(
            "Content-Disposition type",
            types.0.join(" or "),
            format!("`{raw}`"),
        ));
    }
    let shown_name = || match &parsed.filename {
        Some(n) => format!("filename {n:?} in `{raw}`"),
        None => format!("no filename in `{raw}`"),
    };
    if let Some(name) = &expect.filename
        && parsed.filename.as_deref() != Some(name.as_str())
    {
        findings.push(Finding::new(
            "Content-Disposition filename",
            format!("{name:?}"),
            shown_name(),
        ));
    }
    if expect.no_filename && parsed.filename.is_some() {
        findings.push(Finding::new(
            "Content-Disposition filename",
            "no filename",
            shown_name(),
        ));
    }
    if expect.has_filename && parsed.filename.is_none() {
        findings.push(Finding::new(
            "Content-Disposition filename",
            "a filename",
            shown_name(),
        ));
    }
    if expect.inline_only_if_safe && parsed.kind == "inline" {
        let ct = response.header("content-type").unwrap_or("");
        if !SAFE_INLINE_TYPES.contains(&essence(ct).as_str()) {
            findings.push(Finding::new(
                "inline Content-Type",
                "one of the spec's safe inline types (else attachment)",
                format!("inline with Content-Type `{ct}`"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        let d = parse_disposition("inline; filename=m.txt").unwrap();
        assert_eq!(
            (d.kind.as_str(), d.filename.as_deref()),
            ("inline", Some("m.txt"))
        );
        let d = parse_disposition(r#"Attachment; filename="a \"b\".png""#).unwrap();
        assert_eq!(
            (d.kind.as_str(), d.filename.as_deref()),
            ("attachment", Some("a \"b\".png"))
        );
        let d = parse_disposition("inline; filename*=utf-8''%E2%98%83.txt").unwrap();
        assert_eq!(d.filename.as_deref(), Some("☃.txt"));
        let d =
            parse_disposition("inline; filename=\"x\"; filename*=UTF-8''test%20file.png").unwrap();
        assert_eq!(d.filename.as_deref(), Some("test file.png"));
        assert_eq!(parse_disposition("attachment").unwrap().filename, None);
        assert!(parse_disposition("inline; filename=\"x").is_err());
        assert!(parse_disposition("; filename=x").is_err());
        assert!(parse_disposition("inline; filename*=x").is_err());
    }
}
