//! Federation-side cryptography for the tester acting as a remote homeserver: canonical JSON,
//! JSON signing, the `X-Matrix` request authentication header and the tester's own server
//! signing key.
//!
//! This module is pure logic (no network I/O); the only file I/O is the explicit key-file
//! load/save functions in [`signing_key`]. It does not fetch keys from other servers, serve the
//! key endpoint, or send requests: callers build those from these pieces.
//!
//! * [`canonical_json`]: Matrix canonical JSON, `sign_json`, `verify_json_signature`.
//! * [`signing_key`]: `SigningKey`, Synapse key-file format, base64 and signature helpers.
//! * [`xmatrix`]: signing requests, rendering headers (canonical and varied spellings),
//!   parsing and verifying received headers.

pub mod canonical_json;
pub mod signing_key;
pub mod xmatrix;

pub use canonical_json::{
    CanonicalJsonError, SignJsonError, VerifyError, sign_json, to_canonical_string,
    to_canonical_string_for_signing, verify_json_signature,
};
pub use signing_key::{KeyError, KeyFileError, SignatureCheckError, SigningKey};
pub use xmatrix::{
    HeaderStyle, HeaderVariant, Param, ParsedXMatrix, Quoting, SpecExpectation, XMatrixAuth,
    XMatrixParseError, XMatrixParseErrorKind, XMatrixVerifyError, parse_header, render_header,
    request_json, sign_request, verify_request,
};
