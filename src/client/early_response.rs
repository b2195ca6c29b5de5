//! Sending a large request body over plain HTTP/1.1 while reading the response at the same time.
//!
//! Servers answer an oversized upload (413) before the body is complete and then close the
//! connection; a client that only reads after writing everything sees a reset instead of the
//! answer. This small client writes the body in chunks on one half of the socket and reads on
//! the other, so an early response is recorded. Used for large bodies to `http://` targets only.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::body::{BodyRecorder, KEPT_BODY_BYTES};
use super::request_body::OutgoingRequest;
use super::request_body::RequestBody;
use crate::exchange::{RecordedResponse, TransportFailure};

/// Bodies at least this large go through this client (for `http://` URLs).
pub const EARLY_RESPONSE_THRESHOLD: usize = 1024 * 1024;

/// Most header bytes accepted from the server.
const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Sends `req` and returns the response, even one that arrives before the body is written.
pub async fn send(
    url: &url::Url,
    req: &OutgoingRequest,
    max_body: usize,
) -> Result<RecordedResponse, TransportFailure> {
    let host = url
        .host_str()
        .ok_or_else(|| TransportFailure::Other("URL has no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    let head = request_head(url, host, req)?;
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect((host, port)),
    )
    .await
    .map_err(|_| TransportFailure::Connect(format!("connecting to {host}:{port} timed out")))?
    .map_err(|e| TransportFailure::Connect(format!("{host}:{port}: {e}")))?;
    let (mut reader, writer) = stream.into_split();
    let write_task = spawn_writer(writer, head, req.body.clone());
    let head = read_head(&mut reader).await;
    // The server has answered (or failed): stop sending.
    write_task.abort();
    let ResponseHead {
        status,
        headers,
        after_head,
    } = head?;
    let body = read_body(&mut reader, &headers, after_head, max_body).await;
    Ok(body.into_response(status, headers))
}

/// The request line and header section, ending with the blank line.
fn request_head(
    url: &url::Url,
    host: &str,
    req: &OutgoingRequest,
) -> Result<String, TransportFailure> {
    let mut head = format!(
        "{} {}{} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\nAccept-Encoding: identity\r\nUser-Agent: mediaconf/{}\r\n",
        req.method,
        url.path(),
        url.query().map(|q| format!("?{q}")).unwrap_or_default(),
        url.port()
            .map_or(host.to_string(), |p| format!("{host}:{p}")),
        req.body.len(),
        env!("CARGO_PKG_VERSION"),
    );
    for (name, value) in &req.headers {
        if name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
            return Err(TransportFailure::Other(format!(
                "header `{name}` contains a line break"
            )));
        }
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    Ok(head)
}

/// Writes the head and the body on the write half, in its own task (aborted once the server
/// answers).
fn spawn_writer(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    head: String,
    body: RequestBody,
) -> tokio::task::JoinHandle<std::io::Result<()>> {
    tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        // Zeros go out without a copy where the system allows it; what that path left unsent
        // (none where it works) is written as usual.
        let body = match body {
            RequestBody::Zeros(n) => {
                RequestBody::Zeros(super::zero_copy::send_zeros(writer.as_ref(), n).await?)
            }
            bytes => bytes,
        };
        for piece in body.pieces(super::request_body::ZERO_BLOCK) {
            writer.write_all(&piece).await?;
        }
        writer.flush().await?;
        // Dropping the write half would half-close the connection, and some servers (hyper)
        // then drop the request without answering; the socket closes when the reader goes.
        writer.forget();
        Ok::<(), std::io::Error>(())
    })
}

/// A response's status line and headers, and the bytes read after them.
struct ResponseHead {
    status: u16,
    headers: Vec<(String, String)>,
    after_head: Vec<u8>,
}

/// Reads until the header section is complete.
async fn read_head(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
) -> Result<ResponseHead, TransportFailure> {
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut chunk).await {
            Ok(n) => n,
            Err(e) => {
                let what = if e.kind() == std::io::ErrorKind::ConnectionReset {
                    "the target reset the connection before answering, while the body was being sent"
                } else {
                    "connection error before any response"
                };
                return Err(TransportFailure::Other(format!("{what} ({e})")));
            }
        };
        if n == 0 {
            return Err(TransportFailure::Other(
                "the target closed the connection before answering, while the body was being sent"
                    .into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(head) = parse_head(&mut buf)? {
            return Ok(head);
        }
    }
}

/// The head, once `buf` holds all of it (`buf` keeps the bytes after it); `None` while partial.
fn parse_head(buf: &mut Vec<u8>) -> Result<Option<ResponseHead>, TransportFailure> {
    let mut parsed_headers = [httparse::EMPTY_HEADER; 64];
    let mut response = httparse::Response::new(&mut parsed_headers);
    match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => {
            let status = response.code.unwrap_or(0);
            let headers: Vec<(String, String)> = response
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_ascii_lowercase(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect();
            Ok(Some(ResponseHead {
                status,
                headers,
                after_head: buf.split_off(len),
            }))
        }
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEADER_BYTES => Ok(None),
        Ok(httparse::Status::Partial) => Err(TransportFailure::Other(format!(
            "response header section longer than {MAX_HEADER_BYTES} bytes"
        ))),
        Err(e) => Err(TransportFailure::Other(format!(
            "malformed HTTP response: {e}"
        ))),
    }
}

/// Reads the body (chunked, by `Content-Length`, or to the close), capped and hashed.
async fn read_body(
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    headers: &[(String, String)],
    mut raw: Vec<u8>,
    max_body: usize,
) -> super::body::RecordedBody {
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.contains("chunked"));
    let declared: Option<usize> = header("content-length").and_then(|v| v.parse().ok());
    let keep = max_body.min(KEPT_BODY_BYTES);
    let mut recorder = BodyRecorder::new(max_body, keep);
    let mut chunk = vec![0u8; 64 * 1024];
    if chunked {
        // The answer to an upload is a small JSON object: read at most twice the keep limit of
        // chunked framing, then decode what arrived.
        let limit = keep.saturating_mul(2).saturating_add(1);
        while raw.len() < limit && !raw.ends_with(b"0\r\n\r\n") {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
        recorder.push(&decode_chunked(&raw));
        if raw.len() >= limit {
            recorder.mark_truncated();
        }
    } else {
        let mut reading = recorder.push(&raw);
        drop(raw);
        while reading && declared.is_none_or(|d| recorder.len() < d as u64) {
            match reader.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => reading = recorder.push(&chunk[..n]),
            }
        }
        if declared.is_some_and(|d| recorder.len() < d as u64) {
            recorder.mark_truncated();
        }
    }
    recorder.finish()
}

/// Decodes a chunked body as far as it is well-formed.
fn decode_chunked(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            break;
        };
        let start = line_end + 2;
        if size == 0 || raw.len() < start + size {
            if size > 0 {
                out.extend_from_slice(&raw[start.min(raw.len())..]);
            }
            break;
        }
        out.extend_from_slice(&raw[start..start + size]);
        raw = raw.get(start + size + 2..).unwrap_or(&[]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_chunked() {
        assert_eq!(
            decode_chunked(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"),
            b"abcde"
        );
        assert_eq!(decode_chunked(b"5\r\nab"), b"ab");
        assert_eq!(decode_chunked(b"zz\r\n"), b"");
    }

    #[tokio::test]
    async fn records_an_answer_sent_before_the_body_is_complete() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut first = vec![0u8; 1024];
            let _ = socket.read(&mut first).await;
            let body = br#"{"errcode":"M_TOO_LARGE","error":"too large"}"#;
            let head = format!(
                "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            socket.write_all(head.as_bytes()).await.unwrap();
            socket.write_all(body).await.unwrap();
            // Close without reading the rest: the client's later writes fail.
        });
        let url = url::Url::parse(&format!("http://{addr}/upload")).unwrap();
        let req = OutgoingRequest {
            method: "POST".into(),
            url: url.to_string(),
            headers: vec![("Content-Type".into(), "application/octet-stream".into())],
            body: crate::client::RequestBody::Zeros(8 * 1024 * 1024),
            timeout: Duration::from_secs(10),
        };
        let response = send(&url, &req, 1024).await.unwrap();
        assert_eq!(response.status, 413);
        assert_eq!(response.json().unwrap()["errcode"], "M_TOO_LARGE");
        assert!(!response.truncated);
    }
}
