//! The connection layer under [`HttpClient`](super::http::HttpClient): hyper's pooled HTTP/1
//! client over TCP or rustls, and nothing else. reqwest, which this replaced for target
//! requests, adds layers the tester does not use (its redirect policy re-parses the URL of every
//! response, a retry layer, per-request timers) that cost several percent of a quick run's CPU;
//! redirects, timeouts, body caps and decoding are the `HttpClient`'s own.
//!
//! Certificates are checked like reqwest did: the platform's verifier (the system's roots, plus
//! the CA of a `--image` container), or nothing at all with `--insecure`.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};
use hyper_util::rt::TokioExecutor;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

/// How long a TCP connect may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A pooled client; clones share the pool.
pub type Transport = Client<hyper_rustls::HttpsConnector<HttpConnector<Resolver>>, Full<Bytes>>;

/// Builds the client. `resolve` sends one host name to fixed addresses (an SRV target reached
/// under the server name its certificate must be valid for); the URL's port is used.
/// `extra_roots` are trusted besides the system's roots (the CA of a `--image` container).
pub fn build(
    accept_invalid_certs: bool,
    resolve: Option<(&str, &[SocketAddr])>,
    extra_roots: &[CertificateDer<'static>],
) -> Result<Transport, String> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous();
    // ALPN: the connector sets `http/1.1` itself (`enable_http1`).
    let tls = if accept_invalid_certs {
        builder.with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
    } else {
        let verifier = if extra_roots.is_empty() {
            rustls_platform_verifier::Verifier::new(provider)
        } else {
            rustls_platform_verifier::Verifier::new_with_extra_roots(
                extra_roots.iter().cloned(),
                provider,
            )
        }
        .map_err(|e| format!("cannot load the system's TLS roots: {e}"))?;
        builder.with_custom_certificate_verifier(Arc::new(verifier))
    }
    .with_no_client_auth();

    let resolver = Resolver {
        fixed: resolve.map(|(name, addrs)| Arc::new((name.to_ascii_lowercase(), addrs.to_vec()))),
        system: GaiResolver::new(),
    };
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector))
}

/// Name resolution: the fixed addresses for the one overridden name, the system's otherwise.
#[derive(Clone)]
pub struct Resolver {
    fixed: Option<Arc<(String, Vec<SocketAddr>)>>,
    system: GaiResolver,
}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for Resolver {
    type Response = Addrs;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, std::io::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), std::io::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        if let Some(fixed) = &self.fixed
            && fixed.0.eq_ignore_ascii_case(name.as_str())
        {
            let addrs = fixed.1.clone();
            return Box::pin(async move { Ok(addrs.into_iter()) });
        }
        let mut system = self.system.clone();
        Box::pin(async move {
            let addrs = system.call(name).await?;
            Ok(addrs.collect::<Vec<_>>().into_iter())
        })
    }
}

/// `--insecure`: any certificate, and any handshake signature, is accepted (as reqwest's
/// `danger_accept_invalid_certs` did).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use tower_service::Service;

    fn resolver(name: &str, addrs: &[SocketAddr]) -> Resolver {
        Resolver {
            fixed: Some(Arc::new((name.to_ascii_lowercase(), addrs.to_vec()))),
            system: GaiResolver::new(),
        }
    }

    #[tokio::test]
    async fn the_overridden_name_goes_to_its_fixed_addresses_whatever_its_case() {
        let addr: SocketAddr = "127.0.0.9:1".parse().unwrap();
        let mut r = resolver("Matrix.Example.ORG", &[addr]);
        let got: Vec<_> = r
            .call(Name::from_str("matrix.example.org").unwrap())
            .await
            .unwrap()
            .collect();
        assert_eq!(got, vec![addr]);
    }

    #[tokio::test]
    async fn other_names_go_to_the_system_resolver() {
        let mut r = resolver("matrix.example.org", &["127.0.0.9:1".parse().unwrap()]);
        let got: Vec<_> = r
            .call(Name::from_str("localhost").unwrap())
            .await
            .unwrap()
            .collect();
        assert!(
            !got.is_empty() && got.iter().all(|a| a.ip().is_loopback()),
            "{got:?}"
        );
    }

    #[test]
    fn both_certificate_modes_build() {
        assert!(build(true, None, &[]).is_ok());
        assert!(
            build(
                false,
                Some(("a.example", &["127.0.0.1:0".parse().unwrap()])),
                &[]
            )
            .is_ok()
        );
    }

    #[test]
    fn an_extra_ca_is_trusted_and_a_broken_one_refused() {
        let ca = crate::peer::tls::generate_ca().unwrap();
        use super::super::http::HttpClient;
        let trusting = |pem| HttpClient::trusting(1024, Default::default(), false, Some(pem));
        assert!(trusting(&ca.cert_pem).is_ok());
        assert!(trusting("no certificate here").is_err());
    }
}
