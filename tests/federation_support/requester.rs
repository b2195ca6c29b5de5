//! The fake as a REQUESTER: a client asks it for media of another server, and it fetches that
//! media the way a homeserver does. Conforming behaviour: a signed
//! `GET /_matrix/federation/v1/media/download/{id}` first; on `404 M_UNRECOGNIZED` only, the
//! signed fallback `GET /_matrix/media/v3/download/{server}/{id}?allow_remote=false`; the
//! multipart answer parsed strictly with mediaconf's parser (any violation: 502); a `Location`
//! part followed without credentials (relative URLs resolved against the origin); answers over
//! 50 MiB refused with `502 M_TOO_LARGE`; the result cached. The deprecated
//! `/_matrix/media/v3/download` never fetches remote media (404). A [`RemoteFault`] breaks one
//! of these rules.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::body::Bytes;
use axum::http::header;
use mediaconf::federation::xmatrix::{HeaderStyle, Param, render_header, sign_request};
use mediaconf::multipart::{MediaContent, parse_media_response};

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
    ];
}

/// Remote media fetched so far, by (server, media id).
#[derive(Default)]
pub struct RemoteCache(pub Mutex<HashMap<(String, String), Content>>);

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
                lock(&self.remote_cache.0).insert(key, fetched.clone());
                fetched
            }
        };
        Ok(response(
            200,
            &[
                (header::CONTENT_TYPE, content.content_type.clone()),
                (
                    header::CONTENT_DISPOSITION,
                    disposition(content.filename.as_deref()),
                ),
            ],
            content.bytes.clone(),
        ))
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

    async fn fetch_remote(&self, server: &str, id: &str) -> Result<Content, Fail> {
        if self.remote_has(RemoteFault::LegacyFirst)
            && let Ok(content) = self.fallback(server, id).await
        {
            return Ok(content);
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
        if self.remote_has(RemoteFault::AcceptsThreeParts) && !parsed.is_conformant() {
            if let Some(first) = parsed.parts.get(1) {
                let bytes: Vec<u8> = parsed.parts[1..]
                    .iter()
                    .flat_map(|p| p.body.clone())
                    .collect();
                return Ok(part_content(
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
            } => Ok(part_content(
                content_type.as_deref(),
                content_disposition.as_deref(),
                body,
            )),
            MediaContent::Location { .. } if self.remote_has(RemoteFault::IgnoresLocation) => {
                Ok(part_content(None, None, Vec::new()))
            }
            MediaContent::Location { url } => {
                let absolute = reqwest::Url::parse(&format!("https://{server}/"))
                    .and_then(|base| base.join(&url))
                    .map_err(|e| error(502, "M_UNKNOWN", &format!("bad Location {url}: {e}")))?;
                let cdn =
                    self.http.get(absolute).send().await.map_err(|e| {
                        error(502, "M_UNKNOWN", &format!("Location unreachable: {e}"))
                    })?;
                if !cdn.status().is_success() {
                    return Err(error(502, "M_UNKNOWN", "the Location answered an error"));
                }
                let ct = header_text(cdn.headers(), header::CONTENT_TYPE);
                let cd = header_text(cdn.headers(), header::CONTENT_DISPOSITION);
                let bytes = read_capped(cdn).await?;
                Ok(part_content(ct.as_deref(), cd.as_deref(), bytes.to_vec()))
            }
        }
    }

    async fn fallback(&self, server: &str, id: &str) -> Result<Content, Fail> {
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
        Ok(part_content(ct.as_deref(), cd.as_deref(), bytes.to_vec()))
    }
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

/// Stored content from a part's (or CDN answer's) headers.
fn part_content(content_type: Option<&str>, disposition: Option<&str>, bytes: Vec<u8>) -> Content {
    Content {
        bytes: Bytes::from(bytes),
        content_type: content_type
            .unwrap_or("application/octet-stream")
            .to_owned(),
        filename: disposition.and_then(filename_of),
    }
}

/// `filename*=UTF-8''…` (percent-decoded) or `filename="…"` / `filename=…`.
fn filename_of(disposition: &str) -> Option<String> {
    let params: Vec<&str> = disposition.split(';').map(str::trim).collect();
    for p in &params {
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
