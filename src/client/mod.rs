//! The client side of the target: the HTTP client all requests use, and account housekeeping.

pub mod accounts;
pub mod body;
pub mod coding;
pub mod early_response;
pub mod http;
pub mod request_body;
pub mod transport;
pub mod zero_copy;

pub use accounts::{Account, AccountClient, Registration};
pub use http::HttpClient;
pub use request_body::{OutgoingRequest, RequestBody};
