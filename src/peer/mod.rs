//! The tester acting as a remote homeserver ("peer", `$MOCK` in the checklist): the HTTPS server
//! a target homeserver federates with, and the server key documents it publishes and judges.
//!
//! * [`tls`]: a throw-away CA plus a leaf certificate for the peer's server name (in memory).
//! * [`key_document`]: building our self-signed `/_matrix/key/v2/server` document and judging a
//!   target's (F-31). Pure.
//! * [`server`]: [`Peer`], the running server: key endpoints, request observations, key
//!   rotation (K-01, K-02).
//!
//! What it does not do: sign or send federation requests to the target (that is
//! [`crate::federation`] plus the runner), serve mock media (a later issue), or configure the
//! target to trust the CA (the operator does that with the written CA file).

pub mod key_document;
pub mod media;
pub mod response;
pub mod scenario;
pub mod server;
pub mod signature;
pub mod standalone;
pub mod tls;

pub use key_document::{
    KeyDocProblem, KeyDocumentError, OldKey, check_server_key_document, server_key_document,
};
pub use server::{Observation, Peer, PeerConfig, PeerError};
pub use tls::{PeerTls, TlsError};

/// The peer's server name when none is given: `localhost:PORT` for a loopback or unspecified
/// listen address (some servers refuse to fetch keys from an IP-literal server name, and the
/// peer's certificate has a `localhost` name), else the listen address itself.
pub fn default_server_name(listen: std::net::SocketAddr) -> String {
    if listen.ip().is_loopback() || listen.ip().is_unspecified() {
        format!("localhost:{}", listen.port())
    } else {
        listen.to_string()
    }
}

/// Whether a server name's host is an IP literal (`127.0.0.1:8448`, `[::1]:8448`).
pub fn is_ip_literal(server_name: &str) -> bool {
    let host = match server_name.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => server_name.rsplit_once(':').map_or(server_name, |(h, _)| h),
    };
    host.parse::<std::net::IpAddr>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_name_is_localhost_on_loopback() {
        let name = |a: &str| default_server_name(a.parse().unwrap());
        assert_eq!(name("127.0.0.1:8448"), "localhost:8448");
        assert_eq!(name("[::1]:9000"), "localhost:9000");
        assert_eq!(name("0.0.0.0:8448"), "localhost:8448");
        assert_eq!(name("192.0.2.7:8448"), "192.0.2.7:8448");
    }

    #[test]
    fn ip_literals_are_recognised() {
        assert!(is_ip_literal("127.0.0.1:8448"));
        assert!(is_ip_literal("[::1]:8448"));
        assert!(is_ip_literal("10.1.2.3"));
        assert!(!is_ip_literal("localhost:8448"));
        assert!(!is_ip_literal("example.org"));
    }
}
