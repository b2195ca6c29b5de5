//! The fake as a REQUESTER: a client asks it for media of another server, and it fetches that
//! media the way a homeserver does. Conforming behaviour: a signed
//! `GET /_matrix/federation/v1/media/download/{id}` first; on `404 M_UNRECOGNIZED` only, the
//! signed fallback `GET /_matrix/media/v3/download/{server}/{id}?allow_remote=false`; the
//! multipart answer parsed strictly with mediaconf's parser (any violation: 502); a `Location`
//! part followed without credentials (relative URLs resolved against the origin; a failing URL
//! is a 502 and nothing is cached); answers over 50 MiB refused with `502 M_TOO_LARGE`; any
//! other refusal of the origin a 502; the result cached. Remote media is served under the rules
//! for local media: `inline` only for the spec's safe types (compared without parameters),
//! whatever the origin said; thumbnails `inline` and only of raster images; CSP and CORP. The
//! deprecated `/_matrix/media/v3/download` never fetches remote media (404). A [`RemoteFault`]
//! breaks one of these rules.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::header;
use mediaconf::federation::xmatrix::{HeaderStyle, Param, render_header, sign_request};
use mediaconf::multipart::{MediaContent, parse_media_response};

use mediaconf::check::content_type::essence;
use mediaconf::check::disposition::SAFE_INLINE_TYPES;

use super::{Content, Fail, Fake, Reply, Req, SERVER_NAME, disposition, error, lock, response};

/// Largest remote media the fake accepts.
const REMOTE_LIMIT: u64 = 50 * 1024 * 1024;

/// The one requester rule the fake breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteFault {
    None,
    /// `404 M_UNRECOGNIZED` is answered with 502 instead of falling back.
    NeverFallsBack,
    /// Any 404 or 400 from the federation endpoint falls back.
    FallsBackOnAny4xx,
    /// The fallback request has no `allow_remote=false`.
    FallbackWithoutAllowRemote,
    /// A `Location` part is served as the media (an empty 200), not followed.
    IgnoresLocation,
    /// Multipart violations are ignored and every part after the first becomes the media.
    AcceptsThreeParts,
    /// The federation requests carry no `Authorization` header.
    DoesNotSign,
    /// The federation requests are signed for (and name) another destination.
    SignsWrongDestination,
    /// The X-Matrix header has no `destination` parameter (the signature still covers it).
    OmitsDestination,
    /// The deprecated download fetches nothing remote, as frozen, but answers 502 instead of
    /// 404.
    DeprecatedAnswers502,
    /// Remote media is fetched from the deprecated `/_matrix/media/v3/download` first; the
    /// federation endpoint only when that fails (a real server does this).
    LegacyFirst,
    /// The client gets the origin's `inline` or `attachment`, whatever the type.
    OriginDisposition,
    /// The inline allow-list is compared with the whole Content-Type, parameters included.
    AllowListWithParams,
    /// Remote media is served without Content-Security-Policy and Cross-Origin-Resource-Policy.
    NoSecurityHeaders,
    /// Remote thumbnails are served as attachment.
    RemoteThumbnailAttachment,
    /// Whatever a `Location` URL answers (404 page, 500, a redirect) is served as the media.
    ServesFailedLocation,
    /// A failing `Location` gives a 502, but its answer is cached and served (200) next time.
    CachesFailedLocation,
    /// Part headers are read only as `Content-Type: application/json` first part and a media
    /// part whose first header is `Content-Type` (names as spelled): other valid forms are 502.
    StrictPartHeaders,
    /// `filename*` is ignored: only `filename=` gives the file name.
    IgnoresFilenameStar,
    /// The file name is lost when the part headers are spelled or ordered otherwise than
    /// [`strictly_spelled`] expects (the bytes still arrive).
    LosesFilenameOnVariants,
    /// An origin's 401 or 403 reaches the client as the same status.
    PassesOriginRefusal,
}

impl RemoteFault {
    pub const ALL: &[RemoteFault] = &[
        RemoteFault::None,
        RemoteFault::NeverFallsBack,
        RemoteFault::FallsBackOnAny4xx,
        RemoteFault::FallbackWithoutAllowRemote,
        RemoteFault::IgnoresLocation,
        RemoteFault::AcceptsThreeParts,
        RemoteFault::DoesNotSign,
        RemoteFault::SignsWrongDestination,
        RemoteFault::OmitsDestination,
        RemoteFault::DeprecatedAnswers502,
        RemoteFault::LegacyFirst,
        RemoteFault::OriginDisposition,
        RemoteFault::AllowListWithParams,
        RemoteFault::NoSecurityHeaders,
        RemoteFault::RemoteThumbnailAttachment,
        RemoteFault::ServesFailedLocation,
        RemoteFault::CachesFailedLocation,
        RemoteFault::StrictPartHeaders,
        RemoteFault::IgnoresFilenameStar,
        RemoteFault::LosesFilenameOnVariants,
        RemoteFault::PassesOriginRefusal,
    ];
}

/// Remote media fetched so far, by (server, media id), and the disposition type the origin
/// gave each (`inline` or `attachment`).
#[derive(Default)]
pub struct RemoteCache(
    pub Mutex<HashMap<(String, String), Content>>,
    pub Mutex<HashMap<(String, String), String>>,
);

/// What a fetch brought: the content, and the origin's disposition type.
struct Fetched {
    content: Content,
    origin_kind: String,
}

/// A `Location` URL that failed, and what it answered (for the faults that keep it).
struct FailedLocation {
    status: u16,
    content_type: Option<String>,
    body: Bytes,
}

impl Fake {
    fn remote_has(&self, fault: RemoteFault) -> bool {
        self.remote == fault
    }

    /// `GET /_matrix/client/v1/media/{download,thumbnail}/{server}/{id}` for another server.
    /// Thumbnails are the fetched image itself (it is small).
    pub(super) async fn remote_media(&self, req: &Req, server: &str, id: &str) -> Reply {
        self.check_token(req)?;
        let key = (server.to_owned(), id.to_owned());
        let cached = lock(&self.remote_cache.0).get(&key).cloned();
        let content = match cached {
            Some(c) => c,
            None => {
                let fetched = self.fetch_remote(server, id).await?;
                lock(&self.remote_cache.1).insert(key.clone(), fetched.origin_kind);
                lock(&self.remote_cache.0).insert(key.clone(), fetched.content.clone());
                fetched.content
            }
        };
        let origin_kind = lock(&self.remote_cache.1).get(&key).cloned();
        let thumbnail = req.uri.contains("/media/thumbnail/");
        let essence = essence(&content.content_type);
        if thumbnail
            && !matches!(
                essence.as_str(),
                "image/png" | "image/jpeg" | "image/gif" | "image/webp"
            )
        {
            return Err(error(400, "M_UNKNOWN", "cannot thumbnail this media"));
        }
        let listed = if self.remote_has(RemoteFault::AllowListWithParams) {
            content.content_type.to_ascii_lowercase()
        } else {
            essence
        };
        let kind = match (thumbnail, origin_kind) {
            (true, _) if self.remote_has(RemoteFault::RemoteThumbnailAttachment) => "attachment",
            (true, _) => "inline",
            (false, Some(k)) if self.remote_has(RemoteFault::OriginDisposition) => {
                if k == "inline" {
                    "inline"
                } else {
                    "attachment"
                }
            }
            (false, _) if SAFE_INLINE_TYPES.contains(&listed.as_str()) => "inline",
            (false, _) => "attachment",
        };
        let mut headers = vec![
            (header::CONTENT_TYPE, content.content_type.clone()),
            (
                header::CONTENT_DISPOSITION,
                disposition(content.filename.as_deref()).replacen("inline", kind, 1),
            ),
        ];
        if !self.remote_has(RemoteFault::NoSecurityHeaders) {
            headers.push((
                header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'".into(),
            ));
            headers.push((
                header::HeaderName::from_static("cross-origin-resource-policy"),
                "cross-origin".into(),
            ));
        }
        Ok(response(200, &headers, content.bytes.clone()))
    }

    async fn signed_get(
        &self,
        server: &str,
        path_and_query: &str,
    ) -> Result<reqwest::Response, Fail> {
        let mut request = self.http.get(format!("https://{server}{path_and_query}"));
        if !self.remote_has(RemoteFault::DoesNotSign) {
            let destination = if self.remote_has(RemoteFault::SignsWrongDestination) {
                "elsewhere.test"
            } else {
                server
            };
            let auth = sign_request(
                &self.key,
                "GET",
                path_and_query,
                SERVER_NAME,
                destination,
                None,
            )
            .map_err(|e| error(500, "M_UNKNOWN", &e.to_string()))?;
            let value = if self.remote_has(RemoteFault::OmitsDestination) {
                render_header(&auth, &HeaderStyle::default().without(Param::Destination))
            } else {
                auth.to_header_value()
            };
            request = request.header(header::AUTHORIZATION, value);
        }
        request
            .send()
            .await
            .map_err(|e| error(502, "M_UNKNOWN", &format!("cannot reach {server}: {e}")))
    }

    async fn fetch_remote(&self, server: &str, id: &str) -> Result<Fetched, Fail> {
        if self.remote_has(RemoteFault::LegacyFirst)
            && let Ok(fetched) = self.fallback(server, id).await
        {
            return Ok(fetched);
        }
        let answer = self
            .signed_get(
                server,
                &format!("/_matrix/federation/v1/media/download/{id}?timeout_ms=20000"),
            )
            .await?;
        let status = answer.status().as_u16();
        let headers = answer.headers().clone();
        let body = read_capped(answer).await?;
        if status != 200 {
            let errcode = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("errcode").and_then(|e| e.as_str()).map(str::to_owned));
            let unrecognized = status == 404 && errcode.as_deref() == Some("M_UNRECOGNIZED");
            let any_4xx = matches!(status, 400 | 404);
            let fall_back = if self.remote_has(RemoteFault::NeverFallsBack) {
                false
            } else if self.remote_has(RemoteFault::FallsBackOnAny4xx) {
                any_4xx
            } else {
                unrecognized
            };
            if fall_back {
                return self.fallback(server, id).await;
            }
            if status == 404 {
                return Err(error(404, "M_NOT_FOUND", "remote media not found"));
            }
            if matches!(status, 401 | 403) && self.remote_has(RemoteFault::PassesOriginRefusal) {
                let code = if status == 401 {
                    "M_UNAUTHORIZED"
                } else {
                    "M_FORBIDDEN"
                };
                return Err(error(status, code, "the origin refused"));
            }
            return Err(error(
                502,
                "M_UNKNOWN",
                &format!("the origin answered {status}"),
            ));
        }
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let parsed = parse_media_response(&content_type, &body);
        let strict = strictly_spelled(&parsed.parts);
        if self.remote_has(RemoteFault::StrictPartHeaders) && !strict {
            return Err(error(502, "M_UNKNOWN", "unexpected part headers"));
        }
        if self.remote_has(RemoteFault::AcceptsThreeParts) && !parsed.is_conformant() {
            if let Some(first) = parsed.parts.get(1) {
                let bytes: Vec<u8> = parsed.parts[1..]
                    .iter()
                    .flat_map(|p| p.body.clone())
                    .collect();
                return Ok(self.part_content(
                    first.header("content-type"),
                    first.header("content-disposition"),
                    bytes,
                ));
            }
        } else if !parsed.is_conformant() {
            return Err(error(
                502,
                "M_UNKNOWN",
                "malformed multipart from the origin",
            ));
        }
        let media = parsed
            .media()
            .ok_or_else(|| error(502, "M_UNKNOWN", "no media in the origin's answer"))?;
        match media.content {
            MediaContent::Bytes {
                content_type,
                content_disposition,
                body,
            } => {
                let mut fetched = self.part_content(
                    content_type.as_deref(),
                    content_disposition.as_deref(),
                    body,
                );
                if !strict && self.remote_has(RemoteFault::LosesFilenameOnVariants) {
                    fetched.content.filename = None;
                }
                Ok(fetched)
            }
            MediaContent::Location { .. } if self.remote_has(RemoteFault::IgnoresLocation) => {
                Ok(self.part_content(None, None, Vec::new()))
            }
            MediaContent::Location { url } => self.follow_location(server, id, &url).await,
        }
    }

    /// Fetches what a `Location` part points at. A URL that fails is a 502 (and nothing is
    /// cached), except under the faults that serve or keep its answer.
    async fn follow_location(&self, server: &str, id: &str, url: &str) -> Result<Fetched, Fail> {
        let absolute = reqwest::Url::parse(&format!("https://{server}/"))
            .and_then(|base| base.join(url))
            .map_err(|e| error(502, "M_UNKNOWN", &format!("bad Location {url}: {e}")))?;
        let keeps_failures = self.remote_has(RemoteFault::ServesFailedLocation)
            || self.remote_has(RemoteFault::CachesFailedLocation);
        let client = if keeps_failures {
            reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .tls_danger_accept_invalid_certs(true)
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|e| error(500, "M_UNKNOWN", &e.to_string()))?
        } else {
            self.http.clone()
        };
        let cdn = client
            .get(absolute)
            .send()
            .await
            .map_err(|e| error(502, "M_UNKNOWN", &format!("Location unreachable: {e}")))?;
        let status = cdn.status().as_u16();
        let ct = header_text(cdn.headers(), header::CONTENT_TYPE);
        let cd = header_text(cdn.headers(), header::CONTENT_DISPOSITION);
        let bytes = read_capped(cdn).await?;
        if (200..300).contains(&status) || self.remote_has(RemoteFault::ServesFailedLocation) {
            return Ok(self.part_content(ct.as_deref(), cd.as_deref(), bytes.to_vec()));
        }
        if self.remote_has(RemoteFault::CachesFailedLocation) {
            let failed = FailedLocation {
                status,
                content_type: ct,
                body: bytes,
            };
            let kept =
                self.part_content(failed.content_type.as_deref(), None, failed.body.to_vec());
            let key = (server.to_owned(), id.to_owned());
            lock(&self.remote_cache.1).insert(key.clone(), kept.origin_kind);
            lock(&self.remote_cache.0).insert(key, kept.content);
            return Err(error(
                502,
                "M_UNKNOWN",
                &format!("the Location answered {}", failed.status),
            ));
        }
        Err(error(
            502,
            "M_UNKNOWN",
            &format!("the Location answered {status}"),
        ))
    }

    async fn fallback(&self, server: &str, id: &str) -> Result<Fetched, Fail> {
        let query = if self.remote_has(RemoteFault::FallbackWithoutAllowRemote) {
            "timeout_ms=20000"
        } else {
            "allow_remote=false&timeout_ms=20000"
        };
        let answer = self
            .signed_get(
                server,
                &format!("/_matrix/media/v3/download/{server}/{id}?{query}"),
            )
            .await?;
        if !answer.status().is_success() {
            return Err(error(404, "M_NOT_FOUND", "remote media not found"));
        }
        let ct = header_text(answer.headers(), header::CONTENT_TYPE);
        let cd = header_text(answer.headers(), header::CONTENT_DISPOSITION);
        let bytes = read_capped(answer).await?;
        Ok(self.part_content(ct.as_deref(), cd.as_deref(), bytes.to_vec()))
    }

    /// Stored content from a part's (or CDN answer's) headers.
    fn part_content(
        &self,
        content_type: Option<&str>,
        disposition: Option<&str>,
        bytes: Vec<u8>,
    ) -> Fetched {
        let filename = disposition
            .and_then(|d| filename_of(d, !self.remote_has(RemoteFault::IgnoresFilenameStar)));
        let origin_kind = disposition
            .and_then(|d| d.split(';').next())
            .map_or("attachment", str::trim)
            .to_ascii_lowercase();
        Fetched {
            content: Content {
                bytes: Bytes::from(bytes),
                content_type: content_type
                    .unwrap_or("application/octet-stream")
                    .to_owned(),
                filename,
            },
            origin_kind,
        }
    }
}

/// The part headers as the most common sender writes them: the JSON part's only header is
/// `Content-Type: application/json`; the media part's names are spelled `Content-Type`,
/// `Content-Disposition` or `Location`, with `Content-Type` first when both are there.
fn strictly_spelled(parts: &[mediaconf::multipart::Part]) -> bool {
    let json_ok = parts.first().is_some_and(|p| {
        p.headers.len() == 1
            && p.headers[0].0 == "Content-Type"
            && p.headers[0].1 == "application/json"
    });
    let media_ok = parts.get(1).is_none_or(|p| {
        let names: Vec<&str> = p.headers.iter().map(|(n, _)| n.as_str()).collect();
        let spelled = names
            .iter()
            .all(|n| matches!(*n, "Content-Type" | "Content-Disposition" | "Location"));
        let position = |name| names.iter().position(|n| *n == name);
        let ordered = match (position("Content-Type"), position("Content-Disposition")) {
            (Some(ct), Some(cd)) => ct < cd,
            _ => true,
        };
        spelled && ordered
    });
    json_ok && media_ok
}

fn header_text(headers: &reqwest::header::HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The body, refused with `502 M_TOO_LARGE` beyond [`REMOTE_LIMIT`] (announced or received).
async fn read_capped(mut answer: reqwest::Response) -> Result<Bytes, Fail> {
    let too_large = || error(502, "M_TOO_LARGE", "remote media is too large");
    if answer.content_length().is_some_and(|n| n > REMOTE_LIMIT) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(|e| {
        error(
            502,
            "M_UNKNOWN",
            &format!("the origin's answer broke off: {e}"),
        )
    })? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > REMOTE_LIMIT {
            return Err(too_large());
        }
    }
    Ok(Bytes::from(body))
}

/// `filename*=UTF-8''…` (percent-decoded, when `star` allows it) or `filename="…"` /
/// `filename=…`.
fn filename_of(disposition: &str, star: bool) -> Option<String> {
    let params: Vec<&str> = disposition.split(';').map(str::trim).collect();
    for p in params.iter().filter(|_| star) {
        if let Some(v) = p.strip_prefix("filename*=") {
            let encoded = v.split_once("''").map_or(v, |(_, rest)| rest);
            return Some(
                percent_encoding::percent_decode_str(encoded)
                    .decode_utf8_lossy()
                    .into_owned(),
            );
        }
    }
    params
        .iter()
        .find_map(|p| p.strip_prefix("filename="))
        .map(|v| v.trim_matches('"').to_owned())
}
