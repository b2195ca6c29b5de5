//! The strict parser: `Content-Type` header value and body of a federation media response.

use std::fmt;

use memchr::memmem;
use serde_json::{Map, Value};

/// How many header fields one body part may carry before it counts as malformed.
const MAX_PART_HEADERS: usize = 64;
/// How many bytes of junk text a violation message quotes.
const JUNK_PREVIEW: usize = 40;
/// Parts kept (headers and content) for the checks; the rest are counted and judged as they
/// pass, so 100,000 tiny parts cost a counter, not 100,000 allocations.
pub const MAX_KEPT_PARTS: usize = 8;
/// Violations kept; further ones are counted in [`MediaParse::omitted_violations`].
pub const MAX_KEPT_VIOLATIONS: usize = 32;

/// Why a boundary parameter value breaks RFC 2046 §5.1.1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundaryProblem {
    /// The value is empty (RFC 2046 requires 1 to 70 characters).
    Empty,
    /// The value is longer than 70 characters; carries the length in characters.
    TooLong(usize),
    /// The value contains a character outside RFC 2046's `bchars`.
    InvalidChar(char),
    /// The value ends with a space, which RFC 2046 forbids.
    EndsWithSpace,
    /// The value is unquoted but contains a `bchars` character that is not a token character.
    NeedsQuoting(char),
}

impl fmt::Display for BoundaryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty (RFC 2046 requires 1 to 70 characters)"),
            Self::TooLong(n) => write!(f, "it is {n} characters long, RFC 2046 allows at most 70"),
            Self::InvalidChar(c) => {
                write!(
                    f,
                    "character {c:?} is not allowed in a boundary (RFC 2046 bchars)"
                )
            }
            Self::EndsWithSpace => f.write_str("it ends with a space, which RFC 2046 forbids"),
            Self::NeedsQuoting(c) => {
                write!(
                    f,
                    "it contains {c:?}, so the parameter value must be quoted"
                )
            }
        }
    }
}

/// A broken rule: the response does not conform to the spec or to RFC 2046 / RFC 9110.
///
/// Part numbers (`part`) are 1-based; `offset`s are byte offsets into the body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Violation {
    /// The response's media type is not `multipart/mixed`.
    #[error("content type is `{actual}`, spec requires `multipart/mixed`")]
    NotMultipartMixed { actual: String },
    /// The `Content-Type` header value does not follow the RFC 9110 media-type grammar.
    #[error("malformed content type `{value}`: {reason}")]
    MalformedContentType { value: String, reason: String },
    /// A `multipart/*` content type without a `boundary` parameter.
    #[error("content type has no `boundary` parameter")]
    MissingBoundary,
    /// The boundary parameter breaks RFC 2046's boundary syntax.
    #[error("invalid boundary `{boundary}`: {problem}")]
    InvalidBoundary {
        boundary: String,
        problem: BoundaryProblem,
    },
    /// No line of the body starts with `--boundary`.
    #[error("no opening delimiter `--{boundary}` found in the body")]
    NoOpeningDelimiter { boundary: String },
    /// A delimiter is not preceded by CRLF (and is not at the very start of the body).
    #[error(
        "delimiter at byte {offset} is not preceded by CRLF (only a delimiter at the very start of the body may omit it)"
    )]
    MissingCrlfBeforeDelimiter { offset: usize },
    /// Line endings in the framing or in part headers that are a bare LF without CR.
    #[error(
        "bare LF line ending at byte {first_offset}: multipart framing and part headers must use CRLF ({})",
        plural(*count, "bare LF line ending")
    )]
    LfOnlyLineEnding { first_offset: usize, count: usize },
    /// Whitespace between a delimiter and its CRLF; receivers accept it, composers must not send it.
    #[error(
        "transport padding (whitespace) after the delimiter at byte {offset}: RFC 2046 forbids composers to generate it"
    )]
    TransportPadding { offset: usize },
    /// Text after a delimiter on the delimiter's line.
    #[error("unexpected text {junk:?} after the delimiter at byte {offset}")]
    JunkAfterDelimiter { offset: usize, junk: String },
    /// The body never has a close delimiter `--boundary--`.
    #[error(
        "no close delimiter `--{boundary}--`: the body ends after {}{}",
        plural(*parts, "part"),
        if *ends_at_delimiter { ", at a delimiter without the closing `--`" } else { "" }
    )]
    NoCloseDelimiter {
        boundary: String,
        parts: usize,
        ends_at_delimiter: bool,
    },
    /// The body ends before a part is terminated by a delimiter.
    #[error("the body ends inside part {part}{}", if *in_headers { "'s header section" } else { " (no delimiter follows its content)" })]
    BodyEndsInsidePart { part: usize, in_headers: bool },
    /// A part's header section cannot be parsed.
    #[error("part {part} has a malformed header section: {error}")]
    MalformedPartHeaders { part: usize, error: String },
    /// The body does not have exactly two parts.
    #[error("{}, spec requires exactly 2", plural(*count, "body part"))]
    WrongPartCount { count: usize },
    /// The first (metadata) part has no `Content-Type` header.
    #[error("first part has no `Content-Type` header, spec requires `application/json`")]
    JsonPartMissingContentType,
    /// The first (metadata) part's `Content-Type` is not `application/json`.
    #[error("first part content type is `{actual}`, spec requires `application/json`")]
    JsonPartWrongContentType { actual: String },
    /// The first (metadata) part's body is not JSON.
    #[error("first part is not valid JSON: {error}")]
    JsonPartInvalidJson { error: String },
    /// The first (metadata) part's body is JSON but not an object.
    #[error("first part is a JSON {kind}, spec requires an object")]
    JsonPartNotObject { kind: &'static str },
    /// The second part has neither a `Location` nor a `Content-Type` header, and an empty body.
    #[error(
        "second part has neither a `Location` nor a `Content-Type` header, and an empty body: it carries no media"
    )]
    MediaPartEmpty,
}

impl Violation {
    /// A stable kebab-case identifier for tests and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotMultipartMixed { .. } => "not-multipart-mixed",
            Self::MalformedContentType { .. } => "malformed-content-type",
            Self::MissingBoundary => "missing-boundary",
            Self::InvalidBoundary { .. } => "invalid-boundary",
            Self::NoOpeningDelimiter { .. } => "no-opening-delimiter",
            Self::MissingCrlfBeforeDelimiter { .. } => "missing-crlf-before-delimiter",
            Self::LfOnlyLineEnding { .. } => "lf-only-line-ending",
            Self::TransportPadding { .. } => "transport-padding",
            Self::JunkAfterDelimiter { .. } => "junk-after-delimiter",
            Self::NoCloseDelimiter { .. } => "no-close-delimiter",
            Self::BodyEndsInsidePart { .. } => "body-ends-inside-part",
            Self::MalformedPartHeaders { .. } => "malformed-part-headers",
            Self::WrongPartCount { .. } => "wrong-part-count",
            Self::JsonPartMissingContentType => "json-part-missing-content-type",
            Self::JsonPartWrongContentType { .. } => "json-part-wrong-content-type",
            Self::JsonPartInvalidJson { .. } => "json-part-invalid-json",
            Self::JsonPartNotObject { .. } => "json-part-not-object",
            Self::MediaPartEmpty => "media-part-empty",
        }
    }
}

/// A warning-level observation: allowed by the spec, but known to break a real implementation
/// (or discouraged by a SHOULD). Notes never make a response non-conformant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Note {
    /// The body starts directly with `--boundary` (no preamble CRLF), as Dendrite sent it.
    BodyStartsWithDelimiter,
    /// The boundary parameter value is a quoted string.
    BoundaryQuoted,
    /// A parameter follows `boundary=` in the response `Content-Type`.
    ParameterAfterBoundary { name: String },
    /// The first part's type is `application/json` but not byte-for-byte (parameters, case).
    JsonContentTypeNotExact { actual: String },
    /// The first part's first header is not `Content-Type`.
    JsonPartHeaderOrder { first: String },
    /// The second part carries media bytes without a `Content-Type` header.
    MediaPartMissingContentType,
    /// The second part has a `Location` header and a non-empty body.
    LocationWithBody { len: usize },
    /// The `Location` value is not an absolute `http(s)` URL.
    LocationNotAbsolute { url: String },
    /// Another header follows `Location` in the second part.
    LocationNotLastHeader { header: String },
}

impl Note {
    /// A stable kebab-case identifier for tests and reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BodyStartsWithDelimiter => "body-starts-with-delimiter",
            Self::BoundaryQuoted => "boundary-quoted",
            Self::ParameterAfterBoundary { .. } => "parameter-after-boundary",
            Self::JsonContentTypeNotExact { .. } => "json-content-type-not-exact",
            Self::JsonPartHeaderOrder { .. } => "json-part-header-order",
            Self::MediaPartMissingContentType => "media-part-missing-content-type",
            Self::LocationWithBody { .. } => "location-with-body",
            Self::LocationNotAbsolute { .. } => "location-not-absolute",
            Self::LocationNotLastHeader { .. } => "location-not-last-header",
        }
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BodyStartsWithDelimiter => f.write_str(
                "the body starts with the delimiter and no CRLF before it: valid per RFC 2046, but ruma-based servers before ruma PR #1909 reject it",
            ),
            Self::BoundaryQuoted => f.write_str(
                "the boundary parameter is quoted: valid, but Synapse takes everything after `boundary=` literally and fails to parse the body",
            ),
            Self::ParameterAfterBoundary { name } => write!(
                f,
                "parameter `{name}` follows the boundary parameter: valid, but Synapse takes everything after `boundary=` as the boundary and fails to parse the body"
            ),
            Self::JsonContentTypeNotExact { actual } => write!(
                f,
                "first part content type `{actual}` is acceptable, but Synapse requires exactly `application/json` and rejects the response"
            ),
            Self::JsonPartHeaderOrder { first } => write!(
                f,
                "first part starts with header `{first}` instead of `Content-Type`: Synapse takes the first header value as the content type and rejects the response"
            ),
            Self::MediaPartMissingContentType => f.write_str(
                "second part carries media bytes without a `Content-Type` header (RFC 2046 defaults it to `text/plain`; Synapse fails with a 500)",
            ),
            Self::LocationWithBody { len } => write!(
                f,
                "second part has a `Location` header and a {} body, which should be empty",
                plural(*len, "byte")
            ),
            Self::LocationNotAbsolute { url } => write!(
                f,
                "`Location` {url:?} is not an absolute http(s) URL: relative locations are a known interop problem"
            ),
            Self::LocationNotLastHeader { header } => write!(
                f,
                "header `{header}` follows `Location` in the second part: Synapse then takes that header's value as the URL"
            ),
        }
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// One body part: its header fields in order (names as sent) and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Part {
    /// The value of the first header field called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the parser found: the parts it could delimit, every violation and every note.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MediaParse {
    /// The first [`MAX_KEPT_PARTS`] delimited parts in order. A part whose header section could
    /// not be parsed is kept (so indices match part numbers) with no headers and its raw
    /// content as body.
    pub parts: Vec<Part>,
    /// How many parts were delimited in all (kept or not).
    pub part_count: usize,
    /// The first [`MAX_KEPT_VIOLATIONS`] violations, in the order found.
    pub violations: Vec<Violation>,
    /// Violations found beyond those kept.
    pub omitted_violations: usize,
    pub notes: Vec<Note>,
}

/// The media carried by a (possibly non-conformant) response.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaParts {
    pub metadata: Map<String, Value>,
    pub content: MediaContent,
}

/// The second part: media bytes or a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaContent {
    Bytes {
        content_type: Option<String>,
        content_disposition: Option<String>,
        body: Vec<u8>,
    },
    Location {
        url: String,
    },
}

impl MediaParse {
    /// The metadata object and media of the first two parts, if the response has at least two
    /// parts and the first is a JSON object. Lenient on purpose: extra parts and framing errors
    /// do not prevent extraction; use [`MediaParse::is_conformant`] to judge the response.
    pub fn media(&self) -> Option<MediaParts> {
        let [first, second, ..] = self.parts.as_slice() else {
            return None;
        };
        let Ok(Value::Object(metadata)) = serde_json::from_slice::<Value>(&first.body) else {
            return None;
        };
        let content = match second.header("location") {
            Some(url) => MediaContent::Location {
                url: url.to_owned(),
            },
            None => MediaContent::Bytes {
                content_type: second.header("content-type").map(str::to_owned),
                content_disposition: second.header("content-disposition").map(str::to_owned),
                body: second.body.clone(),
            },
        };
        Some(MediaParts { metadata, content })
    }

    /// True when no rule was broken (notes do not count).
    pub fn is_conformant(&self) -> bool {
        self.violations.is_empty()
    }

    /// Records a violation, or counts it once [`MAX_KEPT_VIOLATIONS`] are kept.
    fn add_violation(&mut self, v: Violation) {
        if self.violations.len() < MAX_KEPT_VIOLATIONS {
            self.violations.push(v);
        } else {
            self.omitted_violations += 1;
        }
    }

    /// The codes of all violations, in the order found.
    pub fn violation_codes(&self) -> Vec<&'static str> {
        self.violations.iter().map(Violation::code).collect()
    }

    /// The codes of all notes, in the order found.
    pub fn note_codes(&self) -> Vec<&'static str> {
        self.notes.iter().map(Note::code).collect()
    }
}

// ---------------------------------------------------------------------------------------------
// Content-Type header

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_bchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "'()+_,-./:=? ".contains(c)
}

fn skip_ows(s: &[u8], i: &mut usize) {
    while matches!(s.get(*i), Some(b' ' | b'\t')) {
        *i += 1;
    }
}

fn skip_tchars(s: &[u8], i: &mut usize) {
    while s.get(*i).is_some_and(|&c| is_tchar(c)) {
        *i += 1;
    }
}

struct ContentTypeInfo {
    boundary: Option<String>,
    violations: Vec<Violation>,
    notes: Vec<Note>,
}

fn parse_content_type(ct: &str) -> ContentTypeInfo {
    let mut info = ContentTypeInfo {
        boundary: None,
        violations: Vec::new(),
        notes: Vec::new(),
    };
    let Some((after_essence, is_multipart)) = parse_essence(ct, &mut info) else {
        return info;
    };
    let boundary_quoted = parse_parameters(ct, after_essence, &mut info);
    match &info.boundary {
        None if is_multipart => info.violations.push(Violation::MissingBoundary),
        None => {}
        Some(b) => {
            for problem in boundary_problems(b, boundary_quoted) {
                info.violations.push(Violation::InvalidBoundary {
                    boundary: b.clone(),
                    problem,
                });
            }
            if boundary_quoted {
                info.notes.insert(0, Note::BoundaryQuoted);
            }
        }
    }
    info
}

fn malformed(ct: &str, reason: String) -> Violation {
    Violation::MalformedContentType {
        value: ct.to_owned(),
        reason,
    }
}

/// `ct[a..b]`. Every index used to slice `ct` sits right after an ASCII byte (or at 0 / the
/// end), so it is a char boundary; `get` keeps that a non-panicking guarantee anyway.
fn text(ct: &str, a: usize, b: usize) -> &str {
    ct.get(a..b).unwrap_or("")
}

/// `type/subtype`: where it ends and whether the type is `multipart`; `None` (with the
/// violation recorded) when there is no media type.
fn parse_essence(ct: &str, info: &mut ContentTypeInfo) -> Option<(usize, bool)> {
    let s = ct.as_bytes();
    let mut i = 0;
    skip_ows(s, &mut i);
    let type_start = i;
    skip_tchars(s, &mut i);
    if i == type_start {
        let reason = if i >= s.len() {
            "it is empty"
        } else {
            "no media type"
        };
        info.violations.push(malformed(ct, reason.to_owned()));
        return None;
    }
    let type_end = i;
    if s.get(i) != Some(&b'/') {
        info.violations
            .push(malformed(ct, "no `/` between type and subtype".to_owned()));
        return None;
    }
    i += 1;
    let subtype_start = i;
    skip_tchars(s, &mut i);
    if i == subtype_start {
        info.violations
            .push(malformed(ct, "no subtype after `/`".to_owned()));
        return None;
    }
    let essence = text(ct, type_start, i);
    if !essence.eq_ignore_ascii_case("multipart/mixed") {
        info.violations.push(Violation::NotMultipartMixed {
            actual: essence.to_owned(),
        });
    }
    Some((
        i,
        text(ct, type_start, type_end).eq_ignore_ascii_case("multipart"),
    ))
}

/// The `; name=value` parameters from `i` on; records the boundary and every violation.
/// Returns whether the boundary was quoted.
fn parse_parameters(ct: &str, mut i: usize, info: &mut ContentTypeInfo) -> bool {
    let s = ct.as_bytes();
    let mut boundary_quoted = false;
    loop {
        skip_ows(s, &mut i);
        let Some(&c) = s.get(i) else { break };
        if c != b';' {
            let shown = ct.get(i..).and_then(|r| r.chars().next()).unwrap_or('?');
            info.violations.push(malformed(
                ct,
                format!("unexpected {shown:?} where `;` was expected"),
            ));
            break;
        }
        i += 1;
        skip_ows(s, &mut i);
        match s.get(i) {
            None => break,
            Some(b';') => continue,
            Some(_) => {}
        }
        let name_start = i;
        skip_tchars(s, &mut i);
        if i == name_start {
            info.violations
                .push(malformed(ct, "a parameter has no name".to_owned()));
            break;
        }
        let name = text(ct, name_start, i);
        if s.get(i) != Some(&b'=') {
            info.violations
                .push(malformed(ct, format!("parameter `{name}` has no `=value`")));
            break;
        }
        i += 1;
        let is_boundary = name.eq_ignore_ascii_case("boundary");
        if info.boundary.is_some() {
            info.notes.push(Note::ParameterAfterBoundary {
                name: name.to_owned(),
            });
        }
        let (value, quoted) = if s.get(i) == Some(&b'"') {
            let Some(value) = quoted_value(s, &mut i) else {
                info.violations.push(malformed(
                    ct,
                    format!("the quoted value of parameter `{name}` is not terminated"),
                ));
                break;
            };
            (value, true)
        } else {
            (token_value(ct, &mut i, name, is_boundary, info), false)
        };
        if is_boundary {
            if info.boundary.is_some() {
                info.violations.push(malformed(
                    ct,
                    "more than one `boundary` parameter".to_owned(),
                ));
            } else {
                boundary_quoted = quoted;
                info.boundary = Some(value);
            }
        }
    }
    boundary_quoted
}

/// A quoted-string starting at `s[*i]` (the opening quote), unescaped; `None` when it is not
/// terminated.
fn quoted_value(s: &[u8], i: &mut usize) -> Option<String> {
    *i += 1;
    let mut v = Vec::new();
    while let Some(&c) = s.get(*i) {
        match c {
            b'\\' => {
                if let Some(&e) = s.get(*i + 1) {
                    v.push(e);
                }
                *i += 2;
            }
            b'"' => {
                *i += 1;
                return Some(String::from_utf8_lossy(&v).into_owned());
            }
            _ => {
                v.push(c);
                *i += 1;
            }
        }
    }
    None
}

/// An unquoted value up to `;` or whitespace; a value other than the boundary's must be a
/// non-empty token.
fn token_value(
    ct: &str,
    i: &mut usize,
    name: &str,
    is_boundary: bool,
    info: &mut ContentTypeInfo,
) -> String {
    let s = ct.as_bytes();
    let value_start = *i;
    while s.get(*i).is_some_and(|c| !matches!(c, b';' | b' ' | b'\t')) {
        *i += 1;
    }
    let raw = text(ct, value_start, *i);
    if !is_boundary {
        if raw.is_empty() {
            info.violations.push(malformed(
                ct,
                format!("parameter `{name}` has an empty value"),
            ));
        } else if let Some(c) = raw.chars().find(|&c| !(c.is_ascii() && is_tchar(c as u8))) {
            info.violations.push(malformed(
                ct,
                format!("the value of parameter `{name}` contains {c:?} and must be quoted"),
            ));
        }
    }
    raw.to_owned()
}

fn boundary_problems(b: &str, quoted: bool) -> Vec<BoundaryProblem> {
    if b.is_empty() {
        return vec![BoundaryProblem::Empty];
    }
    let mut problems = Vec::new();
    if let Some(c) = b.chars().find(|&c| !is_bchar(c)) {
        problems.push(BoundaryProblem::InvalidChar(c));
    } else if !quoted && let Some(c) = b.chars().find(|&c| !(c.is_ascii() && is_tchar(c as u8))) {
        problems.push(BoundaryProblem::NeedsQuoting(c));
    }
    let len = b.chars().count();
    if len > 70 {
        problems.push(BoundaryProblem::TooLong(len));
    }
    if b.ends_with(' ') {
        problems.push(BoundaryProblem::EndsWithSpace);
    }
    problems
}

/// The boundary of a `multipart/mixed` response `Content-Type` value.
///
/// The type is matched case-insensitively; the boundary may be a token or a quoted string, and
/// other parameters may come in any order. Fails with the first rule broken, including RFC 2046
/// boundary syntax (1 to 70 `bchars`, not ending in a space).
pub fn boundary_from_content_type(ct: &str) -> Result<String, Violation> {
    let info = parse_content_type(ct);
    if let Some(v) = info.violations.into_iter().next() {
        return Err(v);
    }
    info.boundary.ok_or(Violation::MissingBoundary)
}

// ---------------------------------------------------------------------------------------------
// Body

/// What precedes a `--boundary` candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    /// Offset 0 of the body.
    Start,
    Crlf,
    /// A LF without CR.
    Lf,
    /// Anything else (the delimiter does not start a line).
    Nothing,
}

/// How a delimiter line ends after the optional `--` and transport padding.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LineEnd {
    Crlf,
    Lf,
    Eof,
    Junk,
}

#[derive(Clone, Copy)]
struct Delimiter {
    /// Offset of `--boundary`.
    at: usize,
    before: Before,
    close: bool,
    /// Offset just after `--boundary` (and `--` for a close delimiter).
    padding_start: usize,
    /// Offset of the line end (after any transport padding).
    padding_end: usize,
    end: LineEnd,
}

impl Delimiter {
    /// Where the preceding part's content ends (the CRLF / LF belongs to the delimiter).
    fn content_end(&self) -> usize {
        match self.before {
            Before::Crlf => self.at.saturating_sub(2),
            Before::Lf => self.at.saturating_sub(1),
            Before::Start | Before::Nothing => self.at,
        }
    }
}

struct BodyScanner<'a> {
    body: &'a [u8],
    boundary: &'a str,
    finder: memmem::Finder<'a>,
    dash_len: usize,
    parse: MediaParse,
    /// Whether each part's header section parsed.
    headers_ok: Vec<bool>,
    bare_lfs: usize,
    first_bare_lf: Option<usize>,
}

impl<'a> BodyScanner<'a> {
    fn bare_lf(&mut self, offset: usize) {
        self.bare_lfs += 1;
        self.first_bare_lf.get_or_insert(offset);
    }

    /// The next delimiter at or after `from`. Bytes before `lower` do not count as its CRLF.
    fn next_delimiter(&self, from: usize, lower: usize) -> Option<Delimiter> {
        let body = self.body;
        let mut from = from;
        loop {
            let at = from + self.finder.find(body.get(from..)?)?;
            let before = if at == 0 {
                Before::Start
            } else if at >= lower + 2 && body.get(at - 2..at) == Some(b"\r\n") {
                Before::Crlf
            } else if at > lower && body.get(at - 1) == Some(&b'\n') {
                Before::Lf
            } else {
                Before::Nothing
            };
            let after = at + self.dash_len;
            let close = body.get(after..after + 2) == Some(b"--");
            let padding_start = if close { after + 2 } else { after };
            let mut padding_end = padding_start;
            while matches!(body.get(padding_end), Some(b' ' | b'\t')) {
                padding_end += 1;
            }
            let end = match body.get(padding_end..) {
                None | Some([]) => LineEnd::Eof,
                Some([b'\r', b'\n', ..]) => LineEnd::Crlf,
                Some([b'\n', ..]) => LineEnd::Lf,
                Some(_) => LineEnd::Junk,
            };
            // RFC 2046: a delimiter is recognised at the start of a line, whatever follows the
            // boundary. Mid-line, accept `--boundary` only when it is followed by what a
            // delimiter line allows, i.e. a delimiter whose CRLF is missing.
            if before != Before::Nothing || end != LineEnd::Junk {
                return Some(Delimiter {
                    at,
                    before,
                    close,
                    padding_start,
                    padding_end,
                    end,
                });
            }
            from = at + 1;
        }
    }

    /// Records the framing violations of a delimiter; returns where its line ends.
    fn record_delimiter(&mut self, d: &Delimiter) -> usize {
        match d.before {
            Before::Start => self.parse.notes.push(Note::BodyStartsWithDelimiter),
            Before::Crlf => {}
            Before::Lf => self.bare_lf(d.at - 1),
            Before::Nothing => self
                .parse
                .add_violation(Violation::MissingCrlfBeforeDelimiter { offset: d.at }),
        }
        if d.padding_end > d.padding_start && d.end != LineEnd::Junk {
            self.parse
                .add_violation(Violation::TransportPadding { offset: d.at });
        }
        let len = self.body.len();
        match d.end {
            LineEnd::Crlf => d.padding_end + 2,
            LineEnd::Lf => {
                self.bare_lf(d.padding_end);
                d.padding_end + 1
            }
            LineEnd::Eof => len,
            LineEnd::Junk => {
                // The junk is quoted with any whitespace before it.
                let rest = self.body.get(d.padding_start..).unwrap_or_default();
                let (line, next) = match memchr::memchr(b'\n', rest) {
                    Some(j) => {
                        let line = rest.get(..j).unwrap_or_default();
                        let line = match line.strip_suffix(b"\r") {
                            Some(stripped) => stripped,
                            None => {
                                self.bare_lf(d.padding_start + j);
                                line
                            }
                        };
                        (line, d.padding_start + j + 1)
                    }
                    None => (rest, len),
                };
                let shown = line.get(..JUNK_PREVIEW).unwrap_or(line);
                let mut junk = String::from_utf8_lossy(shown).into_owned();
                if shown.len() < line.len() {
                    junk.push('…');
                }
                self.parse
                    .add_violation(Violation::JunkAfterDelimiter { offset: d.at, junk });
                next
            }
        }
    }

    /// Parses one part's content (`start..end`); `terminated` says whether a delimiter follows.
    fn push_part(&mut self, start: usize, end: usize, terminated: bool) {
        let number = self.parse.part_count + 1;
        self.parse.part_count = number;
        let content = self.body.get(start..end).unwrap_or_default();
        let mut storage = [httparse::EMPTY_HEADER; MAX_PART_HEADERS];
        let (part, ok) = match httparse::parse_headers(content, &mut storage) {
            Ok(httparse::Status::Complete((n, fields))) => {
                let section = content.get(..n).unwrap_or_default();
                for j in memchr::memchr_iter(b'\n', section) {
                    if j == 0 || section.get(j - 1) != Some(&b'\r') {
                        self.bare_lf(start + j);
                    }
                }
                let headers = fields
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_owned(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect();
                if !terminated {
                    self.parse.add_violation(Violation::BodyEndsInsidePart {
                        part: number,
                        in_headers: false,
                    });
                }
                let body = content.get(n..).unwrap_or_default().to_vec();
                (Part { headers, body }, true)
            }
            Ok(httparse::Status::Partial) => {
                self.parse.add_violation(if terminated {
                    Violation::MalformedPartHeaders {
                        part: number,
                        error: "the header section is not terminated by an empty line".to_owned(),
                    }
                } else {
                    Violation::BodyEndsInsidePart {
                        part: number,
                        in_headers: true,
                    }
                });
                (
                    Part {
                        headers: Vec::new(),
                        body: content.to_vec(),
                    },
                    false,
                )
            }
            Err(e) => {
                self.parse.add_violation(Violation::MalformedPartHeaders {
                    part: number,
                    error: e.to_string(),
                });
                (
                    Part {
                        headers: Vec::new(),
                        body: content.to_vec(),
                    },
                    false,
                )
            }
        };
        if self.parse.parts.len() < MAX_KEPT_PARTS {
            self.parse.parts.push(part);
            self.headers_ok.push(ok);
        }
    }

    fn scan(&mut self) {
        let Some(mut delimiter) = self.next_delimiter(0, 0) else {
            self.parse.add_violation(Violation::NoOpeningDelimiter {
                boundary: self.boundary.to_owned(),
            });
            return;
        };
        loop {
            let line_end = self.record_delimiter(&delimiter);
            if delimiter.close {
                // Whatever follows is the epilogue, which is ignored.
                break;
            }
            if delimiter.end == LineEnd::Eof {
                self.parse.add_violation(Violation::NoCloseDelimiter {
                    boundary: self.boundary.to_owned(),
                    parts: self.parse.part_count,
                    ends_at_delimiter: true,
                });
                break;
            }
            match self.next_delimiter(line_end, line_end) {
                Some(next) => {
                    self.push_part(line_end, next.content_end().max(line_end), true);
                    delimiter = next;
                }
                None => {
                    self.push_part(line_end, self.body.len(), false);
                    self.parse.add_violation(Violation::NoCloseDelimiter {
                        boundary: self.boundary.to_owned(),
                        parts: self.parse.part_count,
                        ends_at_delimiter: false,
                    });
                    break;
                }
            }
        }
        if let Some(first_offset) = self.first_bare_lf {
            self.parse.add_violation(Violation::LfOnlyLineEnding {
                first_offset,
                count: self.bare_lfs,
            });
        }
        let count = self.parse.part_count;
        if count != 2 {
            self.parse
                .add_violation(Violation::WrongPartCount { count });
        }
        if let (Some(first), Some(true)) = (self.parse.parts.first(), self.headers_ok.first()) {
            let (violations, notes) = check_json_part(first);
            for v in violations {
                self.parse.add_violation(v);
            }
            self.parse.notes.extend(notes);
        }
        if let (Some(second), Some(true)) = (self.parse.parts.get(1), self.headers_ok.get(1)) {
            let (violations, notes) = check_media_part(second);
            for v in violations {
                self.parse.add_violation(v);
            }
            self.parse.notes.extend(notes);
        }
    }
}

fn check_json_part(part: &Part) -> (Vec<Violation>, Vec<Note>) {
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    match part.header("content-type") {
        None => violations.push(Violation::JsonPartMissingContentType),
        Some(actual) => {
            let essence = actual
                .split(';')
                .next()
                .unwrap_or_default()
                .trim_matches([' ', '\t']);
            if !essence.eq_ignore_ascii_case("application/json") {
                violations.push(Violation::JsonPartWrongContentType {
                    actual: actual.to_owned(),
                });
            } else {
                if actual != "application/json" {
                    notes.push(Note::JsonContentTypeNotExact {
                        actual: actual.to_owned(),
                    });
                }
                if let Some((first, _)) = part.headers.first()
                    && !first.eq_ignore_ascii_case("content-type")
                {
                    notes.push(Note::JsonPartHeaderOrder {
                        first: first.clone(),
                    });
                }
            }
        }
    }
    match serde_json::from_slice::<Value>(&part.body) {
        Err(e) => violations.push(Violation::JsonPartInvalidJson {
            error: e.to_string(),
        }),
        Ok(Value::Object(_)) => {}
        Ok(other) => violations.push(Violation::JsonPartNotObject {
            kind: match other {
                Value::Array(_) => "array",
                Value::String(_) => "string",
                Value::Number(_) => "number",
                Value::Bool(_) => "boolean",
                Value::Null | Value::Object(_) => "null value",
            },
        }),
    }
    (violations, notes)
}

fn check_media_part(part: &Part) -> (Vec<Violation>, Vec<Note>) {
    let mut violations = Vec::new();
    let mut notes = Vec::new();
    let location = part
        .headers
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case("location"));
    match location.and_then(|i| part.headers.get(i).map(|h| (i, h))) {
        Some((i, (_, url))) => {
            if !part.body.is_empty() {
                notes.push(Note::LocationWithBody {
                    len: part.body.len(),
                });
            }
            if !is_absolute_http_url(url) {
                notes.push(Note::LocationNotAbsolute { url: url.clone() });
            }
            if let Some((next, _)) = part.headers.get(i + 1) {
                notes.push(Note::LocationNotLastHeader {
                    header: next.clone(),
                });
            }
        }
        None => {
            if part.header("content-type").is_none() {
                if part.body.is_empty() {
                    violations.push(Violation::MediaPartEmpty);
                } else {
                    notes.push(Note::MediaPartMissingContentType);
                }
            }
        }
    }
    (violations, notes)
}

fn is_absolute_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !host.is_empty()
        && !url
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
}

/// Parses a federation media response (`Content-Type` header value and body) and collects
/// every violation and note that can be found. Never panics; linear in the body length.
pub fn parse_media_response(content_type: &str, body: &[u8]) -> MediaParse {
    let ct = parse_content_type(content_type);
    let mut parse = MediaParse {
        violations: ct.violations,
        notes: ct.notes,
        ..MediaParse::default()
    };
    let Some(boundary) = ct.boundary.filter(|b| !b.is_empty()) else {
        return parse;
    };
    let dash_boundary = format!("--{boundary}");
    let mut scanner = BodyScanner {
        body,
        boundary: &boundary,
        finder: memmem::Finder::new(dash_boundary.as_bytes()),
        dash_len: dash_boundary.len(),
        parse: MediaParse::default(),
        headers_ok: Vec::new(),
        bare_lfs: 0,
        first_bare_lf: None,
    };
    scanner.scan();
    parse.parts = scanner.parse.parts;
    parse.part_count = scanner.parse.part_count;
    parse.omitted_violations = scanner.parse.omitted_violations;
    for v in scanner.parse.violations {
        parse.add_violation(v);
    }
    parse.notes.extend(scanner.parse.notes);
    parse
}
