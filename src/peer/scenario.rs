//! The mock peer's scenarios: what the peer answers, chosen by the media ID the target asks for.
//!
//! A media ID is `<scenario>_<nonce>` (e.g. `inline-bytes_k3J9a8Qz`): the scenario decides the
//! answer, the nonce makes every case's media new to the target, so its cache or backoff from
//! one case cannot touch another. Pure: [`answer`] maps (scenario, endpoint, context) to an
//! [`Answer`]; the server ([`super::server`]) sends it.
//!
//! Endpoints: the federation `download` and `thumbnail`, the deprecated `/_matrix/media/*`
//! download and thumbnail (the fallback), and the CDN path `/cdn/{mediaId}` a `Location` part
//! points at.

use std::time::Duration;

use crate::multipart::{Builder, Fault, PartHeaders};

/// The file name the inline scenarios announce.
pub const REMOTE_FILENAME: &str = "remote.png";
/// The file name the CDN announces for `Location` scenarios.
pub const CDN_FILENAME: &str = "cdn.png";
/// The non-ASCII file name of `non-ascii-filename` (`été.png`).
pub const NON_ASCII_FILENAME: &str = "\u{e9}t\u{e9}.png";
/// The page `html-inline` serves (with a script, which a browser must never run inline).
pub const REMOTE_HTML: &[u8] =
    b"<!doctype html><html><body><script>document.title='mediaconf'</script>remote page</body></html>\n";
/// The image `svg-inline` serves (with a script, as in a stored-XSS attempt).
pub const REMOTE_SVG: &[u8] = b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\"><script>document.title='mediaconf'</script><rect width=\"10\" height=\"10\"/></svg>\n";
/// The text `text-charset` serves.
pub const REMOTE_TEXT: &[u8] = b"remote text, served as text/plain; charset=utf-8\n";
/// The page a failing `Location` URL answers with (`location-404-html`).
pub const LOCATION_ERROR_PAGE: &[u8] =
    b"<html><body><h1>404 Not Found</h1>mediaconf CDN error page</body></html>\n";

/// Which endpoint of the peer was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /_matrix/federation/v1/media/download/{mediaId}`.
    FederationDownload,
    /// `GET /_matrix/federation/v1/media/thumbnail/{mediaId}`.
    FederationThumbnail,
    /// `GET /_matrix/media/{v3,r0,v1}/download/{serverName}/{mediaId}[/{fileName}]`.
    LegacyDownload,
    /// `GET /_matrix/media/{v3,r0,v1}/thumbnail/{serverName}/{mediaId}`.
    LegacyThumbnail,
    /// `GET /cdn/{mediaId}` (plain HTTP CDN listener or the peer's HTTPS listener).
    Cdn,
}

/// How the body goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerBody {
    /// One write, with `Content-Length`.
    Full(Vec<u8>),
    /// `Transfer-Encoding: chunked`, one chunk (no `Content-Length`).
    Chunked(Vec<u8>),
    /// `Transfer-Encoding: chunked`, one byte per chunk.
    OneByteChunks(Vec<u8>),
    /// This many zero bytes, streamed, with a `Content-Length` announcing them.
    Zeros(u64),
}

/// A complete answer: status, headers, body, and how long to wait before sending it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: AnswerBody,
    pub delay: Duration,
}

impl Answer {
    fn new(status: u16, headers: Vec<(&str, String)>, body: AnswerBody) -> Self {
        Answer {
            status,
            headers: headers
                .into_iter()
                .map(|(n, v)| (n.to_owned(), v))
                .collect(),
            body,
            delay: Duration::ZERO,
        }
    }

    fn matrix_error(status: u16, errcode: &str) -> Self {
        let body =
            serde_json::json!({"errcode": errcode, "error": format!("mediaconf peer: {errcode}")});
        Answer::new(
            status,
            vec![("Content-Type", "application/json".into())],
            AnswerBody::Full(body.to_string().into_bytes()),
        )
    }

    fn png(png: &[u8], disposition: &str) -> Self {
        Answer::new(
            200,
            vec![
                ("Content-Type", "image/png".into()),
                ("Content-Disposition", disposition.into()),
            ],
            AnswerBody::Full(png.to_vec()),
        )
    }
}

/// What an answer may depend on besides the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The media bytes (a PNG).
    pub png: &'a [u8],
    /// The media ID that was asked for (for `Location` URLs).
    pub media_id: &'a str,
    /// `http://host:port` of the plain-HTTP CDN listener.
    pub cdn_http: &'a str,
    /// `https://host:port` of the peer itself.
    pub peer_https: &'a str,
}

macro_rules! scenarios {
    ($($variant:ident = $name:literal: $what:literal,)*) => {
        /// Every scenario the peer knows.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Scenario { $($variant,)* }

        impl Scenario {
            /// Every scenario, in catalogue order.
            pub const ALL: &[Scenario] = &[$(Scenario::$variant,)*];

            /// The name used in media IDs and in suites (`peer-scenario = "…"`).
            pub fn name(self) -> &'static str {
                match self { $(Scenario::$variant => $name,)* }
            }

            /// One line saying what the peer does.
            pub fn describe(self) -> &'static str {
                match self { $(Scenario::$variant => $what,)* }
            }
        }
    };
}

scenarios! {
    InlineBytes = "inline-bytes": "answers the PNG inline, with Content-Type and Content-Disposition (filename remote.png)",
    NoDisposition = "no-disposition": "inline PNG without Content-Disposition",
    NoContentType = "no-content-type": "inline PNG without Content-Type",
    NonAsciiFilename = "non-ascii-filename": "inline PNG named \u{e9}t\u{e9}.png (filename*=UTF-8'')",
    Location = "location": "a Location part pointing at the plain-HTTP CDN listener",
    LocationHttps = "location-https": "a Location part pointing at the peer's HTTPS listener (its own CA)",
    LocationRelative = "location-relative": "a Location part with a relative URL (/cdn/...)",
    NoLeadingCrlf = "no-leading-crlf": "valid multipart that starts with the delimiter, no CRLF before it",
    PreambleEpilogue = "preamble-epilogue": "valid multipart with a preamble and an epilogue",
    QuotedBoundary = "quoted-boundary": "valid multipart whose Content-Type quotes the boundary",
    MixedCaseBoundary = "mixed-case-boundary": "valid multipart whose Content-Type says Boundary=",
    NoPartHeaders = "no-part-headers": "valid multipart whose media part has no headers at all",
    OneByteChunks = "one-byte-chunks": "valid multipart sent chunked, one byte per chunk",
    NoContentLength = "no-content-length": "valid multipart sent chunked, without Content-Length",
    Unrecognized = "unrecognized": "404 M_UNRECOGNIZED on the federation path; the PNG on /_matrix/media/v3/download",
    NotFound = "not-found": "404 M_NOT_FOUND on both paths (the media does not exist)",
    NotFoundHtml = "not-found-html": "404 with an HTML body on the federation path; 404 M_NOT_FOUND on the deprecated path",
    BadRequestUnrecognized = "bad-request-unrecognized": "400 M_UNRECOGNIZED on the federation path; the PNG on the deprecated path",
    Unauthorized = "unauthorized": "401 M_UNAUTHORIZED on the federation path; the PNG on the deprecated path",
    Forbidden = "forbidden": "403 M_FORBIDDEN on the federation path; the PNG on the deprecated path",
    BadGateway = "bad-gateway": "502 M_UNKNOWN on the federation path; the PNG on the deprecated path",
    NotYetUploaded = "not-yet-uploaded": "504 M_NOT_YET_UPLOADED on the federation path; the PNG on the deprecated path",
    ThreeParts = "three-parts": "malformed: a third part after the media part",
    OnePart = "one-part": "malformed: only the JSON part",
    MetadataNotJson = "metadata-not-json": "malformed: the first part is not JSON",
    MetadataArray = "metadata-array": "malformed: the metadata is a JSON array",
    NoBoundary = "no-boundary": "malformed: Content-Type multipart/mixed without a boundary",
    NoCloseDelimiter = "no-close-delimiter": "malformed: the close delimiter never comes (the bytes are complete)",
    TopLevelRedirect = "top-level-redirect": "a top-level 307 to the CDN (federation endpoints define no redirect)",
    ServerError = "server-error": "500 M_UNKNOWN on every path",
    Slow = "slow": "the right answer, after 3 seconds (beyond a client's timeout_ms=2000)",
    TooLarge = "too-large": "announces and streams 256 MiB of zeros",
    HtmlInline = "html-inline": "an HTML page (with a script) as text/html, marked inline by the origin",
    SvgInline = "svg-inline": "an SVG image (with a script) as image/svg+xml, marked inline by the origin",
    PngAttachment = "png-attachment": "the PNG marked attachment by the origin",
    TextCharset = "text-charset": "text as text/plain; charset=utf-8, marked inline",
    DispositionFirst = "disposition-first": "valid multipart whose media part has Content-Disposition before Content-Type",
    HeaderCase = "header-case": "valid multipart whose part header names are in other letter case (content-type, CONTENT-DISPOSITION)",
    JsonCharset = "json-charset": "valid multipart whose JSON part is application/json; charset=utf-8",
    FilenameStarOnly = "filename-star-only": "inline PNG named remote.png with filename*=UTF-8'' only (no filename=)",
    LocationNotFoundHtml = "location-404-html": "a Location part whose URL answers 404 with an HTML page",
    LocationServerError = "location-500": "a Location part whose URL answers 500",
    LocationLoop = "location-loop": "a Location part whose URL redirects to itself, forever",
    OriginUnauthorized = "origin-401": "401 M_UNAUTHORIZED on every path (the origin refuses the requester)",
    OriginForbidden = "origin-403": "403 M_FORBIDDEN on every path (the origin refuses the requester)",
}

/// How long the `slow` scenario waits.
pub const SLOW_DELAY: Duration = Duration::from_secs(3);
/// What the `too-large` scenario sends.
pub const TOO_LARGE_BYTES: u64 = 256 * 1024 * 1024;

impl Scenario {
    /// The scenario of that name.
    pub fn from_name(name: &str) -> Option<Scenario> {
        Scenario::ALL.iter().copied().find(|s| s.name() == name)
    }

    /// The scenario a media ID selects: the part before the last `_` (or the whole ID).
    pub fn of_media_id(media_id: &str) -> Option<Scenario> {
        let name = media_id.rsplit_once('_').map_or(media_id, |(s, _)| s);
        Scenario::from_name(name)
    }

    /// The media this scenario serves instead of the PNG: (type, disposition, bytes).
    fn own_media(self) -> Option<(&'static str, String, &'static [u8])> {
        Some(match self {
            Scenario::HtmlInline => (
                "text/html",
                "inline; filename=\"remote.html\"".into(),
                REMOTE_HTML,
            ),
            Scenario::SvgInline => (
                "image/svg+xml",
                "inline; filename=\"remote.svg\"".into(),
                REMOTE_SVG,
            ),
            Scenario::TextCharset => (
                "text/plain; charset=utf-8",
                "inline; filename=\"remote.txt\"".into(),
                REMOTE_TEXT,
            ),
            _ => return None,
        })
    }

    /// The `Location` scenarios whose URL fails: there is no media anywhere.
    fn location_fails(self) -> bool {
        matches!(
            self,
            Scenario::LocationNotFoundHtml | Scenario::LocationServerError | Scenario::LocationLoop
        )
    }

    /// The federation path refuses with an error (the media waits on the deprecated path, except
    /// for the `origin-*` scenarios, which refuse there too).
    fn refusal(self) -> Option<Answer> {
        Some(match self {
            Scenario::Unrecognized => Answer::matrix_error(404, "M_UNRECOGNIZED"),
            Scenario::NotFound => Answer::matrix_error(404, "M_NOT_FOUND"),
            Scenario::NotFoundHtml => Answer::new(
                404,
                vec![("Content-Type", "text/html".into())],
                AnswerBody::Full(b"<html><body><h1>404 Not Found</h1></body></html>".to_vec()),
            ),
            Scenario::BadRequestUnrecognized => Answer::matrix_error(400, "M_UNRECOGNIZED"),
            Scenario::Unauthorized => Answer::matrix_error(401, "M_UNAUTHORIZED"),
            Scenario::Forbidden => Answer::matrix_error(403, "M_FORBIDDEN"),
            Scenario::BadGateway => Answer::matrix_error(502, "M_UNKNOWN"),
            Scenario::NotYetUploaded => Answer::matrix_error(504, "M_NOT_YET_UPLOADED"),
            Scenario::OriginUnauthorized => Answer::matrix_error(401, "M_UNAUTHORIZED"),
            Scenario::OriginForbidden => Answer::matrix_error(403, "M_FORBIDDEN"),
            _ => return None,
        })
    }
}

/// The answer of `scenario` at `endpoint`.
pub fn answer(scenario: Scenario, endpoint: Endpoint, ctx: &Context<'_>) -> Answer {
    match endpoint {
        Endpoint::Cdn => cdn(scenario, ctx),
        Endpoint::LegacyDownload | Endpoint::LegacyThumbnail => legacy(scenario, ctx),
        Endpoint::FederationDownload | Endpoint::FederationThumbnail => {
            if let Some(refused) = scenario.refusal() {
                return refused;
            }
            federation(scenario, ctx)
        }
    }
}

/// The URL a `Location` part points at: the PNG, or the failure the scenario names.
fn cdn(scenario: Scenario, ctx: &Context<'_>) -> Answer {
    match scenario {
        Scenario::LocationNotFoundHtml => Answer::new(
            404,
            vec![("Content-Type", "text/html".into())],
            AnswerBody::Full(LOCATION_ERROR_PAGE.to_vec()),
        ),
        Scenario::LocationServerError => Answer::new(
            500,
            vec![("Content-Type", "text/plain".into())],
            AnswerBody::Full(b"mediaconf CDN: internal error\n".to_vec()),
        ),
        Scenario::LocationLoop => Answer::new(
            307,
            vec![("Location", format!("{}/cdn/{}", ctx.cdn_http, ctx.media_id))],
            AnswerBody::Full(Vec::new()),
        ),
        _ => Answer::png(ctx.png, &format!("inline; filename=\"{CDN_FILENAME}\"")),
    }
}

/// The deprecated path serves the scenario's own media (bytes, type, file name, size), so a
/// fallback or a legacy-first fetch is judged on the same ground as the federation path; media
/// that does not exist (`not-found*`) is not found there either.
fn legacy(scenario: Scenario, ctx: &Context<'_>) -> Answer {
    let inline = format!("inline; filename=\"{REMOTE_FILENAME}\"");
    let png_with = |content_type: Option<&str>, disposition: Option<&str>| {
        let mut headers = Vec::new();
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct.to_owned()));
        }
        if let Some(cd) = disposition {
            headers.push(("Content-Disposition", cd.to_owned()));
        }
        Answer::new(200, headers, AnswerBody::Full(ctx.png.to_vec()))
    };
    if let Some((content_type, disposition, bytes)) = scenario.own_media() {
        return Answer::new(
            200,
            vec![
                ("Content-Type", content_type.to_owned()),
                ("Content-Disposition", disposition),
            ],
            AnswerBody::Full(bytes.to_vec()),
        );
    }
    match scenario {
        Scenario::ServerError => Answer::matrix_error(500, "M_UNKNOWN"),
        Scenario::OriginUnauthorized => Answer::matrix_error(401, "M_UNAUTHORIZED"),
        Scenario::OriginForbidden => Answer::matrix_error(403, "M_FORBIDDEN"),
        s if s.location_fails() => Answer::matrix_error(404, "M_NOT_FOUND"),
        Scenario::NotFound | Scenario::NotFoundHtml => Answer::matrix_error(404, "M_NOT_FOUND"),
        Scenario::PngAttachment => png_with(
            Some("image/png"),
            Some(&format!("attachment; filename=\"{REMOTE_FILENAME}\"")),
        ),
        Scenario::FilenameStarOnly => png_with(
            Some("image/png"),
            Some("inline; filename*=UTF-8''remote.png"),
        ),
        Scenario::NoDisposition => png_with(Some("image/png"), None),
        Scenario::NoContentType => png_with(None, Some(&inline)),
        Scenario::NoPartHeaders => png_with(None, None),
        Scenario::NonAsciiFilename => png_with(
            Some("image/png"),
            Some("inline; filename*=UTF-8''%C3%A9t%C3%A9.png"),
        ),
        Scenario::Location | Scenario::LocationHttps | Scenario::LocationRelative => {
            Answer::png(ctx.png, &format!("inline; filename=\"{CDN_FILENAME}\""))
        }
        Scenario::Slow => {
            let mut answer = Answer::png(ctx.png, &inline);
            answer.delay = SLOW_DELAY;
            answer
        }
        Scenario::TooLarge => Answer::new(
            200,
            vec![("Content-Type", "image/png".to_owned())],
            AnswerBody::Zeros(TOO_LARGE_BYTES),
        ),
        _ => Answer::png(ctx.png, &inline),
    }
}

fn federation(scenario: Scenario, ctx: &Context<'_>) -> Answer {
    let attachment = format!("attachment; filename=\"{REMOTE_FILENAME}\"");
    let png = ctx.png;
    let cdn_path = format!("/cdn/{}", ctx.media_id);
    let mut builder = Builder::bytes(Some("image/png"), Some(&attachment), png);
    let mut body_kind: fn(Vec<u8>) -> AnswerBody = AnswerBody::Full;
    let mut content_type: Option<String> = None;
    let mut wrap: Option<(&[u8], &[u8])> = None;
    let mut delay = Duration::ZERO;
    if let Some((content_type, disposition, bytes)) = scenario.own_media() {
        builder = Builder::bytes(Some(content_type), Some(&disposition), bytes);
    }
    match scenario {
        Scenario::NoDisposition => builder = Builder::bytes(Some("image/png"), None, png),
        Scenario::PngAttachment => {}
        Scenario::FilenameStarOnly => {
            builder = Builder::bytes(
                Some("image/png"),
                Some("attachment; filename*=UTF-8''remote.png"),
                png,
            );
        }
        Scenario::DispositionFirst => builder = builder.part_headers(PartHeaders::DispositionFirst),
        Scenario::HeaderCase => builder = builder.part_headers(PartHeaders::OtherCase),
        Scenario::JsonCharset => builder = builder.fault(Fault::JsonPartCharset),
        s if s.location_fails() => {
            builder = Builder::location(&format!("{}{cdn_path}", ctx.cdn_http));
        }
        Scenario::NoContentType => builder = Builder::bytes(None, Some(&attachment), png),
        Scenario::NonAsciiFilename => {
            builder = Builder::bytes(
                Some("image/png"),
                Some("attachment; filename*=UTF-8''%C3%A9t%C3%A9.png"),
                png,
            );
        }
        Scenario::Location => {
            builder = Builder::location(&format!("{}{cdn_path}", ctx.cdn_http));
        }
        Scenario::LocationHttps => {
            builder = Builder::location(&format!("{}{cdn_path}", ctx.peer_https));
        }
        Scenario::LocationRelative => builder = Builder::location(&cdn_path),
        Scenario::NoLeadingCrlf => builder = builder.fault(Fault::NoPreambleCrlf),
        Scenario::PreambleEpilogue => {
            builder = builder.fault(Fault::NoPreambleCrlf);
            wrap = Some((
                b"This is the preamble; receivers ignore it.\r\n",
                b"This is the epilogue; receivers ignore it too.\r\n",
            ));
        }
        Scenario::QuotedBoundary => builder = builder.fault(Fault::QuotedBoundary),
        Scenario::MixedCaseBoundary => {
            content_type = Some(builder.content_type().replace("boundary=", "Boundary="));
        }
        Scenario::NoPartHeaders => builder = Builder::bytes(None, None, png),
        Scenario::OneByteChunks => body_kind = AnswerBody::OneByteChunks,
        Scenario::NoContentLength => body_kind = AnswerBody::Chunked,
        Scenario::ThreeParts => builder = builder.fault(Fault::ThreeParts),
        Scenario::OnePart => builder = builder.fault(Fault::OnlyJsonPart),
        Scenario::MetadataNotJson => builder = builder.fault(Fault::InvalidJson),
        Scenario::MetadataArray => builder = builder.fault(Fault::JsonArray),
        Scenario::NoBoundary => content_type = Some("multipart/mixed".into()),
        Scenario::NoCloseDelimiter => builder = builder.fault(Fault::NoCloseDelimiter),
        Scenario::TopLevelRedirect => {
            return Answer::new(
                307,
                vec![("Location", format!("{}{cdn_path}", ctx.cdn_http))],
                AnswerBody::Full(Vec::new()),
            );
        }
        Scenario::ServerError => return Answer::matrix_error(500, "M_UNKNOWN"),
        Scenario::Slow => delay = SLOW_DELAY,
        Scenario::TooLarge => {
            return Answer::new(
                200,
                vec![(
                    "Content-Type",
                    "multipart/mixed; boundary=toolarge".to_owned(),
                )],
                AnswerBody::Zeros(TOO_LARGE_BYTES),
            );
        }
        // The refusals never get here; the rest is the plain inline answer.
        _ => {}
    }
    let mut body = builder.build();
    if let Some((preamble, epilogue)) = wrap {
        body = [preamble, &body, epilogue].concat();
    }
    let content_type = content_type.unwrap_or_else(|| builder.content_type());
    let mut answer = Answer::new(200, vec![("Content-Type", content_type)], body_kind(body));
    answer.delay = delay;
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::multipart::parse_media_response as parse;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\nfake png bytes";

    fn ctx() -> Context<'static> {
        Context {
            png: PNG,
            media_id: "location_abc",
            cdn_http: "http://127.0.0.1:1",
            peer_https: "https://127.0.0.1:2",
        }
    }

    fn body(answer: &Answer) -> Vec<u8> {
        match &answer.body {
            AnswerBody::Full(b) | AnswerBody::Chunked(b) | AnswerBody::OneByteChunks(b) => {
                b.clone()
            }
            AnswerBody::Zeros(n) => vec![0; usize::try_from(*n).unwrap_or(0).min(16)],
        }
    }

    fn header<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
        answer
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn names_round_trip_and_media_ids_select_scenarios() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::from_name(s.name()), Some(*s));
            assert_eq!(
                Scenario::of_media_id(&format!("{}_n0nce", s.name())),
                Some(*s)
            );
            assert!(
                s.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "media IDs allow [A-Za-z0-9_-]: {}",
                s.name()
            );
        }
        assert_eq!(
            Scenario::of_media_id("inline-bytes"),
            Some(Scenario::InlineBytes)
        );
        assert_eq!(Scenario::of_media_id("nonsense_x"), None);
    }

    #[test]
    fn the_valid_scenarios_parse_strictly_to_the_png() {
        for s in [
            Scenario::InlineBytes,
            Scenario::NoLeadingCrlf,
            Scenario::PreambleEpilogue,
            Scenario::QuotedBoundary,
            Scenario::OneByteChunks,
            Scenario::NoContentLength,
            Scenario::NoPartHeaders,
            Scenario::DispositionFirst,
            Scenario::HeaderCase,
            Scenario::JsonCharset,
            Scenario::FilenameStarOnly,
            Scenario::PngAttachment,
        ] {
            let a = answer(s, Endpoint::FederationDownload, &ctx());
            assert_eq!(a.status, 200);
            let parsed = parse(header(&a, "content-type").unwrap(), &body(&a));
            assert!(
                parsed.violations.is_empty(),
                "{s:?}: {:?}",
                parsed.violations
            );
            assert_eq!(parsed.parts.len(), 2, "{s:?}");
            assert_eq!(parsed.parts[1].body, PNG, "{s:?}");
        }
    }

    #[test]
    fn malformed_scenarios_are_malformed() {
        for s in [
            Scenario::ThreeParts,
            Scenario::OnePart,
            Scenario::NoBoundary,
        ] {
            let a = answer(s, Endpoint::FederationDownload, &ctx());
            let parsed = parse(header(&a, "content-type").unwrap(), &body(&a));
            assert!(!parsed.violations.is_empty(), "{s:?}");
        }
    }

    #[test]
    fn refusals_refuse_on_federation_and_serve_on_the_deprecated_path() {
        for (s, status) in [
            (Scenario::Unrecognized, 404),
            (Scenario::BadRequestUnrecognized, 400),
            (Scenario::Unauthorized, 401),
            (Scenario::Forbidden, 403),
            (Scenario::BadGateway, 502),
            (Scenario::NotYetUploaded, 504),
        ] {
            assert_eq!(
                answer(s, Endpoint::FederationDownload, &ctx()).status,
                status
            );
            let legacy = answer(s, Endpoint::LegacyDownload, &ctx());
            assert_eq!((legacy.status, body(&legacy)), (200, PNG.to_vec()));
        }
        for s in [
            Scenario::ServerError,
            Scenario::NotFound,
            Scenario::NotFoundHtml,
        ] {
            let federation = answer(s, Endpoint::FederationDownload, &ctx()).status;
            let legacy = answer(s, Endpoint::LegacyDownload, &ctx()).status;
            assert_eq!(legacy, federation, "{s:?}");
        }
    }

    /// The media of the federation path's media part, or of the CDN a Location points at:
    /// (type, file name in the disposition, bytes).
    fn federation_media(s: Scenario) -> (Option<String>, Option<String>, Vec<u8>) {
        let a = answer(s, Endpoint::FederationDownload, &ctx());
        let parsed = parse(header(&a, "content-type").unwrap(), &body(&a));
        match parsed.media().map(|m| m.content) {
            Some(crate::multipart::MediaContent::Bytes {
                content_type,
                content_disposition,
                body,
            }) => (
                content_type,
                content_disposition.map(|d| file_name(&d)),
                body,
            ),
            Some(crate::multipart::MediaContent::Location { .. }) => {
                let cdn = answer(s, Endpoint::Cdn, &ctx());
                let cd = header(&cdn, "content-disposition").map(file_name);
                let ct = header(&cdn, "content-type").map(str::to_owned);
                (ct, cd, body(&cdn))
            }
            None => panic!("{s:?} has no media part"),
        }
    }

    fn file_name(disposition: &str) -> String {
        disposition
            .split_once(';')
            .map_or("", |(_, params)| params.trim())
            .to_owned()
    }

    #[test]
    fn the_deprecated_path_serves_the_same_media() {
        for s in Scenario::ALL.iter().copied().filter(|s| {
            s.refusal().is_none()
                && !s.location_fails()
                && !matches!(
                    s,
                    Scenario::ServerError
                        | Scenario::TopLevelRedirect
                        | Scenario::TooLarge
                        | Scenario::OnePart
                        | Scenario::MetadataNotJson
                        | Scenario::MetadataArray
                        | Scenario::NoBoundary
                        | Scenario::ThreeParts
                        | Scenario::NoCloseDelimiter
                )
        }) {
            let legacy = answer(s, Endpoint::LegacyDownload, &ctx());
            let got = (
                header(&legacy, "content-type").map(str::to_owned),
                header(&legacy, "content-disposition").map(file_name),
                body(&legacy),
            );
            assert_eq!(got, federation_media(s), "{s:?}");
            assert_eq!(legacy.status, 200, "{s:?}");
        }
        let slow = answer(Scenario::Slow, Endpoint::LegacyDownload, &ctx());
        assert_eq!(slow.delay, SLOW_DELAY);
        let large = answer(Scenario::TooLarge, Endpoint::LegacyDownload, &ctx());
        assert_eq!(large.body, AnswerBody::Zeros(TOO_LARGE_BYTES));
    }

    #[test]
    fn location_scenarios_point_at_the_cdn() {
        let a = answer(Scenario::Location, Endpoint::FederationDownload, &ctx());
        let parsed = parse(header(&a, "content-type").unwrap(), &body(&a));
        let location = parsed.parts[1]
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.clone());
        assert_eq!(
            location.as_deref(),
            Some("http://127.0.0.1:1/cdn/location_abc")
        );
        let cdn = answer(Scenario::Location, Endpoint::Cdn, &ctx());
        assert_eq!(header(&cdn, "content-type"), Some("image/png"));
        assert!(
            header(&cdn, "content-disposition")
                .unwrap()
                .contains(CDN_FILENAME)
        );
    }

    #[test]
    fn header_variants_are_spelled_as_named() {
        let text = |s| {
            String::from_utf8_lossy(&body(&answer(s, Endpoint::FederationDownload, &ctx())))
                .into_owned()
        };
        let first = text(Scenario::DispositionFirst);
        assert!(first.find("Content-Disposition:") < first.find("Content-Type: image/png"));
        let case = text(Scenario::HeaderCase);
        assert!(
            case.contains("content-type: application/json")
                && case.contains("CONTENT-DISPOSITION:")
        );
        assert!(text(Scenario::JsonCharset).contains("application/json; charset=utf-8"));
        let star = text(Scenario::FilenameStarOnly);
        assert!(star.contains("filename*=UTF-8''remote.png") && !star.contains("filename="));
    }

    #[test]
    fn failing_locations_fail_and_nothing_is_found_elsewhere() {
        for (s, status) in [
            (Scenario::LocationNotFoundHtml, 404),
            (Scenario::LocationServerError, 500),
            (Scenario::LocationLoop, 307),
        ] {
            let cdn = answer(s, Endpoint::Cdn, &ctx());
            assert_eq!(cdn.status, status, "{s:?}");
            let legacy = answer(s, Endpoint::LegacyDownload, &ctx());
            assert_eq!(legacy.status, 404, "{s:?}");
        }
        let looped = answer(Scenario::LocationLoop, Endpoint::Cdn, &ctx());
        assert_eq!(
            header(&looped, "location"),
            Some("http://127.0.0.1:1/cdn/location_abc")
        );
        for s in [Scenario::OriginUnauthorized, Scenario::OriginForbidden] {
            let federation = answer(s, Endpoint::FederationDownload, &ctx()).status;
            assert_eq!(
                answer(s, Endpoint::LegacyDownload, &ctx()).status,
                federation
            );
        }
    }

    #[test]
    fn content_scenarios_serve_their_own_type() {
        for (s, ct, bytes) in [
            (Scenario::HtmlInline, "text/html", REMOTE_HTML),
            (Scenario::SvgInline, "image/svg+xml", REMOTE_SVG),
            (
                Scenario::TextCharset,
                "text/plain; charset=utf-8",
                REMOTE_TEXT,
            ),
        ] {
            let (got_ct, _, got) = federation_media(s);
            assert_eq!(
                (got_ct.as_deref(), got.as_slice()),
                (Some(ct), bytes),
                "{s:?}"
            );
        }
    }
}
