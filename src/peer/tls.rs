//! In-memory TLS material for the mock peer: a throw-away CA and a leaf certificate it signs.
//!
//! What it does: [`generate`] creates a CA (CN "mediaconf test CA") and a server certificate
//! whose subject alternative names cover the host part of the peer's server name (an IP literal
//! becomes an IP SAN, anything else a DNS SAN) plus `localhost` and `127.0.0.1`, so that a
//! homeserver told to trust the CA (Synapse: `federation_custom_ca_list`) can verify the peer.
//! Keys are ECDSA P-256; certificates are valid from yesterday for a year.
//!
//! What it does not do: no file I/O (the server writes the CA PEM where the operator asked), no
//! persistence (the server keeps the CA key next to the CA file), no client certificates, no
//! revocation.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// Common name of the generated CA.
pub const CA_COMMON_NAME: &str = "mediaconf test CA";

/// PEM-encoded TLS material for one peer run.
#[derive(Clone)]
pub struct PeerTls {
    /// The CA certificate, to be trusted by the homeserver under test.
    pub ca_pem: String,
    /// The leaf (server) certificate, signed by the CA.
    pub cert_pem: String,
    /// The leaf's private key (PKCS#8).
    pub key_pem: String,
}

impl std::fmt::Debug for PeerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerTls")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

/// Errors generating TLS material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The server name has no usable host part.
    #[error(
        "server name {server_name:?} has no usable host for a certificate (expected host, host:port, IPv4 or [IPv6] literal)"
    )]
    BadServerName {
        /// The rejected server name.
        server_name: String,
    },
    /// rcgen refused to build or sign a certificate.
    #[error("cannot generate the {what}: {source}")]
    Generate {
        /// "CA key", "CA certificate", "leaf key", …
        what: &'static str,
        /// The underlying error.
        source: rcgen::Error,
    },
}

/// The subject alternative name for the host part of `server_name`
/// (`host`, `host:port`, `1.2.3.4[:port]`, `[::1][:port]`).
pub fn san_for_server_name(server_name: &str) -> Result<SanType, TlsError> {
    let bad = || TlsError::BadServerName {
        server_name: server_name.to_owned(),
    };
    let host = if let Some(rest) = server_name.strip_prefix('[') {
        let (inner, after) = rest.split_once(']').ok_or_else(bad)?;
        if !(after.is_empty() || after.starts_with(':')) {
            return Err(bad());
        }
        let ip: IpAddr = inner.parse().map_err(|_| bad())?;
        return Ok(SanType::IpAddress(ip));
    } else {
        server_name.split_once(':').map_or(server_name, |(h, _)| h)
    };
    if host.is_empty() {
        return Err(bad());
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SanType::IpAddress(ip));
    }
    let valid = host
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !valid {
        return Err(bad());
    }
    Ok(SanType::DnsName(
        host.to_ascii_lowercase().try_into().map_err(|_| bad())?,
    ))
}

/// Gregorian date (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // The algorithm guarantees day 1..=31 and month 1..=12, so the fallbacks never apply.
    (
        i32::try_from(year).unwrap_or(i32::MAX),
        u8::try_from(month).unwrap_or(1),
        u8::try_from(day).unwrap_or(1),
    )
}

/// Sets validity from yesterday to a year from yesterday (UTC dates).
fn set_validity(params: &mut CertificateParams) {
    let today = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 86_400).unwrap_or(0));
    let (y, m, d) = civil_from_days(today - 1);
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = civil_from_days(today + 365);
    params.not_after = rcgen::date_time_ymd(y, m, d);
}

/// Generates a CA and a leaf certificate for `server_name` (see the module docs).
pub fn generate(server_name: &str) -> Result<PeerTls, TlsError> {
    let ca = generate_ca()?;
    let (cert_pem, key_pem) = issue_leaf(server_name, &ca.key_pem)?;
    Ok(PeerTls {
        ca_pem: ca.cert_pem,
        cert_pem,
        key_pem,
    })
}

/// A CA: its certificate and its private key (PEM). Kept across runs so that a target told to
/// trust the certificate keeps trusting every leaf issued later.
#[derive(Clone)]
pub struct PeerCa {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for PeerCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerCa")
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &format_args!("<redacted>"))
            .finish()
    }
}

/// The CA's parameters; the same every time, so a leaf issued with a stored CA key chains to
/// the stored CA certificate.
fn ca_params() -> CertificateParams {
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, CA_COMMON_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    set_validity(&mut ca_params);
    ca_params
}

/// A new CA (CN "mediaconf test CA").
pub fn generate_ca() -> Result<PeerCa, TlsError> {
    let err = |what| move |source| TlsError::Generate { what, source };
    let ca_key = KeyPair::generate().map_err(err("CA key"))?;
    let mut params = ca_params();
    // The stored CA certificate stays valid for ten years.
    let today = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs() / 86_400).unwrap_or(0));
    let (y, m, d) = civil_from_days(today + 3650);
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let ca_cert = params.self_signed(&ca_key).map_err(err("CA certificate"))?;
    Ok(PeerCa {
        cert_pem: ca_cert.pem(),
        key_pem: ca_key.serialize_pem(),
    })
}

/// A leaf certificate for `server_name` (plus `localhost` and `127.0.0.1`) signed with the CA
/// key `ca_key_pem`: `(certificate PEM, private key PEM)`.
pub fn issue_leaf(server_name: &str, ca_key_pem: &str) -> Result<(String, String), TlsError> {
    let err = |what| move |source| TlsError::Generate { what, source };
    let mut sans = vec![san_for_server_name(server_name)?];
    for extra in [
        SanType::DnsName("localhost".try_into().map_err(err("leaf SAN"))?),
        SanType::IpAddress(IpAddr::from([127, 0, 0, 1])),
    ] {
        if !sans.contains(&extra) {
            sans.push(extra);
        }
    }
    issue_leaf_with_sans(server_name, sans, ca_key_pem)
}

fn issue_leaf_with_sans(
    server_name: &str,
    sans: Vec<SanType>,
    ca_key_pem: &str,
) -> Result<(String, String), TlsError> {
    let err = |what| move |source| TlsError::Generate { what, source };
    let ca_key = KeyPair::from_pem(ca_key_pem).map_err(err("CA key (stored)"))?;
    let issuer = Issuer::new(ca_params(), ca_key);
    let leaf_key = KeyPair::generate().map_err(err("leaf key"))?;
    let mut leaf_params = CertificateParams::default();
    leaf_params.distinguished_name = DistinguishedName::new();
    let cn = match &sans[0] {
        SanType::IpAddress(ip) => ip.to_string(),
        SanType::DnsName(name) => name.as_str().to_owned(),
        _ => server_name.to_owned(),
    };
    leaf_params.distinguished_name.push(DnType::CommonName, cn);
    leaf_params.subject_alt_names = sans;
    leaf_params.is_ca = IsCa::ExplicitNoCa;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.use_authority_key_identifier_extension = true;
    set_validity(&mut leaf_params);
    let leaf_cert = leaf_params
        .signed_by(&leaf_key, &issuer)
        .map_err(err("leaf certificate"))?;

    Ok((leaf_cert.pem(), leaf_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(civil_from_days(20_000), (2024, 10, 4));
    }

    #[test]
    fn san_from_server_name() {
        let dns = |s: &str| SanType::DnsName(s.try_into().unwrap());
        let ip = |s: &str| SanType::IpAddress(s.parse().unwrap());
        assert_eq!(san_for_server_name("mock.test").unwrap(), dns("mock.test"));
        assert_eq!(
            san_for_server_name("Mock.Test:8448").unwrap(),
            dns("mock.test")
        );
        assert_eq!(
            san_for_server_name("127.0.0.1:9443").unwrap(),
            ip("127.0.0.1")
        );
        assert_eq!(san_for_server_name("[::1]:9443").unwrap(), ip("::1"));
        assert_eq!(san_for_server_name("[::1]").unwrap(), ip("::1"));
        for bad in [
            "",
            ":8448",
            "[::1",
            "[nothex]:1",
            "[::1]x",
            "bad host",
            "ü.test",
        ] {
            let e = san_for_server_name(bad).unwrap_err();
            assert!(matches!(e, TlsError::BadServerName { .. }), "{bad}: {e}");
        }
    }

    #[test]
    fn generates_pem() {
        let tls = generate("mock.test:8448").unwrap();
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_ne!(tls.ca_pem, tls.cert_pem);
        assert!(!format!("{tls:?}").contains(&tls.key_pem));
        assert!(generate("bad host").is_err());
    }

    /// A leaf issued in a later run from the stored CA key chains to the CA certificate written
    /// in the first run, so a target configured once keeps trusting the key server.
    #[tokio::test]
    async fn a_stored_ca_key_issues_leaves_that_chain_to_the_stored_certificate() {
        let ca = generate_ca().unwrap();
        assert!(!format!("{ca:?}").contains(&ca.key_pem));
        for _ in 0..2 {
            let (cert_pem, key_pem) = issue_leaf("127.0.0.1:8448", &ca.key_pem).unwrap();
            let tls = PeerTls {
                ca_pem: ca.cert_pem.clone(),
                cert_pem,
                key_pem,
            };
            let (addr, handle) = serve(&tls).await;
            let body = client_trusting(&ca.cert_pem, None)
                .get(format!("https://127.0.0.1:{}/", addr.port()))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body, "ok");
            let other = generate_ca().unwrap();
            let refused = client_trusting(&other.cert_pem, None)
                .get(format!("https://127.0.0.1:{}/", addr.port()))
                .send()
                .await;
            assert!(
                refused.is_err(),
                "a client trusting another CA must refuse the leaf"
            );
            handle.shutdown();
        }
        assert!(issue_leaf("127.0.0.1", "not a key").is_err());
    }

    /// Serves "ok" over TLS with `tls` on 127.0.0.1:0; returns the address and the server handle.
    async fn serve(tls: &PeerTls) -> (SocketAddr, axum_server::Handle<SocketAddr>) {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let config = axum_server::tls_rustls::RustlsConfig::from_pem(
            tls.cert_pem.clone().into_bytes(),
            tls.key_pem.clone().into_bytes(),
        )
        .await
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
        let handle = axum_server::Handle::new();
        let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
            .unwrap()
            .handle(handle.clone());
        tokio::spawn(server.serve(app.into_make_service()));
        (addr, handle)
    }

    fn client_trusting(ca_pem: &str, resolve: Option<(&str, SocketAddr)>) -> reqwest::Client {
        let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap();
        let mut b = reqwest::Client::builder().no_proxy().tls_certs_only([ca]);
        if let Some((name, addr)) = resolve {
            b = b.resolve(name, addr);
        }
        b.build().unwrap()
    }

    #[tokio::test]
    async fn leaf_verifies_against_ca_only() {
        let tls = generate("mock.test:8448").unwrap();
        let (addr, handle) = serve(&tls).await;
        let port = addr.port();

        let client = client_trusting(&tls.ca_pem, Some(("mock.test", addr)));
        for url in [
            format!("https://127.0.0.1:{port}/"),
            format!("https://localhost:{port}/"),
            format!("https://mock.test:{port}/"),
        ] {
            let resp = client.get(&url).send().await.unwrap();
            assert_eq!(resp.text().await.unwrap(), "ok", "{url}");
        }

        // A name not in the SAN fails hostname verification.
        let client = client_trusting(&tls.ca_pem, Some(("other.test", addr)));
        let err = client
            .get(format!("https://other.test:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");

        // A client trusting another CA rejects the chain.
        let other = generate("mock.test").unwrap();
        let client = client_trusting(&other.ca_pem, None);
        let err = client
            .get(format!("https://127.0.0.1:{port}/"))
            .send()
            .await
            .unwrap_err();
        assert!(err.is_connect(), "{err:?}");
        handle.shutdown();
    }

    #[tokio::test]
    async fn ip_literal_server_name() {
        let tls = generate("127.0.0.1:9443").unwrap();
        let (addr, handle) = serve(&tls).await;
        let client = client_trusting(&tls.ca_pem, None);
        let resp = client
            .get(format!("https://127.0.0.1:{}/", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        handle.shutdown();
    }
}
