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
