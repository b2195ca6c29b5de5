//! The mock peer's media endpoints: the federation `download`/`thumbnail`, the deprecated
//! `/_matrix/media/*` fallbacks, and the CDN path a `Location` part points at. Each looks up
//! the scenario the media ID names ([`super::scenario`]) or a `--fixtures` file and sends the
//! [`Answer`] it describes.
//!
//! Fixtures are looked up by media ID in a table built at start, never by a path taken from the
//! request, so no request can make the peer read a file outside the fixtures.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;

use super::response::matrix_error;
use super::scenario::{self, Answer, AnswerBody, Context, Endpoint, Scenario};

/// The PNG the scenarios serve unless the run passes another (the suite's 640×480 fixture).
pub const DEFAULT_PNG: &[u8] = include_bytes!("../../fixtures/image-640x480.png");

/// A file served as inline media by `mediaconf peer --fixtures DIR`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// `fixture_<name>`, the name reduced to `[A-Za-z0-9_-]`.
    pub media_id: String,
    /// The file, resolved (symlinks followed) and known to be inside the fixtures directory.
    pub path: PathBuf,
    /// The file's name, announced in Content-Disposition.
    pub file_name: String,
    pub content_type: String,
}

/// What the media endpoints serve.
#[derive(Debug, Clone)]
pub struct MediaConfig {
    pub png: Vec<u8>,
    pub fixtures: Vec<Fixture>,
    /// `http://host:port` of the CDN listener.
    pub cdn_http: String,
    /// `https://<server name>` of the peer.
    pub peer_https: String,
    /// The peer's server name: the deprecated endpoints serve only media of this server.
    pub server_name: String,
}

/// A few words on what was answered, attached to the response for the request log.
#[derive(Debug, Clone)]
pub struct AnswerNote(pub String);

pub(super) async fn federation_download(
    State(media): State<Arc<MediaConfig>>,
    Path(media_id): Path<String>,
) -> Response {
    serve(&media, Endpoint::FederationDownload, &media_id).await
}

pub(super) async fn federation_thumbnail(
    State(media): State<Arc<MediaConfig>>,
    Path(media_id): Path<String>,
) -> Response {
    serve(&media, Endpoint::FederationThumbnail, &media_id).await
}

pub(super) async fn legacy_download(
    State(media): State<Arc<MediaConfig>>,
    Path((_version, server, media_id)): Path<(String, String, String)>,
) -> Response {
    legacy(&media, Endpoint::LegacyDownload, &server, &media_id).await
}

pub(super) async fn legacy_download_named(
    State(media): State<Arc<MediaConfig>>,
    Path((_version, server, media_id, _name)): Path<(String, String, String, String)>,
) -> Response {
    legacy(&media, Endpoint::LegacyDownload, &server, &media_id).await
}

pub(super) async fn legacy_thumbnail(
    State(media): State<Arc<MediaConfig>>,
    Path((_version, server, media_id)): Path<(String, String, String)>,
) -> Response {
    legacy(&media, Endpoint::LegacyThumbnail, &server, &media_id).await
}

pub(super) async fn cdn(
    State(media): State<Arc<MediaConfig>>,
    Path(media_id): Path<String>,
) -> Response {
    serve(&media, Endpoint::Cdn, &media_id).await
}

async fn legacy(media: &MediaConfig, endpoint: Endpoint, server: &str, media_id: &str) -> Response {
    if server != media.server_name {
        return noted(
            matrix_error(
                StatusCode::NOT_FOUND,
                "M_NOT_FOUND",
                "mediaconf peer: not a server name of this peer",
            ),
            format!("media of another server ({server})"),
        );
    }
    serve(media, endpoint, media_id).await
}

async fn serve(media: &MediaConfig, endpoint: Endpoint, media_id: &str) -> Response {
    if let Some(fixture) = media.fixtures.iter().find(|f| f.media_id == media_id) {
        return serve_fixture(fixture, endpoint).await;
    }
    let Some(scenario) = Scenario::of_media_id(media_id) else {
        return noted(
            matrix_error(
                StatusCode::NOT_FOUND,
                "M_NOT_FOUND",
                "mediaconf peer: no scenario or fixture has this media ID",
            ),
            "unknown media ID".into(),
        );
    };
    let ctx = Context {
        png: &media.png,
        media_id,
        cdn_http: &media.cdn_http,
        peer_https: &media.peer_https,
    };
    let answer = scenario::answer(scenario, endpoint, &ctx);
    let note = format!("({})", scenario.name());
    send(answer, note).await
}

async fn serve_fixture(fixture: &Fixture, endpoint: Endpoint) -> Response {
    let bytes = match tokio::fs::read(&fixture.path).await {
        Ok(b) => b,
        Err(e) => {
            return noted(
                matrix_error(
                    StatusCode::NOT_FOUND,
                    "M_NOT_FOUND",
                    "mediaconf peer: the fixture cannot be read",
                ),
                format!("fixture {} unreadable: {e}", fixture.file_name),
            );
        }
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        fixture.file_name.replace(['"', '\\'], "_")
    );
    let answer = match endpoint {
        Endpoint::FederationDownload | Endpoint::FederationThumbnail => {
            let builder = crate::multipart::Builder::bytes(
                Some(&fixture.content_type),
                Some(&disposition),
                &bytes,
            );
            Answer {
                status: 200,
                headers: vec![("Content-Type".into(), builder.content_type())],
                body: AnswerBody::Full(builder.build()),
                delay: std::time::Duration::ZERO,
            }
        }
        _ => Answer {
            status: 200,
            headers: vec![
                ("Content-Type".into(), fixture.content_type.clone()),
                ("Content-Disposition".into(), disposition),
            ],
            body: AnswerBody::Full(bytes),
            delay: std::time::Duration::ZERO,
        },
    };
    send(answer, format!("(fixture {})", fixture.file_name)).await
}

/// Sends an [`Answer`]: waits its delay, then streams its body in the shape it asks for.
async fn send(answer: Answer, note: String) -> Response {
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let (body, length, shape) = match answer.body {
        AnswerBody::Full(b) => {
            let len = b.len() as u64;
            (Body::from(b), Some(len), "")
        }
        AnswerBody::Chunked(b) => {
            let chunk = Ok::<_, std::io::Error>(Bytes::from(b));
            (
                Body::from_stream(futures_util::stream::iter([chunk])),
                None,
                ", chunked",
            )
        }
        AnswerBody::OneByteChunks(b) => {
            // Slices of one shared buffer: a chunk per byte without an allocation per byte.
            let whole = Bytes::from(b);
            let chunks: Vec<Result<Bytes, std::io::Error>> = (0..whole.len())
                .map(|i| Ok(whole.slice(i..i + 1)))
                .collect();
            (
                Body::from_stream(futures_util::stream::iter(chunks)),
                None,
                ", 1-byte chunks",
            )
        }
        AnswerBody::Zeros(total) => (zeros(total), Some(total), ", zeros"),
    };
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in &answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(n, v);
        }
    }
    if let Some(len) = length {
        response
            .headers_mut()
            .insert(axum::http::header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    let kind = answer
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
        .map_or("no Content-Type", |(_, v)| v.split(';').next().unwrap_or(v))
        .to_owned();
    noted(response, format!("{kind}{shape} {note}"))
}

/// `total` zero bytes in 64 KiB chunks, produced as they are sent.
fn zeros(total: u64) -> Body {
    const CHUNK: usize = 64 * 1024;
    let block = Bytes::from(vec![0u8; CHUNK]);
    let stream = futures_util::stream::unfold(total, move |left| {
        let block = block.clone();
        async move {
            if left == 0 {
                return None;
            }
            let n = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
            Some((Ok::<_, std::io::Error>(block.slice(..n)), left - n as u64))
        }
    });
    Body::from_stream(stream)
}

fn noted(mut response: Response, note: String) -> Response {
    response.extensions_mut().insert(AnswerNote(note));
    response
}

/// The fixtures of a directory: every regular file directly inside it (symlinks are followed
/// only when they resolve inside the directory), as `fixture_<name>` media.
pub fn load_fixtures(dir: &std::path::Path) -> Result<(Vec<Fixture>, Vec<String>), String> {
    let root = dir
        .canonicalize()
        .map_err(|e| format!("--fixtures {}: {e}", dir.display()))?;
    let entries =
        std::fs::read_dir(&root).map_err(|e| format!("--fixtures {}: {e}", dir.display()))?;
    let mut fixtures = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(resolved) = entry.path().canonicalize() else {
            skipped.push(format!("{name}: cannot be resolved"));
            continue;
        };
        if resolved.parent() != Some(root.as_path()) || !resolved.is_file() {
            skipped.push(format!(
                "{name}: not a regular file directly inside {}",
                root.display()
            ));
            continue;
        }
        let id: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        fixtures.push(Fixture {
            media_id: format!("fixture_{id}"),
            content_type: content_type_of(&name).to_owned(),
            file_name: name,
            path: resolved,
        });
    }
    fixtures.sort_by(|a, b| a.media_id.cmp(&b.media_id));
    fixtures.dedup_by(|a, b| a.media_id == b.media_id);
    Ok((fixtures, skipped))
}

/// A Content-Type from the file extension (`application/octet-stream` when unknown).
fn content_type_of(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map_or("", |(_, e)| e)
        .to_ascii_lowercase();
    match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "txt" => "text/plain",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "mp4" => "video/mp4",
        "html" | "htm" => "text/html",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_stay_inside_their_directory() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("cat picture.png"), b"png").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub").join("deep.txt"), "deep").unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret.txt"),
            dir.path().join("link.txt"),
        )
        .unwrap();
        let (fixtures, skipped) = load_fixtures(dir.path()).unwrap();
        let ids: Vec<&str> = fixtures.iter().map(|f| f.media_id.as_str()).collect();
        assert_eq!(ids, ["fixture_cat-picture-png"]);
        assert_eq!(fixtures[0].content_type, "image/png");
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert!(load_fixtures(&dir.path().join("missing")).is_err());
    }
}
