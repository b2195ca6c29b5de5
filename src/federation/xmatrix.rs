//! The `X-Matrix` federation request authentication scheme (server-server API, "Request
//! Authentication").
//!
//! What it does:
//! * builds the signed request object (`method`, `uri`, `origin`, `destination`, `content`) and
//!   signs it ([`request_json`], [`sign_request`]);
//! * renders the `Authorization` header value in the canonical sender form
//!   ([`XMatrixAuth::to_header_value`]) or in deliberately varied but (mostly) valid spellings for
//!   conformance cases ([`render_header`], [`HeaderStyle`], [`HeaderVariant`]);
//! * parses a received header with the full RFC 9110 `auth-param` grammar plus the Matrix
//!   allowance for unquoted `:` ([`parse_header`]), reporting precise errors with byte offsets;
//! * verifies a parsed header against a request and a known public key ([`verify_request`]).
//!
//! What it does not do: no network I/O, no key lookup (the caller fetches the origin's key and
//! passes it in), no server-name grammar validation, no `Authorization` header splitting when
//! several headers are sent (pass one header value at a time), and no token68 credentials.

use std::fmt;

use serde_json::{Map, Value};

use super::canonical_json::{self, CanonicalJsonError};
use super::signing_key::{self, SignatureCheckError, SigningKey};

/// The authentication scheme name, as senders spell it.
pub const SCHEME: &str = "X-Matrix";

/// The object that gets signed for a federation request. `destination` and `content` are left
/// out when `None` (a GET has no `content` key at all, not `null`).
pub fn request_json(
    method: &str,
    uri: &str,
    origin: &str,
    destination: Option<&str>,
    content: Option<&Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("method".to_owned(), Value::String(method.to_owned()));
    m.insert("uri".to_owned(), Value::String(uri.to_owned()));
    m.insert("origin".to_owned(), Value::String(origin.to_owned()));
    if let Some(d) = destination {
        m.insert("destination".to_owned(), Value::String(d.to_owned()));
    }
    if let Some(c) = content {
        m.insert("content".to_owned(), c.clone());
    }
    Value::Object(m)
}

/// The parameters of an `X-Matrix` header as a sender produces them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XMatrixAuth {
    /// Sending server name.
    pub origin: String,
    /// Receiving server name (always sent since v1.3; `None` only for deliberately old-style
    /// headers).
    pub destination: Option<String>,
    /// Key ID, e.g. `ed25519:a_AbCd`.
    pub key: String,
    /// Signature, unpadded base64.
    pub sig: String,
}

impl XMatrixAuth {
    /// The canonical sender form:
    /// `X-Matrix origin="…",destination="…",key="…",sig="…"` (all values quoted, `"` and `\`
    /// escaped; `destination` omitted when `None`).
    pub fn to_header_value(&self) -> String {
        render_header(self, &HeaderStyle::default())
    }
}

impl fmt::Display for XMatrixAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_header_value())
    }
}

/// Signs a request. `uri` must be the path and query exactly as sent on the wire (starting with
/// `/_matrix/`); `content` is the JSON body, `None` for requests without one.
///
/// The signed object always contains `destination`, and so does the returned header.
pub fn sign_request(
    key: &SigningKey,
    method: &str,
    uri: &str,
    origin: &str,
    destination: &str,
    content: Option<&Value>,
) -> Result<XMatrixAuth, CanonicalJsonError> {
    let obj = request_json(method, uri, origin, Some(destination), content);
    let canonical = canonical_json::to_canonical_string(&obj)?;
    Ok(XMatrixAuth {
        origin: origin.to_owned(),
        destination: Some(destination.to_owned()),
        key: key.key_id.clone(),
        sig: key.sign(canonical.as_bytes()),
    })
}

// ---------------------------------------------------------------------------------------------
// Rendering in varied spellings
// ---------------------------------------------------------------------------------------------

/// One of the four known parameters, for [`HeaderStyle::order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Param {
    /// `origin`
    Origin,
    /// `destination` (skipped when the auth has none)
    Destination,
    /// `key`
    Key,
    /// `sig` (or [`HeaderStyle::sig_name`])
    Sig,
}

/// When parameter values are quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quoting {
    /// Always quoted (the canonical sender form).
    #[default]
    Always,
    /// Unquoted when the value is an RFC 9110 `token`, quoted otherwise (as ruma does).
    WhenRequired,
    /// Unquoted when the value consists of `token` characters and `:` (the Matrix recipient
    /// compatibility rule, e.g. `key=ed25519:abc`), quoted otherwise.
    MatrixCompat,
    /// Never quoted, even if that makes the header invalid (e.g. a `sig` containing `/`).
    Never,
}

/// How to spell an `X-Matrix` header. [`HeaderStyle::default`] is the canonical sender form; each
/// field changes one aspect, and the `with_*`/`without_*` methods chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderStyle {
    /// Scheme name as written (default `X-Matrix`; e.g. `x-matrix` to test case-insensitivity).
    pub scheme: String,
    /// Number of spaces after the scheme (default 1; 0 gives a malformed header).
    pub spaces_after_scheme: usize,
    /// Whitespace written before each comma (spaces/tabs; default none).
    pub before_comma: String,
    /// Whitespace written after each comma (spaces/tabs; default none).
    pub after_comma: String,
    /// Write parameter names in upper case (`ORIGIN=`).
    pub uppercase_names: bool,
    /// Which known parameters to write, in this order (default origin, destination, key, sig).
    /// Leave one out to test a missing parameter, repeat one to test a duplicate.
    pub order: Vec<Param>,
    /// Quoting rule for values.
    pub quoting: Quoting,
    /// Inside quoted values, backslash-escape every character (`"\d\o\m…"`), not only `"`/`\`.
    pub escape_every_char: bool,
    /// Name used for the signature parameter (default `sig`; `signature` is the spelling of the
    /// spec's parameter list that no implementation uses).
    pub sig_name: String,
    /// Unknown parameters to add, e.g. `("foo", "bar")`; values are written quoted.
    pub extra_params: Vec<(String, String)>,
    /// Put the unknown parameters before the known ones instead of after.
    pub extra_params_first: bool,
}

impl Default for HeaderStyle {
    fn default() -> Self {
        HeaderStyle {
            scheme: SCHEME.to_owned(),
            spaces_after_scheme: 1,
            before_comma: String::new(),
            after_comma: String::new(),
            uppercase_names: false,
            order: vec![Param::Origin, Param::Destination, Param::Key, Param::Sig],
            quoting: Quoting::Always,
            escape_every_char: false,
            sig_name: "sig".to_owned(),
            extra_params: Vec::new(),
            extra_params_first: false,
        }
    }
}

impl HeaderStyle {
    /// Whitespace around each comma.
    pub fn with_comma_whitespace(mut self, before: &str, after: &str) -> Self {
        self.before_comma = before.to_owned();
        self.after_comma = after.to_owned();
        self
    }
    /// Upper-case parameter names.
    pub fn with_uppercase_names(mut self) -> Self {
        self.uppercase_names = true;
        self
    }
    /// A different parameter order.
    pub fn with_order(mut self, order: &[Param]) -> Self {
        self.order = order.to_vec();
        self
    }
    /// A different quoting rule.
    pub fn with_quoting(mut self, quoting: Quoting) -> Self {
        self.quoting = quoting;
        self
    }
    /// Backslash-escape every character of quoted values.
    pub fn with_escape_every_char(mut self) -> Self {
        self.escape_every_char = true;
        self
    }
    /// Another name for the signature parameter.
    pub fn with_sig_name(mut self, name: &str) -> Self {
        self.sig_name = name.to_owned();
        self
    }
    /// An extra unknown parameter (appended after the known ones unless
    /// [`HeaderStyle::extra_params_first`]).
    pub fn with_extra_param(mut self, name: &str, value: &str) -> Self {
        self.extra_params.push((name.to_owned(), value.to_owned()));
        self
    }
    /// Another scheme spelling.
    pub fn with_scheme(mut self, scheme: &str) -> Self {
        self.scheme = scheme.to_owned();
        self
    }
    /// Another number of spaces after the scheme.
    pub fn with_spaces_after_scheme(mut self, n: usize) -> Self {
        self.spaces_after_scheme = n;
        self
    }
    /// Leave a known parameter out.
    pub fn without(mut self, param: Param) -> Self {
        self.order.retain(|p| *p != param);
        self
    }
}

/// Renders `auth` as an `Authorization` header value in the given style.
pub fn render_header(auth: &XMatrixAuth, style: &HeaderStyle) -> String {
    let mut params: Vec<(String, &str, bool)> = Vec::new(); // (name, value, is_extra)
    for p in &style.order {
        let (name, value) = match p {
            Param::Origin => ("origin", auth.origin.as_str()),
            Param::Destination => match &auth.destination {
                Some(d) => ("destination", d.as_str()),
                None => continue,
            },
            Param::Key => ("key", auth.key.as_str()),
            Param::Sig => (style.sig_name.as_str(), auth.sig.as_str()),
        };
        let name = if style.uppercase_names {
            name.to_ascii_uppercase()
        } else {
            name.to_owned()
        };
        params.push((name, value, false));
    }
    let extras = style
        .extra_params
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str(), true));
    if style.extra_params_first {
        let known = std::mem::take(&mut params);
        params.extend(extras);
        params.extend(known);
    } else {
        params.extend(extras);
    }

    let mut out = style.scheme.clone();
    out.push_str(&" ".repeat(style.spaces_after_scheme));
    for (i, (name, value, is_extra)) in params.iter().enumerate() {
        if i > 0 {
            out.push_str(&style.before_comma);
            out.push(',');
            out.push_str(&style.after_comma);
        }
        out.push_str(name);
        out.push('=');
        let quote = *is_extra
            || match style.quoting {
                Quoting::Always => true,
                Quoting::WhenRequired => !is_token(value),
                Quoting::MatrixCompat => {
                    value.is_empty() || !value.bytes().all(|b| is_tchar(b) || b == b':')
                }
                Quoting::Never => false,
            };
        if quote {
            out.push('"');
            for c in value.chars() {
                if style.escape_every_char || c == '"' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        } else {
            out.push_str(value);
        }
    }
    out
}

/// What the spec says a recipient does with a [`HeaderVariant`] of a correctly signed request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecExpectation {
    /// Must be accepted (follows from the spec text or the RFC 9110 grammar it points to).
    Required,
    /// Recipients "should" accept it (compatibility allowances).
    Recommended,
    /// The spec is silent or self-contradictory.
    Unspecified,
}

/// Named header spellings for conformance cases, each a [`HeaderStyle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderVariant {
    /// The canonical sender form.
    Canonical,
    /// Spaces around each comma (`origin="a" , destination=…`).
    SpacesAroundCommas,
    /// Tabs and spaces around each comma.
    TabsAroundCommas,
    /// Upper-case parameter names.
    UppercaseNames,
    /// Parameters in the order sig, key, destination, origin.
    Reordered,
    /// Unquoted values where they are RFC tokens (quoted otherwise).
    UnquotedTokens,
    /// Unquoted values containing `:` (e.g. `key=ed25519:abc`), the Matrix compatibility form.
    UnquotedColon,
    /// An extra unknown parameter `foo="bar"` before the known ones.
    UnknownParam,
    /// Every character of every quoted value backslash-escaped.
    BackslashEscaped,
    /// The signature sent as `signature=` instead of `sig=`.
    SignatureParamName,
    /// No `destination` parameter (pre-v1.3 style; the signature still covers the destination).
    MissingDestination,
    /// Scheme written `x-matrix`.
    LowercaseScheme,
    /// Three spaces after the scheme.
    MultipleSpacesAfterScheme,
}

impl HeaderVariant {
    /// Every variant, for iteration.
    pub const ALL: [HeaderVariant; 13] = [
        HeaderVariant::Canonical,
        HeaderVariant::SpacesAroundCommas,
        HeaderVariant::TabsAroundCommas,
        HeaderVariant::UppercaseNames,
        HeaderVariant::Reordered,
        HeaderVariant::UnquotedTokens,
        HeaderVariant::UnquotedColon,
        HeaderVariant::UnknownParam,
        HeaderVariant::BackslashEscaped,
        HeaderVariant::SignatureParamName,
        HeaderVariant::MissingDestination,
        HeaderVariant::LowercaseScheme,
        HeaderVariant::MultipleSpacesAfterScheme,
    ];

    /// A short kebab-case name, usable in test IDs.
    pub fn name(self) -> &'static str {
        match self {
            HeaderVariant::Canonical => "canonical",
            HeaderVariant::SpacesAroundCommas => "spaces-around-commas",
            HeaderVariant::TabsAroundCommas => "tabs-around-commas",
            HeaderVariant::UppercaseNames => "uppercase-names",
            HeaderVariant::Reordered => "reordered",
            HeaderVariant::UnquotedTokens => "unquoted-tokens",
            HeaderVariant::UnquotedColon => "unquoted-colon",
            HeaderVariant::UnknownParam => "unknown-param",
            HeaderVariant::BackslashEscaped => "backslash-escaped",
            HeaderVariant::SignatureParamName => "signature-param-name",
            HeaderVariant::MissingDestination => "missing-destination",
            HeaderVariant::LowercaseScheme => "lowercase-scheme",
            HeaderVariant::MultipleSpacesAfterScheme => "multiple-spaces-after-scheme",
        }
    }

    /// The style that produces this variant.
    pub fn style(self) -> HeaderStyle {
        let s = HeaderStyle::default();
        match self {
            HeaderVariant::Canonical => s,
            HeaderVariant::SpacesAroundCommas => s.with_comma_whitespace(" ", "  "),
            HeaderVariant::TabsAroundCommas => s.with_comma_whitespace("\t ", " \t"),
            HeaderVariant::UppercaseNames => s.with_uppercase_names(),
            HeaderVariant::Reordered => {
                s.with_order(&[Param::Sig, Param::Key, Param::Destination, Param::Origin])
            }
            HeaderVariant::UnquotedTokens => s.with_quoting(Quoting::WhenRequired),
            HeaderVariant::UnquotedColon => s.with_quoting(Quoting::MatrixCompat),
            HeaderVariant::UnknownParam => {
                let mut s = s.with_extra_param("foo", "bar");
                s.extra_params_first = true;
                s
            }
            HeaderVariant::BackslashEscaped => s.with_escape_every_char(),
            HeaderVariant::SignatureParamName => s.with_sig_name("signature"),
            HeaderVariant::MissingDestination => s.without(Param::Destination),
            HeaderVariant::LowercaseScheme => s.with_scheme("x-matrix"),
            HeaderVariant::MultipleSpacesAfterScheme => s.with_spaces_after_scheme(3),
        }
    }

    /// What the spec expects a recipient to do with a correctly signed request in this spelling.
    pub fn expectation(self) -> SpecExpectation {
        match self {
            HeaderVariant::UnquotedColon | HeaderVariant::MissingDestination => {
                SpecExpectation::Recommended
            }
            HeaderVariant::SignatureParamName => SpecExpectation::Unspecified,
            _ => SpecExpectation::Required,
        }
    }

    /// Renders `auth` in this spelling.
    pub fn render(self, auth: &XMatrixAuth) -> String {
        render_header(auth, &self.style())
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 9110 `token` (non-empty run of `tchar`).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// A successfully parsed `X-Matrix` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedXMatrix {
    /// `origin`, unescaped.
    pub origin: String,
    /// `destination`, unescaped, if present.
    pub destination: Option<String>,
    /// `key`, unescaped; known to be `<alg>:<version>` with both parts non-empty.
    pub key: String,
    /// `sig` as written (unescaped).
    pub sig: String,
    /// `sig` decoded from base64.
    pub sig_bytes: Vec<u8>,
    /// Unknown parameters in order of appearance: (name as written, unescaped value).
    pub unknown_params: Vec<(String, String)>,
}

impl ParsedXMatrix {
    /// The algorithm part of `key` (e.g. `ed25519`).
    pub fn key_algorithm(&self) -> &str {
        self.key.split_once(':').map_or("", |(a, _)| a)
    }
    /// The version part of `key`.
    pub fn key_version(&self) -> &str {
        self.key.split_once(':').map_or("", |(_, v)| v)
    }
}

/// What is wrong with an `X-Matrix` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XMatrixParseErrorKind {
    /// The scheme is not `X-Matrix` (compared case-insensitively).
    WrongScheme {
        /// The scheme found (may be empty).
        found: String,
    },
    /// The scheme is followed by something other than a space.
    MissingSpaceAfterScheme,
    /// No parameters after the scheme.
    EmptyParameterList,
    /// A quoted string (or its last backslash escape) is not closed.
    UnterminatedQuotedString,
    /// A character not allowed at this point.
    BadCharacter {
        /// The character.
        ch: char,
    },
    /// A parameter name not followed by `=`.
    MissingEquals {
        /// The parameter name.
        name: String,
    },
    /// `name=` followed by no value.
    MissingValue {
        /// The parameter name.
        name: String,
    },
    /// A known parameter appears twice (compared case-insensitively).
    DuplicateParameter {
        /// The parameter name, lower-cased.
        name: String,
    },
    /// `origin`, `key` or `sig` is missing.
    MissingParameter {
        /// The missing parameter.
        name: &'static str,
    },
    /// `origin` or `destination` is the empty string.
    EmptyValue {
        /// The parameter.
        name: &'static str,
    },
    /// `key` is not `<alg>:<version>`.
    BadKeyId {
        /// The value found.
        key: String,
    },
    /// `sig` is not base64.
    BadSignatureBase64 {
        /// Details, with the position inside the (unescaped) value.
        detail: String,
    },
}

impl fmt::Display for XMatrixParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongScheme { found } => {
                write!(
                    f,
                    "authorization scheme is {found:?}, expected \"X-Matrix\""
                )
            }
            Self::MissingSpaceAfterScheme => f.write_str("missing space after scheme"),
            Self::EmptyParameterList => f.write_str("empty parameter list"),
            Self::UnterminatedQuotedString => f.write_str("unterminated quoted string"),
            Self::BadCharacter { ch } => write!(f, "unexpected character {ch:?}"),
            Self::MissingEquals { name } => write!(f, "parameter {name:?} is not followed by '='"),
            Self::MissingValue { name } => write!(f, "parameter {name:?} has no value"),
            Self::DuplicateParameter { name } => write!(f, "duplicate parameter {name:?}"),
            Self::MissingParameter { name } => write!(f, "missing parameter {name:?}"),
            Self::EmptyValue { name } => write!(f, "parameter {name:?} is empty"),
            Self::BadKeyId { key } => {
                write!(f, "key {key:?} is not of the form <algorithm>:<version>")
            }
            Self::BadSignatureBase64 { detail } => write!(f, "sig is not valid base64: {detail}"),
        }
    }
}

/// An `X-Matrix` parse error with the byte offset in the header value where it was detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed X-Matrix header at byte {offset}: {kind}")]
pub struct XMatrixParseError {
    /// What is wrong.
    pub kind: XMatrixParseErrorKind,
    /// Byte offset into the header value.
    pub offset: usize,
}

fn err<T>(kind: XMatrixParseErrorKind, offset: usize) -> Result<T, XMatrixParseError> {
    Err(XMatrixParseError { kind, offset })
}

/// Byte cursor over the header value. Every position it stops at is on a char boundary because
/// it only ever steps over ASCII bytes individually and over whole chars otherwise.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }
    fn peek_char(&self) -> char {
        self.s
            .get(self.pos..)
            .and_then(|r| r.chars().next())
            .unwrap_or('\0')
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn take_while(&mut self, f: impl Fn(u8) -> bool) -> &str {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        // Only ASCII bytes satisfy the predicates used, so both ends are char boundaries.
        self.s.get(start..self.pos).unwrap_or("")
    }
    fn bad_char<T>(&self) -> Result<T, XMatrixParseError> {
        err(
            XMatrixParseErrorKind::BadCharacter {
                ch: self.peek_char(),
            },
            self.pos,
        )
    }
}

/// One raw parameter: name as written, its offset, unescaped value, value offset.
struct RawParam {
    name: String,
    name_at: usize,
    value: String,
    value_at: usize,
}

/// Parses a quoted-string starting at the opening quote; returns the unescaped content.
fn parse_quoted(c: &mut Cursor<'_>) -> Result<String, XMatrixParseError> {
    let open = c.pos;
    c.pos += 1; // the opening quote
    let mut out = String::new();
    loop {
        let Some(b) = c.peek() else {
            return err(XMatrixParseErrorKind::UnterminatedQuotedString, open);
        };
        match b {
            b'"' => {
                c.pos += 1;
                return Ok(out);
            }
            b'\\' => {
                c.pos += 1;
                match c.peek() {
                    None => return err(XMatrixParseErrorKind::UnterminatedQuotedString, open),
                    // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                    Some(b'\t' | b' '..=b'~' | 0x80..) => {
                        let ch = c.peek_char();
                        out.push(ch);
                        c.pos += ch.len_utf8();
                    }
                    Some(_) => return c.bad_char(),
                }
            }
            // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
            b'\t' | b' '..=b'~' | 0x80.. => {
                let ch = c.peek_char();
                out.push(ch);
                c.pos += ch.len_utf8();
            }
            _ => return c.bad_char(),
        }
    }
}

fn parse_params(c: &mut Cursor<'_>) -> Result<Vec<RawParam>, XMatrixParseError> {
    let mut params = Vec::new();
    loop {
        c.skip_ows();
        match c.peek() {
            None => break,
            // Empty list elements are allowed by the `#rule` (RFC 9110 §5.6.1.2).
            Some(b',') => {
                c.pos += 1;
                continue;
            }
            Some(_) => {}
        }
        let name_at = c.pos;
        let name = c.take_while(is_tchar).to_owned();
        if name.is_empty() {
            return c.bad_char();
        }
        c.skip_ows(); // BWS
        if c.peek() != Some(b'=') {
            return err(XMatrixParseErrorKind::MissingEquals { name }, c.pos);
        }
        c.pos += 1;
        c.skip_ows(); // BWS
        let value_at = c.pos;
        let value = match c.peek() {
            Some(b'"') => parse_quoted(c)?,
            None | Some(b',') => return err(XMatrixParseErrorKind::MissingValue { name }, c.pos),
            Some(_) => {
                // token, plus ':' for Matrix compatibility
                let v = c.take_while(|b| is_tchar(b) || b == b':').to_owned();
                if v.is_empty() {
                    return c.bad_char();
                }
                v
            }
        };
        params.push(RawParam {
            name,
            name_at,
            value,
            value_at,
        });
        c.skip_ows();
        match c.peek() {
            None => break,
            Some(b',') => c.pos += 1,
            Some(_) => return c.bad_char(),
        }
    }
    Ok(params)
}

/// Parses an `Authorization` header value as `X-Matrix` credentials.
///
/// Accepts: the scheme in any case; one or more spaces after it; parameters separated by commas
/// with optional spaces/tabs around them (and empty list elements); optional whitespace around
/// `=`; names in any case and order; values as tokens (which may also contain `:`) or quoted
/// strings with backslash escapes (returned unescaped); unknown parameters (kept in
/// [`ParsedXMatrix::unknown_params`]); leading/trailing whitespace. Rejects everything else with
/// a precise error and byte offset. `signature=` is an unknown parameter, so a header that only
/// has `signature=` fails with a missing `sig`.
pub fn parse_header(value: &str) -> Result<ParsedXMatrix, XMatrixParseError> {
    let mut c = Cursor { s: value, pos: 0 };
    c.skip_ows();
    let scheme_at = c.pos;
    let scheme = c.take_while(is_tchar);
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        let found = if scheme.is_empty() {
            // e.g. a header starting with a quote: report the first word instead
            value
                .get(scheme_at..)
                .unwrap_or("")
                .split([' ', '\t'])
                .next()
                .unwrap_or("")
                .to_owned()
        } else {
            scheme.to_owned()
        };
        return err(XMatrixParseErrorKind::WrongScheme { found }, scheme_at);
    }
    let after_scheme = c.pos;
    match c.peek() {
        None => return err(XMatrixParseErrorKind::EmptyParameterList, after_scheme),
        Some(b' ') => {}
        Some(_) => return err(XMatrixParseErrorKind::MissingSpaceAfterScheme, after_scheme),
    }
    while c.peek() == Some(b' ') {
        c.pos += 1;
    }
    let params_at = c.pos;
    let params = parse_params(&mut c)?;
    if params.is_empty() {
        return err(XMatrixParseErrorKind::EmptyParameterList, params_at);
    }

    let mut origin: Option<(String, usize)> = None;
    let mut destination: Option<(String, usize)> = None;
    let mut key: Option<(String, usize)> = None;
    let mut sig: Option<(String, usize)> = None;
    let mut unknown_params = Vec::new();
    for p in params {
        let lower = p.name.to_ascii_lowercase();
        let slot = match lower.as_str() {
            "origin" => &mut origin,
            "destination" => &mut destination,
            "key" => &mut key,
            "sig" => &mut sig,
            _ => {
                unknown_params.push((p.name, p.value));
                continue;
            }
        };
        if slot.is_some() {
            return err(
                XMatrixParseErrorKind::DuplicateParameter { name: lower },
                p.name_at,
            );
        }
        *slot = Some((p.value, p.value_at));
    }

    let end = value.len();
    let missing = |name| err(XMatrixParseErrorKind::MissingParameter { name }, end);
    let Some((origin, origin_at)) = origin else {
        return missing("origin");
    };
    let Some((key, key_at)) = key else {
        return missing("key");
    };
    let Some((sig, sig_at)) = sig else {
        return missing("sig");
    };
    if origin.is_empty() {
        return err(
            XMatrixParseErrorKind::EmptyValue { name: "origin" },
            origin_at,
        );
    }
    if let Some((d, at)) = &destination
        && d.is_empty()
    {
        return err(
            XMatrixParseErrorKind::EmptyValue {
                name: "destination",
            },
            *at,
        );
    }
    match key.split_once(':') {
        Some((alg, version)) if !alg.is_empty() && !version.is_empty() => {}
        _ => return err(XMatrixParseErrorKind::BadKeyId { key }, key_at),
    }
    let sig_bytes = signing_key::decode_b64(&sig).map_err(|e| XMatrixParseError {
        kind: XMatrixParseErrorKind::BadSignatureBase64 {
            detail: signing_key::describe_b64_error(&e),
        },
        offset: sig_at,
    })?;

    Ok(ParsedXMatrix {
        origin,
        destination: destination.map(|(d, _)| d),
        key,
        sig,
        sig_bytes,
        unknown_params,
    })
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// Why a parsed `X-Matrix` header does not authenticate a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XMatrixVerifyError {
    /// `destination` is present and differs from the receiving server's name. The spec mandates
    /// `401 Unauthorized` for exactly this case.
    #[error("destination {found:?} does not match this server's name {expected:?}")]
    DestinationMismatch {
        /// Our server name.
        expected: String,
        /// The header's `destination`.
        found: String,
    },
    /// The key's algorithm is not `ed25519`.
    #[error("unsupported key algorithm in key ID {key:?}")]
    UnsupportedAlgorithm {
        /// The key ID.
        key: String,
    },
    /// The request body has no canonical JSON form.
    #[error("request content has no canonical JSON form: {0}")]
    Canonical(#[from] CanonicalJsonError),
    /// Bad public key, wrong signature length, or the signature does not match.
    #[error(transparent)]
    Signature(#[from] SignatureCheckError),
}

/// Checks `parsed` against a received request. `uri` is the path and query as received,
/// `own_server_name` our name (used as `destination` in the signed object whether or not the
/// header carries it), `public_key_b64` the origin's key for `parsed.key`, and `content` the
/// JSON body if there was one.
pub fn verify_request(
    parsed: &ParsedXMatrix,
    method: &str,
    uri: &str,
    own_server_name: &str,
    public_key_b64: &str,
    content: Option<&Value>,
) -> Result<(), XMatrixVerifyError> {
    if let Some(d) = &parsed.destination
        && d != own_server_name
    {
        return Err(XMatrixVerifyError::DestinationMismatch {
            expected: own_server_name.to_owned(),
            found: d.clone(),
        });
    }
    if parsed.key_algorithm() != signing_key::ED25519 {
        return Err(XMatrixVerifyError::UnsupportedAlgorithm {
            key: parsed.key.clone(),
        });
    }
    let obj = request_json(method, uri, &parsed.origin, Some(own_server_name), content);
    let canonical = canonical_json::to_canonical_string(&obj)?;
    signing_key::verify_signature(public_key_b64, canonical.as_bytes(), &parsed.sig_bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SPEC_SEED: &str = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";
    const SPEC_PUBLIC: &str = "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI";
    const URI: &str = "/_matrix/federation/v1/media/download/abc123?timeout_ms=5000";
    const DERIVED_SIG: &str =
        "zbuUPkS3sU9ppraQAfNr+fbcqX7PIlikcwtirTZTxO8d92TBlSC34jhY8i5Q3W+d9G6Qp/LXUvXCgMhMOhsxDw";

    fn spec_key() -> SigningKey {
        SigningKey::parse_key_file(&format!("ed25519 1 {SPEC_SEED}")).unwrap()
    }

    fn derived_auth() -> XMatrixAuth {
        sign_request(&spec_key(), "GET", URI, "domain", "target.example", None).unwrap()
    }

    fn kind(header: &str) -> (XMatrixParseErrorKind, usize) {
        let e = parse_header(header).unwrap_err();
        (e.kind, e.offset)
    }

    const SIG_AB: &str = "YWJj"; // base64("abc"), a syntactically valid sig for parser tests

    // ----- signing -------------------------------------------------------------------------

    #[test]
    fn derived_vector() {
        let obj = request_json("GET", URI, "domain", Some("target.example"), None);
        assert_eq!(
            canonical_json::to_canonical_string(&obj).unwrap(),
            r#"{"destination":"target.example","method":"GET","origin":"domain","uri":"/_matrix/federation/v1/media/download/abc123?timeout_ms=5000"}"#
        );
        let auth = derived_auth();
        assert_eq!(auth.sig, DERIVED_SIG);
        assert_eq!(auth.key, "ed25519:1");
        assert_eq!(
            auth.to_header_value(),
            format!(
                r#"X-Matrix origin="domain",destination="target.example",key="ed25519:1",sig="{DERIVED_SIG}""#
            )
        );
        assert_eq!(auth.to_string(), auth.to_header_value());
    }

    #[test]
    fn request_json_shapes() {
        assert_eq!(
            request_json("GET", "/x", "o", None, None),
            json!({"method": "GET", "uri": "/x", "origin": "o"})
        );
        assert_eq!(
            request_json("PUT", "/x", "o", Some("d"), Some(&json!({"a": [1]}))),
            json!({"method": "PUT", "uri": "/x", "origin": "o", "destination": "d", "content": {"a": [1]}})
        );
        let err = sign_request(
            &spec_key(),
            "PUT",
            "/x",
            "o",
            "d",
            Some(&json!({"size": 1.5})),
        )
        .unwrap_err();
        assert_eq!(err.path(), "$.content.size");
    }

    #[test]
    fn header_value_escapes_quotes_and_backslashes() {
        let auth = XMatrixAuth {
            origin: r#"a"b\c"#.into(),
            destination: None,
            key: "ed25519:1".into(),
            sig: SIG_AB.into(),
        };
        let h = auth.to_header_value();
        assert_eq!(h, r#"X-Matrix origin="a\"b\\c",key="ed25519:1",sig="YWJj""#);
        let p = parse_header(&h).unwrap();
        assert_eq!(p.origin, r#"a"b\c"#);
        assert_eq!(p.destination, None);
    }

    // ----- rendering variants ----------------------------------------------------------------

    #[test]
    fn variant_renderings_are_exact() {
        let auth = XMatrixAuth {
            origin: "o.example:8448".into(),
            destination: Some("d.example".into()),
            key: "ed25519:a_1".into(),
            sig: "ab+c/d".into(),
        };
        let r = |v: HeaderVariant| v.render(&auth);
        use HeaderVariant as V;
        assert_eq!(
            r(V::Canonical),
            r#"X-Matrix origin="o.example:8448",destination="d.example",key="ed25519:a_1",sig="ab+c/d""#
        );
        assert_eq!(
            r(V::SpacesAroundCommas),
            r#"X-Matrix origin="o.example:8448" ,  destination="d.example" ,  key="ed25519:a_1" ,  sig="ab+c/d""#
        );
        assert_eq!(
            r(V::TabsAroundCommas),
            "X-Matrix origin=\"o.example:8448\"\t , \tdestination=\"d.example\"\t , \tkey=\"ed25519:a_1\"\t , \tsig=\"ab+c/d\""
        );
        assert_eq!(
            r(V::UppercaseNames),
            r#"X-Matrix ORIGIN="o.example:8448",DESTINATION="d.example",KEY="ed25519:a_1",SIG="ab+c/d""#
        );
        assert_eq!(
            r(V::Reordered),
            r#"X-Matrix sig="ab+c/d",key="ed25519:a_1",destination="d.example",origin="o.example:8448""#
        );
        assert_eq!(
            r(V::UnquotedTokens),
            r#"X-Matrix origin="o.example:8448",destination=d.example,key="ed25519:a_1",sig="ab+c/d""#
        );
        assert_eq!(
            r(V::UnquotedColon),
            r#"X-Matrix origin=o.example:8448,destination=d.example,key=ed25519:a_1,sig="ab+c/d""#
        );
        assert_eq!(
            r(V::UnknownParam),
            r#"X-Matrix foo="bar",origin="o.example:8448",destination="d.example",key="ed25519:a_1",sig="ab+c/d""#
        );
        assert_eq!(
            r(V::BackslashEscaped),
            r#"X-Matrix origin="\o\.\e\x\a\m\p\l\e\:\8\4\4\8",destination="\d\.\e\x\a\m\p\l\e",key="\e\d\2\5\5\1\9\:\a\_\1",sig="\a\b\+\c\/\d""#
        );
        assert_eq!(
            r(V::SignatureParamName),
            r#"X-Matrix origin="o.example:8448",destination="d.example",key="ed25519:a_1",signature="ab+c/d""#
        );
        assert_eq!(
            r(V::MissingDestination),
            r#"X-Matrix origin="o.example:8448",key="ed25519:a_1",sig="ab+c/d""#
        );
        assert_eq!(
            r(V::LowercaseScheme),
            r#"x-matrix origin="o.example:8448",destination="d.example",key="ed25519:a_1",sig="ab+c/d""#
        );
        assert_eq!(
            r(V::MultipleSpacesAfterScheme),
            r#"X-Matrix   origin="o.example:8448",destination="d.example",key="ed25519:a_1",sig="ab+c/d""#
        );
        let names: Vec<_> = HeaderVariant::ALL.iter().map(|v| v.name()).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names.len(), dedup.len());
    }

    #[test]
    fn every_variant_parses_and_verifies_or_fails_as_documented() {
        let auth = derived_auth();
        for v in HeaderVariant::ALL {
            let h = v.render(&auth);
            let parsed = parse_header(&h);
            match v {
                HeaderVariant::SignatureParamName => {
                    let e = parsed.unwrap_err();
                    assert_eq!(
                        e.kind,
                        XMatrixParseErrorKind::MissingParameter { name: "sig" }
                    );
                    assert_eq!(e.offset, h.len());
                    assert_eq!(v.expectation(), SpecExpectation::Unspecified);
                }
                _ => {
                    let p = parsed.unwrap_or_else(|e| panic!("{}: {h}: {e}", v.name()));
                    assert_eq!(p.origin, "domain");
                    assert_eq!(p.key, "ed25519:1");
                    assert_eq!(p.sig, DERIVED_SIG);
                    if v == HeaderVariant::MissingDestination {
                        assert_eq!(p.destination, None);
                    } else {
                        assert_eq!(p.destination.as_deref(), Some("target.example"));
                    }
                    if v == HeaderVariant::UnknownParam {
                        assert_eq!(p.unknown_params, vec![("foo".into(), "bar".into())]);
                    }
                    verify_request(&p, "GET", URI, "target.example", SPEC_PUBLIC, None)
                        .unwrap_or_else(|e| panic!("{}: {e}", v.name()));
                }
            }
        }
    }

    #[test]
    fn style_knobs() {
        let auth = XMatrixAuth {
            origin: "o".into(),
            destination: Some("d".into()),
            key: "ed25519:1".into(),
            sig: "s/".into(),
        };
        let dup = HeaderStyle::default()
            .with_order(&[Param::Origin, Param::Origin, Param::Key, Param::Sig])
            .with_spaces_after_scheme(0)
            .with_quoting(Quoting::Never)
            .with_extra_param("x", "y z");
        assert_eq!(
            render_header(&auth, &dup),
            r#"X-Matrixorigin=o,origin=o,key=ed25519:1,sig=s/,x="y z""#
        );
        let missing_sig = HeaderStyle::default().without(Param::Sig);
        assert_eq!(
            render_header(&auth, &missing_sig),
            r#"X-Matrix origin="o",destination="d",key="ed25519:1""#
        );
        let dup = HeaderStyle::default().with_order(&[
            Param::Origin,
            Param::Key,
            Param::Sig,
            Param::Destination,
            Param::Destination,
        ]);
        let h = render_header(&auth, &dup);
        assert_eq!(
            kind(&h),
            (
                XMatrixParseErrorKind::DuplicateParameter {
                    name: "destination".into()
                },
                h.rfind("destination").unwrap()
            )
        );
    }

    // ----- parser freedoms -------------------------------------------------------------------

    fn ok(header: &str) -> ParsedXMatrix {
        parse_header(header).unwrap_or_else(|e| panic!("{header:?}: {e}"))
    }

    #[test]
    fn parser_accepts_grammar_freedoms() {
        let base = ok(r#"X-Matrix origin="o",destination="d",key="ed25519:1",sig="YWJj""#);
        assert_eq!(base.origin, "o");
        assert_eq!(base.destination.as_deref(), Some("d"));
        assert_eq!(base.key, "ed25519:1");
        assert_eq!(base.key_algorithm(), "ed25519");
        assert_eq!(base.key_version(), "1");
        assert_eq!(base.sig_bytes, b"abc");
        assert!(base.unknown_params.is_empty());

        let same = |h: &str| {
            let p = ok(h);
            assert_eq!(
                (
                    p.origin.as_str(),
                    p.destination.as_deref(),
                    p.key.as_str(),
                    p.sig_bytes.as_slice()
                ),
                ("o", Some("d"), "ed25519:1", b"abc".as_slice()),
                "{h:?}"
            );
            p
        };
        // scheme case-insensitive, one or more spaces, leading/trailing whitespace
        same(r#"x-matrix origin="o",destination="d",key="ed25519:1",sig="YWJj""#);
        same(r#"X-MATRIX    origin="o",destination="d",key="ed25519:1",sig="YWJj""#);
        same(" \tX-Matrix origin=\"o\",destination=\"d\",key=\"ed25519:1\",sig=\"YWJj\" \t");
        // OWS around commas (spaces and tabs), BWS around '='
        same("X-Matrix origin=\"o\" ,destination=\"d\", key=\"ed25519:1\"\t,\t sig=\"YWJj\"");
        same(r#"X-Matrix origin = "o",destination= "d",key ="ed25519:1",sig  =  YWJj"#);
        // case-insensitive names, any order
        same(r#"X-Matrix SIG="YWJj",Key="ed25519:1",DeStInAtIoN="d",ORIGIN="o""#);
        // token values, unquoted ':' (Matrix compat), padded base64
        same("X-Matrix origin=o,destination=d,key=ed25519:1,sig=YWJj");
        same(r#"X-Matrix origin=o,destination=d,key=ed25519:1,sig="YWJj""#);
        // backslash escapes are removed
        same(r#"X-Matrix origin="\o",destination="\d",key="ed\25519\:1",sig="\Y\W\J\j""#);
        // empty list elements and a trailing comma
        same(r#"X-Matrix ,origin="o",,destination="d", ,key="ed25519:1",sig="YWJj","#);
        // unknown params ignored but kept, including `signature`
        let p = same(
            r#"X-Matrix foo="bar",origin="o",destination="d",Signature=x,key="ed25519:1",sig="YWJj",baz="q\"x""#,
        );
        assert_eq!(
            p.unknown_params,
            vec![
                ("foo".into(), "bar".into()),
                ("Signature".into(), "x".into()),
                ("baz".into(), "q\"x".into())
            ]
        );
        // no destination: accepted
        let p = ok(r#"X-Matrix origin="o",key="ed25519:1",sig="YWJj""#);
        assert_eq!(p.destination, None);
        // quoted values may contain separators, spaces, tabs and non-ASCII
        let p = ok("X-Matrix origin=\"a, b=c\\\"\td\",key=\"ed25519:1\",sig=\"YWJj\",x=\"日本\"");
        assert_eq!(p.origin, "a, b=c\"\td");
        assert_eq!(p.unknown_params, vec![("x".into(), "日本".into())]);
        // escaped non-ASCII character
        let p = ok("X-Matrix origin=\"\\é\",key=\"ed25519:1\",sig=\"YWJj\"");
        assert_eq!(p.origin, "é");
        // a key ID with several colons keeps everything after the first one as the version
        let p = ok(r#"X-Matrix origin="o",key="ed25519:a:b",sig="YWJj""#);
        assert_eq!(p.key_version(), "a:b");
    }

    // ----- parser errors ---------------------------------------------------------------------

    #[test]
    fn parser_error_kinds_and_offsets() {
        use XMatrixParseErrorKind as K;
        assert_eq!(
            kind(r#"Bearer origin="o""#),
            (
                K::WrongScheme {
                    found: "Bearer".into()
                },
                0
            )
        );
        assert_eq!(kind(""), (K::WrongScheme { found: "".into() }, 0));
        assert_eq!(
            kind(r#"  "X-Matrix" origin=o"#),
            (
                K::WrongScheme {
                    found: "\"X-Matrix\"".into()
                },
                2
            )
        );
        assert_eq!(
            kind(r#"X-Matrixorigin="o""#),
            (
                K::WrongScheme {
                    found: "X-Matrixorigin".into()
                },
                0
            )
        );
        assert_eq!(kind("X-Matrix\torigin=o"), (K::MissingSpaceAfterScheme, 8));
        assert_eq!(kind("X-Matrix,origin=o"), (K::MissingSpaceAfterScheme, 8));
        assert_eq!(kind("X-Matrix"), (K::EmptyParameterList, 8));
        assert_eq!(kind("X-Matrix   "), (K::EmptyParameterList, 11));
        assert_eq!(kind("X-Matrix  , ,"), (K::EmptyParameterList, 10));
        assert_eq!(
            kind(r#"X-Matrix origin="o,key=ed25519:1"#),
            (K::UnterminatedQuotedString, 16)
        );
        assert_eq!(
            kind(r#"X-Matrix origin="o\"#),
            (K::UnterminatedQuotedString, 16)
        );
        assert_eq!(
            kind("X-Matrix origin=\"a\u{1}b\""),
            (K::BadCharacter { ch: '\u{1}' }, 18)
        );
        assert_eq!(
            kind("X-Matrix origin=\"a\\\u{7f}\""),
            (K::BadCharacter { ch: '\u{7f}' }, 19)
        );
        assert_eq!(
            kind(r#"X-Matrix origin=o d,key=ed25519:1"#),
            (K::BadCharacter { ch: 'd' }, 18)
        );
        assert_eq!(
            kind(r#"X-Matrix origin=o/x"#),
            (K::BadCharacter { ch: '/' }, 17)
        );
        assert_eq!(
            kind(r#"X-Matrix origin=@o"#),
            (K::BadCharacter { ch: '@' }, 16)
        );
        assert_eq!(
            kind(r#"X-Matrix origin="o"key="k""#),
            (K::BadCharacter { ch: 'k' }, 19)
        );
        assert_eq!(kind(r#"X-Matrix ="o""#), (K::BadCharacter { ch: '=' }, 9));
        assert_eq!(
            kind("X-Matrix origin=\"o\",é=1"),
            (K::BadCharacter { ch: 'é' }, 20)
        );
    }

    #[test]
    fn parser_error_kinds_and_offsets_of_parameters() {
        use XMatrixParseErrorKind as K;
        assert_eq!(
            kind(r#"X-Matrix origin "o""#),
            (
                K::MissingEquals {
                    name: "origin".into()
                },
                16
            )
        );
        assert_eq!(
            kind(r#"X-Matrix origin="o",key"#),
            (K::MissingEquals { name: "key".into() }, 23)
        );
        assert_eq!(
            kind(r#"X-Matrix origin=,key="k""#),
            (
                K::MissingValue {
                    name: "origin".into()
                },
                16
            )
        );
        assert_eq!(
            kind(r#"X-Matrix origin= "#),
            (
                K::MissingValue {
                    name: "origin".into()
                },
                17
            )
        );
        assert_eq!(
            kind(r#"X-Matrix origin="a",ORIGIN="b",key="ed25519:1",sig="YWJj""#),
            (
                K::DuplicateParameter {
                    name: "origin".into()
                },
                20
            )
        );
        assert_eq!(
            kind(r#"X-Matrix key="ed25519:1",sig="YWJj",sig="YWJj",origin=o"#),
            (K::DuplicateParameter { name: "sig".into() }, 36)
        );
        let h = r#"X-Matrix destination="d",key="ed25519:1",sig="YWJj""#;
        assert_eq!(kind(h), (K::MissingParameter { name: "origin" }, h.len()));
        let h = r#"X-Matrix origin="o",sig="YWJj""#;
        assert_eq!(kind(h), (K::MissingParameter { name: "key" }, h.len()));
        let h = r#"X-Matrix origin="o",key="ed25519:1",signature="YWJj""#;
        assert_eq!(kind(h), (K::MissingParameter { name: "sig" }, h.len()));
        assert_eq!(
            kind(r#"X-Matrix origin="",key="ed25519:1",sig="YWJj""#),
            (K::EmptyValue { name: "origin" }, 16)
        );
        assert_eq!(
            kind(r#"X-Matrix origin=o,destination="",key="ed25519:1",sig="YWJj""#),
            (
                K::EmptyValue {
                    name: "destination"
                },
                30
            )
        );
        for bad in ["ed25519", "ed25519:", ":1", ""] {
            let h = format!(r#"X-Matrix origin=o,key="{bad}",sig="YWJj""#);
            assert_eq!(kind(&h), (K::BadKeyId { key: bad.into() }, 22), "{bad}");
        }
        let (k, off) = kind(r#"X-Matrix origin=o,key=ed25519:1,sig="YW*j""#);
        assert_eq!(off, 36);
        assert_eq!(
            k,
            K::BadSignatureBase64 {
                detail: "invalid character '*' at position 2".into()
            }
        );
        assert!(matches!(
            kind(r#"X-Matrix origin=o,key=ed25519:1,sig=Y"#).0,
            K::BadSignatureBase64 { .. }
        ));
    }

    #[test]
    fn parse_error_display() {
        let e = parse_header(r#"X-Matrix origin="o",origin="p""#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed X-Matrix header at byte 20: duplicate parameter \"origin\""
        );
        let e = parse_header("Basic abc").unwrap_err();
        assert_eq!(
            e.to_string(),
            "malformed X-Matrix header at byte 0: authorization scheme is \"Basic\", expected \"X-Matrix\""
        );
    }

    // ----- verification ----------------------------------------------------------------------

    #[test]
    fn verify_request_errors() {
        let auth = derived_auth();
        let p = parse_header(&auth.to_header_value()).unwrap();
        verify_request(&p, "GET", URI, "target.example", SPEC_PUBLIC, None).unwrap();

        assert_eq!(
            verify_request(&p, "GET", URI, "other.example", SPEC_PUBLIC, None),
            Err(XMatrixVerifyError::DestinationMismatch {
                expected: "other.example".into(),
                found: "target.example".into()
            })
        );
        let mismatch = Err(XMatrixVerifyError::Signature(SignatureCheckError::Mismatch));
        assert_eq!(
            verify_request(&p, "POST", URI, "target.example", SPEC_PUBLIC, None),
            mismatch
        );
        assert_eq!(
            verify_request(
                &p,
                "GET",
                "/_matrix/federation/v1/media/download/abc123",
                "target.example",
                SPEC_PUBLIC,
                None
            ),
            mismatch
        );
        assert_eq!(
            verify_request(
                &p,
                "GET",
                URI,
                "target.example",
                SPEC_PUBLIC,
                Some(&json!({}))
            ),
            mismatch
        );
        let other = SigningKey::generate("1").unwrap();
        assert_eq!(
            verify_request(
                &p,
                "GET",
                URI,
                "target.example",
                &other.public_key_b64(),
                None
            ),
            mismatch
        );
        assert_eq!(
            verify_request(&p, "GET", URI, "target.example", "AAAA", None),
            Err(XMatrixVerifyError::Signature(
                SignatureCheckError::PublicKeyLength(3)
            ))
        );
        // A different origin changes the signed object.
        let mut wrong_origin = p.clone();
        wrong_origin.origin = "evil".into();
        assert_eq!(
            verify_request(
                &wrong_origin,
                "GET",
                URI,
                "target.example",
                SPEC_PUBLIC,
                None
            ),
            mismatch
        );
        // Missing destination: the receiver's own name is signed, so it still verifies.
        let mut no_dest = p.clone();
        no_dest.destination = None;
        verify_request(&no_dest, "GET", URI, "target.example", SPEC_PUBLIC, None).unwrap();
        assert_eq!(
            verify_request(&no_dest, "GET", URI, "other.example", SPEC_PUBLIC, None),
            mismatch
        );
        let mut short = p.clone();
        short.sig_bytes.truncate(10);
        assert_eq!(
            verify_request(&short, "GET", URI, "target.example", SPEC_PUBLIC, None),
            Err(XMatrixVerifyError::Signature(
                SignatureCheckError::SignatureLength(10)
            ))
        );
        let mut alg = p.clone();
        alg.key = "ed448:1".into();
        assert_eq!(
            verify_request(&alg, "GET", URI, "target.example", SPEC_PUBLIC, None),
            Err(XMatrixVerifyError::UnsupportedAlgorithm {
                key: "ed448:1".into()
            })
        );
        assert!(matches!(
            verify_request(
                &p,
                "PUT",
                URI,
                "target.example",
                SPEC_PUBLIC,
                Some(&json!([0.5]))
            ),
            Err(XMatrixVerifyError::Canonical(_))
        ));
    }

    #[test]
    fn verify_with_content() {
        let key = spec_key();
        let body = json!({"b": "日本", "a": [1, {"z": null, "y": true}]});
        let auth = sign_request(&key, "PUT", "/_matrix/x?y=1", "domain", "t", Some(&body)).unwrap();
        let p = parse_header(&auth.to_header_value()).unwrap();
        verify_request(&p, "PUT", "/_matrix/x?y=1", "t", SPEC_PUBLIC, Some(&body)).unwrap();
        assert!(verify_request(&p, "PUT", "/_matrix/x?y=1", "t", SPEC_PUBLIC, None).is_err());
    }
}

/// Cross-checks against ruma (a dev-dependency only): canonical JSON, JSON signatures and
/// `X-Matrix` headers must agree both ways.
#[cfg(test)]
mod ruma_cross_check {
    use super::*;
    use ruma_federation_api::authentication::{XMatrix, XMatrixSigningInput};
    use ruma_signatures::{Ed25519KeyPair, PublicKeyMap};
    use serde_json::json;

    const SPEC_SEED: &str = "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1";

    /// Our key plus the same key as a ruma key pair (PKCS#8 v1 DER wrapping the raw seed).
    fn keys(version: &str) -> (SigningKey, Ed25519KeyPair) {
        let ours = SigningKey::generate(version).unwrap();
        let theirs = ruma_pair(&ours);
        (ours, theirs)
    }

    fn ruma_pair(key: &SigningKey) -> Ed25519KeyPair {
        let mut der = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        der.extend_from_slice(key.secret.as_bytes());
        Ed25519KeyPair::from_der(&der, key.version().to_owned()).unwrap()
    }

    fn key_map(server: &str, key: &SigningKey) -> PublicKeyMap {
        serde_json::from_value(json!({server: {key.key_id.clone(): key.public_key_b64()}})).unwrap()
    }

    fn http_request(method: &str, uri: &str, body: Option<&Value>) -> http::Request<Vec<u8>> {
        let body = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        http::Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .unwrap()
    }

    fn objects() -> Vec<Value> {
        vec![
            json!({}),
            json!({"one": 1, "two": "Two"}),
            json!({"本": 2, "日": 1, "a": "日本語", "é": "\u{7f}\u{1}\u{1f}\n\"\\/"}),
            json!({"z": {"y": [3, {"b": null, "a": false}], "x": 9007199254740991i64},
                   "n": -9007199254740991i64, "unsigned": {"u": 1}, "signatures": {}}),
            json!({"\u{1F600}": 1, "\u{FFFD}": 2, "": "", "A": "\u{2028}"}),
            json!({"server_name": "mock.test", "valid_until_ts": 1652262000000i64,
                   "verify_keys": {"ed25519:a_1": {"key": "XGX0JRS2Af3be3knz2fBiRbApjm2Dh61gXDJA8kcJNI"}},
                   "old_verify_keys": {}}),
        ]
    }

    #[test]
    fn canonical_json_agrees_with_ruma() {
        for v in objects() {
            let ruma = ruma_canonical(v.clone()).unwrap();
            let ours = canonical_json::to_canonical_string_for_signing(&v).unwrap();
            assert_eq!(ours, ruma, "{v}");
        }
    }

    fn ruma_canonical(v: Value) -> Result<String, String> {
        let obj = serde_json::from_value(v).map_err(|e| e.to_string())?;
        ruma_signatures::to_canonical_json_string_for_signing(&obj).map_err(|e| e.to_string())
    }

    #[test]
    fn ruma_and_we_reject_the_same_numbers() {
        for v in [
            json!({"a": 1.0}),
            json!({"a": 0.5}),
            json!({"a": 9007199254740992i64}),
            json!({"a": -9007199254740992i64}),
        ] {
            assert!(canonical_json::to_canonical_string(&v).is_err(), "{v}");
            assert!(ruma_canonical(v.clone()).is_err(), "ruma accepted {v}");
        }
    }

    #[test]
    fn sign_json_agrees_with_ruma() {
        let (ours, theirs) = keys("a_1");
        let spec = SigningKey::parse_key_file(&format!("ed25519 1 {SPEC_SEED}")).unwrap();
        let spec_ruma = ruma_pair(&spec);
        for (key, pair) in [(&ours, &theirs), (&spec, &spec_ruma)] {
            for v in objects() {
                let mut mine = v.clone();
                canonical_json::sign_json(&mut mine, "domain", key).unwrap();
                let mut ruma_obj = serde_json::from_value(v.clone()).unwrap();
                ruma_signatures::sign_json("domain", pair, &mut ruma_obj).unwrap();
                assert_eq!(mine, serde_json::to_value(&ruma_obj).unwrap(), "{v}");
                // and ruma verifies ours
                let ruma_mine = serde_json::from_value(mine.clone()).unwrap();
                ruma_signatures::verify_json(&key_map("domain", key), &ruma_mine).unwrap();
            }
        }
    }

    #[test]
    fn our_header_verifies_with_ruma() {
        let (ours, _) = keys("a_1");
        let body = json!({"pdus": [], "origin_server_ts": 1i64});
        let cases: [(&str, &str, Option<&Value>); 3] = [
            (
                "GET",
                "/_matrix/federation/v1/media/download/abc123?timeout_ms=5000",
                None,
            ),
            (
                "GET",
                "/_matrix/federation/v1/media/thumbnail/abc?width=32&height=32&method=crop",
                None,
            ),
            ("PUT", "/_matrix/federation/v1/send/txn1", Some(&body)),
        ];
        for (method, uri, content) in cases {
            let auth =
                sign_request(&ours, method, uri, "mock.test:8448", "hs.test", content).unwrap();
            let req = http_request(method, uri, content);
            for v in HeaderVariant::ALL {
                let h = v.render(&auth);
                if v == HeaderVariant::SignatureParamName {
                    assert!(XMatrix::parse(&h).is_err());
                    continue;
                }
                if matches!(
                    v,
                    HeaderVariant::UnquotedColon | HeaderVariant::MultipleSpacesAfterScheme
                ) {
                    // Findings: ruma-federation-api 0.16 (via http-auth 0.1) rejects unquoted
                    // values containing ':' (the spec says recipients should accept them) and
                    // more than one space after the scheme (RFC 9110: `1*SP`). Servers built on
                    // ruma inherit this; our parser accepts both.
                    assert!(
                        XMatrix::parse(&h).is_err(),
                        "ruma now accepts {}; update this test",
                        v.name()
                    );
                    continue;
                }
                let xm = XMatrix::parse(&h).unwrap_or_else(|e| panic!("{}: {h}: {e}", v.name()));
                let dest = xm
                    .destination
                    .clone()
                    .unwrap_or_else(|| "hs.test".try_into().unwrap());
                xm.verify_http_request(&req, &dest, &key_map("mock.test:8448", &ours))
                    .unwrap_or_else(|e| panic!("{}: {e}", v.name()));
            }
            // And ruma's destination check fires on a mismatch.
            let xm = XMatrix::parse(auth.to_header_value()).unwrap();
            let wrong = "other.test".try_into().unwrap();
            assert!(
                xm.verify_http_request(&req, wrong, &key_map("mock.test:8448", &ours))
                    .is_err()
            );
        }
    }

    #[test]
    fn ruma_header_parses_and_verifies_with_ours() {
        let (ours, theirs) = keys("a_Xy9");
        let body = json!({"a": "日本", "n": 5});
        let cases: [(&str, &str, Option<&Value>); 2] = [
            (
                "GET",
                "/_matrix/federation/v1/media/download/abc123?timeout_ms=5000",
                None,
            ),
            (
                "PUT",
                "/_matrix/federation/v1/send/t%20x?q=a%2Fb",
                Some(&body),
            ),
        ];
        for (method, uri, content) in cases {
            let req = http_request(method, uri, content);
            let input = XMatrixSigningInput::new(
                "mock.test:8448".try_into().unwrap(),
                "hs.test".try_into().unwrap(),
                &theirs,
            );
            let xm = XMatrix::sign_http_request(&req, input).unwrap();
            let header = xm.to_string();
            let p = parse_header(&header).unwrap_or_else(|e| panic!("{header}: {e}"));
            assert_eq!(p.origin, "mock.test:8448");
            assert_eq!(p.destination.as_deref(), Some("hs.test"));
            assert_eq!(p.key, "ed25519:a_Xy9");
            verify_request(&p, method, uri, "hs.test", &ours.public_key_b64(), content).unwrap();
            // Ed25519 is deterministic: ruma's signature equals ours.
            let mine =
                sign_request(&ours, method, uri, "mock.test:8448", "hs.test", content).unwrap();
            assert_eq!(p.sig_bytes, signing_key::decode_b64(&mine.sig).unwrap());
            assert_eq!(
                verify_request(
                    &p,
                    method,
                    uri,
                    "elsewhere",
                    &ours.public_key_b64(),
                    content
                ),
                Err(XMatrixVerifyError::DestinationMismatch {
                    expected: "elsewhere".into(),
                    found: "hs.test".into()
                })
            );
        }
    }
}
