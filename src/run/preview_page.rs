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

/// The same page with an absolute `og:image` URL (`{image}` is replaced), so a server that
/// resolves only one of the two forms shows up in one case instead of failing every preview.
const PAGE_ABSOLUTE: &str = r#"<!doctype html>
<html><head><meta charset="utf-8">
<title>mediaconf preview page (absolute image)</title>
<meta property="og:title" content="mediaconf preview page (absolute image)">
<meta property="og:image" content="{image}">
</head><body><p>mediaconf preview page</p></body></html>
"#;

/// The `og:title` both pages carry at the start; the preflight probe looks for it.
pub const PAGE_TITLE: &str = "mediaconf preview page";

/// A running page server.
pub struct PreviewPage {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl PreviewPage {
    /// Binds `listen` (`127.0.0.1:0` picks a free port) and serves `/page.html` (relative
    /// `og:image`), `/page-absolute.html` (absolute `og:image`) and `/image.png`.
    pub async fn start(listen: SocketAddr) -> std::io::Result<Self> {
        let png = embedded::fixture("image-640x480.png").unwrap_or_default();
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let absolute = PAGE_ABSOLUTE.replace("{image}", &format!("http://{addr}/image.png"));
        let app = Router::new()
            .route(
                "/page.html",
                get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE) }),
            )
            .route(
                "/page-absolute.html",
                get(move || async move {
                    (
                        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                        absolute,
                    )
                }),
            )
            .route(
                "/image.png",
                get(move || async move { ([(header::CONTENT_TYPE, "image/png")], png) }),
            );
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

    pub fn absolute_page_url(&self) -> String {
        format!("http://{}/page-absolute.html", self.addr)
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
