//! Server discovery: where a remote homeserver reaches the target's federation API, found as
//! the spec's "Resolving server names" section says (server-server API, v1.11): an IP literal
//! or an explicit port is used as it is; otherwise `https://<name>/.well-known/matrix/server`
//! may delegate, then SRV `_matrix-fed._tcp` (and the deprecated `_matrix._tcp`), then port
//! 8448. The rules are pure ([`resolve`] over a [`Lookup`]); the network side is
//! [`NetLookup`].

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use crate::client::http::Redirects;
use crate::client::{HttpClient, OutgoingRequest};

/// Where the federation API is, and how that was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// `https://host:port` (an SRV target's address is reached under [`Discovered::tls_name`]).
    pub url: String,
    /// The name the TLS certificate must be valid for (and the `Host` the spec asks for).
    pub tls_name: String,
    /// When SRV named another host: connect there, but verify `tls_name`.
    pub connect_to: Option<(String, u16)>,
    /// The steps that led here, for the preflight line.
    pub how: String,
}

/// What discovery asks the network.
pub trait Lookup {
    /// The `m.server` of `https://<host>/.well-known/matrix/server`; `Err` says why there is
    /// none (no answer, not 200, not JSON, no `m.server`).
    fn well_known(&self, host: &str) -> impl Future<Output = Result<String, String>> + Send;
    /// SRV records of `name` (e.g. `_matrix-fed._tcp.example.org`) as (target, port), best
    /// first; empty when there are none.
    fn srv(&self, name: &str) -> impl Future<Output = Vec<(String, u16)>> + Send;
}

/// Splits `host[:port]`, with IPv6 literals in brackets.
fn split_host_port(name: &str) -> (String, Option<u16>) {
    if let Some(rest) = name.strip_prefix('[')
        && let Some((ip, after)) = rest.split_once(']')
    {
        let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
        return (format!("[{ip}]"), port);
    }
    match name.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host.to_string(), Some(p)),
            Err(_) => (name.to_string(), None),
        },
        _ => (name.to_string(), None),
    }
}

fn is_ip_literal(host: &str) -> bool {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .is_ok()
}

fn direct(host: &str, port: u16, how: String) -> Discovered {
    Discovered {
        url: format!("https://{host}:{port}"),
        tls_name: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        connect_to: None,
        how,
    }
}

/// Steps 3.3–3.5 / 4–6: SRV for `host`, then `host:8448`.
async fn by_srv(host: &str, lookup: &impl Lookup, mut how: Vec<String>) -> Discovered {
    for service in ["_matrix-fed._tcp", "_matrix._tcp"] {
        let name = format!("{service}.{host}");
        if let Some((target, port)) = lookup.srv(&name).await.into_iter().next() {
            let target = target.trim_end_matches('.').to_string();
            how.push(format!("SRV {name} → {target}:{port}"));
            let mut found = direct(host, port, how.join("; "));
            if target != host {
                found.connect_to = Some((target, port));
            }
            return found;
        }
        how.push(format!("no SRV {name}"));
    }
    how.push("port 8448".to_string());
    direct(host, 8448, how.join("; "))
}

/// Resolves `server_name` to the federation API's address.
pub async fn resolve(server_name: &str, lookup: &impl Lookup) -> Discovered {
    let (host, port) = split_host_port(server_name);
    if is_ip_literal(&host) {
        return direct(
            &host,
            port.unwrap_or(8448),
            format!("{server_name} is an IP literal"),
        );
    }
    if let Some(port) = port {
        return direct(&host, port, format!("{server_name} names its port"));
    }
    match lookup.well_known(&host).await {
        Ok(delegated) => {
            let how = vec![format!(
                "https://{host}/.well-known/matrix/server delegates to {delegated}"
            )];
            let (dhost, dport) = split_host_port(&delegated);
            if is_ip_literal(&dhost) {
                return direct(&dhost, dport.unwrap_or(8448), how.join("; "));
            }
            if let Some(dport) = dport {
                return direct(&dhost, dport, how.join("; "));
            }
            by_srv(&dhost, lookup, how).await
        }
        Err(why) => {
            let how = vec![format!("no .well-known delegation ({why})")];
            by_srv(&host, lookup, how).await
        }
    }
}

/// The real network: `.well-known` over HTTPS through the run's own client (so with the run's
/// certificate policy), SRV from the system's resolver.
pub struct NetLookup {
    pub http: HttpClient,
    pub timeout: Duration,
    /// The HTTPS port of `.well-known` (443; `MEDIACONF_WELL_KNOWN_PORT` for a local test).
    pub well_known_port: u16,
}

/// Longest `.well-known/matrix/server` document read.
const MAX_WELL_KNOWN: usize = 64 * 1024;

/// Most redirects a `.well-known` request follows.
const WELL_KNOWN_REDIRECTS: usize = 3;

impl NetLookup {
    /// `.well-known` goes through `http`, each request bounded by `timeout`.
    pub fn new(http: HttpClient, timeout: Duration) -> Self {
        let well_known_port = std::env::var("MEDIACONF_WELL_KNOWN_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
            .unwrap_or(443);
        NetLookup {
            http,
            timeout,
            well_known_port,
        }
    }
}

impl Lookup for NetLookup {
    async fn well_known(&self, host: &str) -> Result<String, String> {
        let url = format!(
            "https://{host}:{}/.well-known/matrix/server",
            self.well_known_port
        );
        let request = OutgoingRequest::get(url.clone(), self.timeout);
        let exchange = self
            .http
            .send_with(request, Redirects::AnyGet(WELL_KNOWN_REDIRECTS))
            .await;
        let response = exchange.response.map_err(|e| e.to_string())?;
        if response.status != 200 {
            return Err(format!("{url} answered {}", response.status));
        }
        if response.body_len > MAX_WELL_KNOWN as u64 {
            return Err(format!("{url} answered more than 64 KiB"));
        }
        let json: serde_json::Value = serde_json::from_slice(&response.body)
            .map_err(|e| format!("{url} is not JSON: {e}"))?;
        json.get("m.server")
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("{url} has no m.server string"))
    }

    async fn srv(&self, name: &str) -> Vec<(String, u16)> {
        // MEDIACONF_DNS_SERVER=ADDR:PORT asks that server instead of the system's resolvers
        // (a local test's fake DNS).
        let test_server = std::env::var("MEDIACONF_DNS_SERVER")
            .ok()
            .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
        let builder = match test_server {
            Some(addr) => {
                use hickory_resolver::config::{
                    ConnectionConfig, NameServerConfig, ResolverConfig,
                };
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let server = NameServerConfig::new(addr.ip(), true, vec![udp]);
                hickory_resolver::Resolver::builder_with_config(
                    ResolverConfig::from_parts(None, Vec::new(), vec![server]),
                    hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
                )
            }
            None => match hickory_resolver::Resolver::builder_tokio() {
                Ok(builder) => builder,
                Err(_) => return Vec::new(),
            },
        };
        let Ok(resolver) = builder.build() else {
            return Vec::new();
        };
        let Ok(lookup) = resolver.srv_lookup(format!("{name}.")).await else {
            return Vec::new();
        };
        let mut records: Vec<(u16, u16, String, u16)> = lookup
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                hickory_resolver::proto::rr::RData::SRV(srv) => {
                    Some((srv.priority, srv.weight, srv.target.to_string(), srv.port))
                }
                _ => None,
            })
            .collect();
        // Lowest priority first, then highest weight.
        records.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        records.into_iter().map(|(_, _, t, p)| (t, p)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        well_known: HashMap<String, String>,
        srv: HashMap<String, (String, u16)>,
    }

    impl Lookup for Fake {
        async fn well_known(&self, host: &str) -> Result<String, String> {
            self.well_known
                .get(host)
                .cloned()
                .ok_or_else(|| "404".to_string())
        }
        async fn srv(&self, name: &str) -> Vec<(String, u16)> {
            self.srv.get(name).cloned().into_iter().collect()
        }
    }

    fn run(name: &str, fake: &Fake) -> Discovered {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(resolve(name, fake))
    }

    #[test]
    fn ip_literals_and_explicit_ports_are_used_as_they_are() {
        let fake = Fake::default();
        assert_eq!(run("127.0.0.1:18448", &fake).url, "https://127.0.0.1:18448");
        assert_eq!(run("127.0.0.1", &fake).url, "https://127.0.0.1:8448");
        assert_eq!(run("[::1]:9000", &fake).url, "https://[::1]:9000");
        let named = run("example.org:8443", &fake);
        assert_eq!(
            (named.url.as_str(), named.tls_name.as_str()),
            ("https://example.org:8443", "example.org")
        );
    }

    #[test]
    fn well_known_delegates_then_srv_then_8448() {
        let mut fake = Fake::default();
        fake.well_known
            .insert("example.org".into(), "matrix.example.org".into());
        fake.srv.insert(
            "_matrix-fed._tcp.matrix.example.org".into(),
            ("fed1.example.net.".into(), 8449),
        );
        let d = run("example.org", &fake);
        assert_eq!(d.url, "https://matrix.example.org:8449");
        assert_eq!(d.tls_name, "matrix.example.org");
        assert_eq!(d.connect_to, Some(("fed1.example.net".into(), 8449)));
        assert!(
            d.how.contains("delegates to matrix.example.org"),
            "{}",
            d.how
        );

        fake.well_known
            .insert("example.com".into(), "10.0.0.1:4443".into());
        assert_eq!(run("example.com", &fake).url, "https://10.0.0.1:4443");

        let mut plain = Fake::default();
        plain.srv.insert(
            "_matrix._tcp.old.example".into(),
            ("old.example".into(), 8500),
        );
        let d = run("old.example", &plain);
        assert_eq!(d.url, "https://old.example:8500");
        assert_eq!(d.connect_to, None);
        assert!(
            d.how.contains("no SRV _matrix-fed._tcp.old.example"),
            "{}",
            d.how
        );

        let d = run("nothing.example", &Fake::default());
        assert_eq!(d.url, "https://nothing.example:8448");
        assert!(d.how.ends_with("port 8448"), "{}", d.how);
    }
}
