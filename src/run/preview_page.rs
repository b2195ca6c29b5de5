//! A tiny HTTP server on loopback serving an OpenGraph page and its image, for preview_url cases.
//! It stops when the handle is dropped.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::get;

use crate::suite::embedded;

const PAGE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8">
<title>mediaconf preview page</title>
<meta property="og:title" content="mediaconf preview page">
<meta property="og:description" content="A page served by mediaconf for URL preview tests.">
<meta property="og:image" content="/image.png">
</head><body><p>mediaconf preview page</p></body></html>
"#;

/// A running page server.
pub struct PreviewPage {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl PreviewPage {
    /// Binds 127.0.0.1 on a free port and serves `/page.html` and `/image.png`.
    pub async fn start() -> std::io::Result<Self> {
        let png = embedded::fixture("image-640x480.png").unwrap_or_default();
        let app = Router::new()
            .route(
                "/page.html",
                get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
            )
            .route(
                "/image.png",
                get(move || async move { ([(header::CONTENT_TYPE, "image/png")], png) }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(PreviewPage {
            addr,
            shutdown: Some(tx),
        })
    }

    pub fn page_url(&self) -> String {
        format!("http://{}/page.html", self.addr)
    }

    pub fn image_url(&self) -> String {
        format!("http://{}/image.png", self.addr)
    }
}

impl Drop for PreviewPage {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
