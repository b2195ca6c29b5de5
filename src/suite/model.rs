//! The suite file format as Rust types: what a case asks for (`*Spec`), deserialized from TOML.
//!
//! Keys are kebab-case and unknown keys are errors. This module only describes shapes; checking
//! cross-references (media names, templates, step/request exclusivity) happens in `validate`.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use toml::Spanned;

use crate::level::Level;

/// One `suites/*.toml` file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SuiteFile {
    /// Profile of every case in the file unless the case names its own (`client`, `guest`, …).
    pub profile: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The file's cases run only when `--profile` names their profile (historical and
    /// unstable-prefix probes); `mediaconf list` still shows them.
    #[serde(default)]
    pub opt_in: bool,
    /// Media the cases use, uploaded once per run: `[media.png]`.
    #[serde(default)]
    pub media: BTreeMap<String, Spanned<MediaSpec>>,
    #[serde(default, rename = "case")]
    pub cases: Vec<CaseSpec>,
}

/// A piece of media prepared before cases run.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MediaSpec {
    /// Fixture file name (embedded fixtures first, then relative to the suite file).
    #[serde(default)]
    pub fixture: Option<String>,
    /// `Content-Type` sent on upload; absent means the header is not sent.
    #[serde(default)]
    pub content_type: Option<String>,
    /// `?filename=` sent on upload; absent means no filename.
    #[serde(default)]
    pub filename: Option<String>,
    /// Create with `POST /_matrix/media/v1/create` and never upload (async media).
    #[serde(default)]
    pub pending: bool,
    /// Which account creates it.
    #[serde(default)]
    pub owner: Account,
}

/// The accounts a run can hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Account {
    #[default]
    User,
    OtherUser,
}

/// Which API a case talks to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Api {
    #[default]
    Client,
    Federation,
}

/// Capabilities a case needs from the target or the run; missing ones skip the case with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    User,
    OtherUser,
    Guest,
    LoggedOut,
    /// URL previews enabled on the target.
    Previews,
    /// The tester's loopback page server (for preview_url).
    PreviewPage,
    /// Signed federation requests: our key server is reachable by the target.
    Federation,
    /// The target serves the federation media API at `--federation-url`.
    FederationApi,
    /// The mock remote homeserver (scenarios the target fetches from). Last, so that a case
    /// that also needs the federation API is reported as not run for that, the deeper reason.
    MockPeer,
}

impl Need {
    /// Every need, for messages that list the known names.
    pub const ALL: [Need; 9] = [
        Need::User,
        Need::OtherUser,
        Need::Guest,
        Need::LoggedOut,
        Need::Previews,
        Need::PreviewPage,
        Need::Federation,
        Need::FederationApi,
        Need::MockPeer,
    ];
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Need::User => "user",
            Need::OtherUser => "other-user",
            Need::Guest => "guest",
            Need::LoggedOut => "logged-out",
            Need::Previews => "previews",
            Need::PreviewPage => "preview-page",
            Need::MockPeer => "mock-peer",
            Need::Federation => "federation",
            Need::FederationApi => "federation-api",
        })
    }
}

/// One `[[case]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaseSpec {
    pub id: Spanned<String>,
    pub title: String,
    pub level: Level,
    /// Spec reference, e.g. `v1.12 content_repo.md "Content-Disposition"`.
    pub spec: String,
    /// Link to the spec section, when the one derived from `spec` and the requests is not right.
    #[serde(default)]
    pub spec_url: Option<Spanned<String>>,
    /// First spec version the rule applies to.
    pub since: Spanned<String>,
    /// Last spec version the rule applies to (inclusive).
    #[serde(default)]
    pub until: Option<Spanned<String>>,
    #[serde(default)]
    pub profile: Option<String>,
    #[serde(default)]
    pub api: Api,
    /// Mock-peer scenario the case needs (federation issue); such cases skip until supported.
    #[serde(default)]
    pub peer_scenario: Option<String>,
    #[serde(default)]
    pub needs: Vec<Need>,
    /// Run alone, after every other case (it changes shared state, e.g. rotates our key).
    #[serde(default)]
    pub serial: bool,
    /// The case cannot be automated; it is listed and reported as skipped with this reason.
    #[serde(default)]
    pub manual: Option<String>,
    /// The wrong behaviour this case shares with others (one problem in the report, however
    /// many cases show it). Default: the case's family, its id before the first `.`.
    #[serde(default)]
    pub cause: Option<String>,
    /// Causes that depend on the answer: the first broken expectation as `CHECK ACTUAL`
    /// (`status 200`, `errcode M_MISSING_TOKEN`) → the cause, the longest matching start
    /// winning; `cause` (or the family) when none matches. For twins that test one rule in
    /// another form, where one wrong answer is one cause and another answer is another.
    #[serde(default)]
    pub cause_by_answer: std::collections::BTreeMap<String, String>,
    /// The case waits on purpose (e.g. `"60s"` for a server's timeout cap): `run --quick`
    /// skips it with that reason, and a full run starts it first so other cases overlap it.
    #[serde(default)]
    pub slow: Option<Spanned<String>>,
    /// Single-request shorthand: `[case.request]` + `[case.expect]`.
    #[serde(default)]
    pub request: Option<RequestSpec>,
    #[serde(default)]
    pub expect: Option<ExpectSpec>,
    /// Multi-request form: `[[case.step]]`.
    #[serde(default, rename = "step")]
    pub steps: Vec<StepSpec>,
}

/// One request of a multi-step case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepSpec {
    #[serde(default)]
    pub name: Option<String>,
    pub request: RequestSpec,
    /// Act on the tester's own server before sending this step's request (`rotate-key`).
    #[serde(default)]
    pub peer: Option<PeerAction>,
    #[serde(default)]
    pub expect: ExpectSpec,
    /// Values taken from this step's response for later templates: `capture.id = { json = "/content_uri", regex = "…" }`.
    #[serde(default)]
    pub capture: BTreeMap<String, CaptureSpec>,
    /// Wait this long before sending.
    #[serde(default)]
    pub delay_ms: u64,
    /// Start this step and go on with the next ones at once; it is awaited at the end of the case.
    #[serde(default)]
    pub background: bool,
    /// The step only prepares what the rule is tested on (e.g. a `create` before an async
    /// upload); when it does not get what it expects, the case is `blocked`, not failed.
    #[serde(default)]
    pub setup: bool,
}

/// Something the tester's own server does between requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeerAction {
    /// A new current signing key; the previous one moves to `old_verify_keys`.
    RotateKey,
    /// K-03: a new throw-away key (as `rotate-key`), and the key document claims
    /// `valid_until_ts` an hour in the past until `renew-keys`.
    ExpireKeys,
    /// The key document's usual 24 h validity again.
    RenewKeys,
}

/// Where a captured value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CaptureSpec {
    /// JSON pointer into the response body, e.g. `/content_uri`.
    pub json: String,
    /// Optional regex; its first group (or whole match) is the value.
    #[serde(default)]
    pub regex: Option<String>,
}

/// How a request authenticates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// `Authorization: Bearer <user token>`.
    #[default]
    User,
    /// `?access_token=<user token>` and no header.
    UserQuery,
    /// Both the header and the query parameter.
    UserHeaderAndQuery,
    OtherUser,
    Guest,
    None,
    /// `Authorization: Bearer <a token the target never issued>`.
    Invalid,
    /// `?access_token=<a token the target never issued>`.
    InvalidQuery,
    /// A token that was logged out before the case ran.
    LoggedOut,
    /// A federation request signed by the tester's server (`xmatrix` tunes how).
    XMatrix,
}

impl AuthMode {
    /// The account need this mode implies.
    pub fn need(self) -> Option<Need> {
        match self {
            AuthMode::User | AuthMode::UserQuery | AuthMode::UserHeaderAndQuery => Some(Need::User),
            AuthMode::OtherUser => Some(Need::OtherUser),
            AuthMode::Guest => Some(Need::Guest),
            AuthMode::LoggedOut => Some(Need::LoggedOut),
            AuthMode::XMatrix => Some(Need::Federation),
            AuthMode::None | AuthMode::Invalid | AuthMode::InvalidQuery => None,
        }
    }
}

/// What to send.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestSpec {
    #[serde(default = "default_method")]
    pub method: String,
    /// Path template, e.g. `/_matrix/client/v1/media/download/{server_name}/{media.png.id}`.
    pub path: Spanned<String>,
    #[serde(default)]
    pub auth: AuthMode,
    /// With `auth = "x-matrix"`: how the request is signed and the header spelled.
    #[serde(default)]
    pub xmatrix: Option<XMatrixSpec>,
    /// Which API base URL the request goes to (default: the case's `api`).
    #[serde(default)]
    pub api: Option<Api>,
    #[serde(default)]
    pub query: BTreeMap<String, Scalar>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<BodySpec>,
    /// Follow 307/308 redirects (without credentials to other origins). Default true.
    #[serde(default = "default_true")]
    pub follow_redirects: bool,
    /// Per-request timeout, overriding `--timeout`.
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// When the answer is multipart with a `Location` media part, GET that URL without
    /// credentials (F-07) and judge it with `expect.location`. A target that answers with the
    /// bytes inline makes the case skipped: the rule does not apply to it.
    #[serde(default)]
    pub follow_location: bool,
}

/// How an `X-Matrix` request is signed; every key is optional and the defaults give a correct
/// request from the tester's server to the target.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct XMatrixSpec {
    /// Header spelling: `canonical` (default), `spaces-around-commas`, `tabs-around-commas`,
    /// `uppercase-names`, `reordered`, `unquoted-tokens`, `unquoted-colon`, `unknown-param`,
    /// `backslash-escaped`, `signature-param-name`, `missing-destination`, `lowercase-scheme`,
    /// `multiple-spaces-after-scheme`.
    #[serde(default)]
    pub variant: Option<String>,
    /// Which key signs: `current` (published in `verify_keys`), `old` (only in
    /// `old_verify_keys`), `unknown` (never published).
    #[serde(default)]
    pub key: KeyChoice,
    /// Destination, signed and sent (templated; default `{server_name}`).
    #[serde(default)]
    pub destination: Option<String>,
    /// Sign this uri instead of the path and query actually sent (templated).
    #[serde(default)]
    pub sign_uri: Option<String>,
    /// Corrupt one byte of the signature.
    #[serde(default)]
    pub flip_signature: bool,
}

/// The key an `X-Matrix` request is signed with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyChoice {
    #[default]
    Current,
    Old,
    Unknown,
    /// The throw-away key of the last `peer = "rotate-key"` (K-02).
    Rotated,
}

fn default_method() -> String {
    "GET".to_string()
}

fn default_true() -> bool {
    true
}

/// A request body: exactly one of the keys.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BodySpec {
    /// JSON value (templated strings inside).
    #[serde(default)]
    pub json: Option<serde_json::Value>,
    /// Text, templated.
    #[serde(default)]
    pub text: Option<String>,
    /// The bytes of a media definition's fixture (`media = "png"`).
    #[serde(default)]
    pub media: Option<String>,
    /// N zero bytes, where N is a number or a captured variable, plus `zeros-plus`.
    #[serde(default)]
    pub zeros: Option<Scalar>,
    #[serde(default)]
    pub zeros_plus: i64,
}

/// What must hold of a response. Every key is optional; an empty table checks nothing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ExpectSpec {
    /// One status or a list of allowed statuses.
    #[serde(default)]
    pub status: Option<OneOrMany<u16>>,
    /// Statuses that must not occur.
    #[serde(default)]
    pub not_status: Vec<u16>,
    /// Allowed status classes: `"4xx"`, `"2xx"`.
    #[serde(default)]
    pub status_class: Option<OneOrMany<String>>,
    /// Errcodes that must not occur (e.g. `M_UNRECOGNIZED` on an endpoint that must exist).
    #[serde(default)]
    pub not_errcode: Vec<String>,
    /// Statuses that mean the step's rule was not exercised (a thumbnail `400` for a standard
    /// image: nothing was produced to judge). The step is not judged and the case is blocked;
    /// another case judges that answer itself.
    #[serde(default)]
    pub not_exercised_on: Vec<u16>,
    /// For non-2xx responses: allowed errcodes.
    #[serde(default)]
    pub errcode: Option<OneOrMany<String>>,
    /// For non-2xx responses: the body is a standard error (JSON object with string `errcode`
    /// and `error`, `Content-Type: application/json`).
    #[serde(default)]
    pub standard_error: bool,
    /// For 2xx responses: JSON body expectations.
    #[serde(default)]
    pub json: Option<JsonExpect>,
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderExpect>,
    #[serde(default)]
    pub content_type: Option<ContentTypeExpect>,
    #[serde(default)]
    pub disposition: Option<DispositionExpect>,
    /// The 2xx body equals the fixture of this media name.
    #[serde(default)]
    pub body_equals: Option<String>,
    #[serde(default)]
    pub image: Option<ImageExpect>,
    /// The body is a federation `multipart/mixed` media response.
    #[serde(default)]
    pub multipart: Option<MultipartExpect>,
    /// The body is a server key document (`/_matrix/key/v2/server`) of this server name
    /// (templated), self-signed and valid for at least an hour.
    #[serde(default)]
    pub key_document: Option<String>,
    /// The response (or transport failure) arrives within this many milliseconds.
    #[serde(default)]
    pub within_ms: Option<u64>,
    /// What the tester's mock peer received for the case's peer media (`{peer_media_id}`)
    /// while the step ran: the target acting as the requester.
    #[serde(default)]
    pub peer: Option<PeerExpect>,
    /// With `follow-location`: what must hold of the answer at the `Location` URL.
    #[serde(default)]
    pub location: Option<Box<ExpectSpec>>,
}

/// Expectations on the requests the mock peer received for the case's peer media. Patterns
/// are `"METHOD /path"` or `"/path"` (any method), templated, compared with the path as
/// received and without its query; `*` matches any run of characters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PeerExpect {
    /// `true`: the peer received at least one request for the media; `false`: none.
    #[serde(default)]
    pub contacted: Option<bool>,
    /// The first request for the media matches one of these.
    #[serde(default)]
    pub first: Option<OneOrMany<String>>,
    /// Each pattern is matched by at least one request.
    #[serde(default)]
    pub requested: Vec<String>,
    /// No request matches any of these.
    #[serde(default)]
    pub not_requested: Vec<String>,
    /// Pattern → query parameters (`name` or `name=value`) that every matching request carries.
    #[serde(default)]
    pub query: BTreeMap<String, Vec<String>>,
    /// Every request on `/_matrix/federation/` carries an `X-Matrix` signature that verifies
    /// with the key the target publishes, with the peer as `destination`.
    #[serde(default)]
    pub signed: bool,
}

impl PeerExpect {
    /// Whether the expectation is about how the target fetched (which paths, in which order,
    /// or not at all), so the case judges a fetch that never used the federation path itself.
    /// Patterns about other paths (a `Location`'s `/cdn/…`) do not count.
    pub fn judges_fetch_path(&self) -> bool {
        let first = self.first.iter().flat_map(|f| f.0.iter());
        let mut patterns = first.chain(&self.requested).chain(&self.not_requested);
        patterns.any(|p| p.contains("/_matrix/"))
            || self.contacted == Some(false)
            || (self.contacted == Some(true) && !self.signed)
    }
}

/// JSON body expectations.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct JsonExpect {
    /// The body is a JSON object.
    #[serde(default)]
    pub object: bool,
    /// Per JSON pointer (`/content_uri`, `/m.upload.size`).
    #[serde(default)]
    pub fields: BTreeMap<String, FieldExpect>,
}

/// Expectations on one JSON value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FieldExpect {
    #[serde(default)]
    pub present: bool,
    #[serde(default)]
    pub absent: bool,
    /// `string`, `integer`, `boolean`, `object`, `array`, `null`; checked only when present.
    #[serde(default)]
    pub r#type: Option<JsonType>,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// The string value matches this regex (templated).
    #[serde(default)]
    pub matches: Option<String>,
    /// Integer strictly greater than this (or than a template such as `{now_ms}`).
    #[serde(default)]
    pub greater_than: Option<Scalar>,
    /// String value must differ from this (templated).
    #[serde(default)]
    pub not_equals: Option<String>,
    /// The string value does not match this regex (templated).
    #[serde(default)]
    pub not_matches: Option<String>,
    /// The array value contains this element.
    #[serde(default)]
    pub contains: Option<serde_json::Value>,
}

/// JSON value types for `type = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JsonType {
    String,
    Integer,
    Boolean,
    Object,
    Array,
    Null,
}

/// Expectations on one response header (name is case-insensitive).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct HeaderExpect {
    #[serde(default)]
    pub present: bool,
    #[serde(default)]
    pub absent: bool,
    #[serde(default)]
    pub equals: Option<String>,
    /// Case-insensitive substring.
    #[serde(default)]
    pub contains: Option<String>,
    /// Case-insensitive substring that must not occur.
    #[serde(default)]
    pub not_contains: Option<String>,
    #[serde(default)]
    pub matches: Option<String>,
}

/// `Content-Type` of a 2xx response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ContentTypeExpect {
    /// Equal to this type or "reasonably close" (v1.12): the same media type with any parameters
    /// (e.g. a charset added), or `text/html` detected for `text/plain`.
    #[serde(default)]
    pub reasonable: Option<String>,
    /// The media type (parameters stripped, case-insensitive) is one of these.
    #[serde(default)]
    pub one_of: Vec<String>,
    /// The media type (parameters stripped, case-insensitive) is none of these.
    #[serde(default)]
    pub not_one_of: Vec<String>,
}

/// `Content-Disposition` of a 2xx response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DispositionExpect {
    /// Allowed dispositions: `inline`, `attachment`.
    #[serde(default)]
    pub r#type: Option<OneOrMany<String>>,
    /// The decoded file name (from `filename*` or `filename`) equals this.
    #[serde(default)]
    pub filename: Option<String>,
    /// No `filename` / `filename*` parameter.
    #[serde(default)]
    pub no_filename: bool,
    /// Some file name is present.
    #[serde(default)]
    pub has_filename: bool,
    /// If `inline`, the Content-Type is one of the spec's safe inline types.
    #[serde(default)]
    pub inline_only_if_safe: bool,
}

/// Image expectations on a 2xx body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImageExpect {
    /// The body decodes as an image of one of these media types.
    #[serde(default)]
    pub types: Vec<String>,
    /// The body's format matches the response Content-Type.
    #[serde(default)]
    pub matches_content_type: bool,
    #[serde(default)]
    pub min_width: Option<u32>,
    #[serde(default)]
    pub min_height: Option<u32>,
    #[serde(default)]
    pub max_width: Option<u32>,
    #[serde(default)]
    pub max_height: Option<u32>,
    /// Width:height ratio, e.g. `"4:3"`, within `aspect-tolerance` (default 0.05 relative).
    #[serde(default)]
    pub aspect: Option<String>,
    #[serde(default)]
    pub aspect_tolerance: Option<f64>,
    #[serde(default)]
    pub animated: Option<bool>,
    /// Same pixel dimensions as this media's fixture.
    #[serde(default)]
    pub same_size_as: Option<String>,
}

/// Expectations on a federation media response (checklist §2): framing, the JSON part, and the
/// media part, which is judged like a download response.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MultipartExpect {
    /// Groups of rules that must hold: `framing` (RFC 2046 delimiters, boundary, part headers),
    /// `part-count` (exactly two parts), `json-part` (part 1 is an `application/json` object),
    /// `media-part` (part 2 has bytes or a `Location`).
    #[serde(default)]
    pub rules: Vec<String>,
    /// Part 2 must be `bytes` or `location`.
    #[serde(default)]
    pub content: Option<String>,
    /// Part 2's bytes equal this media's fixture.
    #[serde(default)]
    pub body_equals: Option<String>,
    #[serde(default)]
    pub content_type: Option<ContentTypeExpect>,
    #[serde(default)]
    pub disposition: Option<DispositionExpect>,
    #[serde(default)]
    pub image: Option<ImageExpect>,
}

/// One value or a list: `status = 200` or `status = [200, 307]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A list deserializes as Vec<T>; a scalar as T. Tried via an intermediate TOML value so the
        // error message names the expected shape.
        let value = toml::Value::deserialize(d)?;
        let items = match value {
            toml::Value::Array(items) => items,
            other => vec![other],
        };
        items
            .into_iter()
            .map(|v| {
                T::deserialize(v).map_err(|e| {
                    de::Error::custom(format!("{e} (expected a value or a list of values)"))
                })
            })
            .collect::<Result<Vec<T>, _>>()
            .map(OneOrMany)
    }
}

/// A string, integer or boolean given where text is meant (`width = 96` or `width = "abc"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

/// Names accepted in `multipart.rules`: the groups of the strict parser's violation codes that a
/// case can ask to be judged.
pub const RULE_GROUPS: &[&str] = &["framing", "part-count", "json-part", "media-part"];

/// `"4:3"` → 1.333…; `None` unless both sides are positive numbers.
pub fn parse_aspect(text: &str) -> Option<f64> {
    let (w, h) = text.split_once(':')?;
    let (w, h): (f64, f64) = (w.trim().parse().ok()?, h.trim().parse().ok()?);
    (w > 0.0 && h > 0.0).then_some(w / h)
}
