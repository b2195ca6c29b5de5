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
    /// `http://HOST:PORT`, as the target reaches it.
    base: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl PreviewPage {
    /// Binds `listen` (`127.0.0.1:0` picks a free port) and serves `/page.html` (relative
    /// `og:image`), `/page-absolute.html` (absolute `og:image`) and `/image.png`; its URLs
    /// name `host` (the name the target reaches this host under) or else the bound address.
    pub async fn start(listen: SocketAddr, host: Option<&str>) -> std::io::Result<Self> {
        let png = embedded::fixture("image-640x480.png").unwrap_or_default();
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let base = match host {
            Some(host) => format!("http://{host}:{}", addr.port()),
            None => format!("http://{addr}"),
        };
        let absolute = PAGE_ABSOLUTE.replace("{image}", &format!("{base}/image.png"));
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
            base,
            shutdown: Some(tx),
        })
    }

    pub fn page_url(&self) -> String {
        format!("{}/page.html", self.base)
    }

    pub fn absolute_page_url(&self) -> String {
        format!("{}/page-absolute.html", self.base)
    }

    pub fn image_url(&self) -> String {
        format!("{}/image.png", self.base)
    }
}

impl Drop for PreviewPage {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn urls_name_the_host_the_target_reaches_us_under() {
        let listen: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let page = PreviewPage::start(listen, Some("host.containers.internal"))
            .await
            .unwrap();
        let port = page.addr.port();
        assert_eq!(
            page.page_url(),
            format!("http://host.containers.internal:{port}/page.html")
        );
        let plain = PreviewPage::start(listen, None).await.unwrap();
        assert_eq!(
            plain.image_url(),
            format!("http://127.0.0.1:{}/image.png", plain.addr.port())
        );
        // The absolute og:image names the same host.
        let url = format!("http://127.0.0.1:{port}/page-absolute.html");
        let body = reqwest::get(&url).await.unwrap().text().await.unwrap();
        assert!(
            body.contains(&format!("http://host.containers.internal:{port}/image.png")),
            "{body}"
        );
    }
}
