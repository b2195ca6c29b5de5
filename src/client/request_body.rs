//! What a request sends: the method, URL, headers and body of an [`OutgoingRequest`], where the
//! body is bytes, or a run of zero bytes that is generated as it is
//! written. The over-the-limit uploads send 50 MiB and more; as generated zeros they are
//! written from one small block that stays in cache, instead of from a buffer of that size
//! whose every page the kernel would first have to map.

use std::time::Duration;

use bytes::Bytes;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: RequestBody,
    pub timeout: Duration,
}

impl OutgoingRequest {
    /// A `GET` of `url` without headers or body.
    pub fn get(url: impl Into<String>, timeout: Duration) -> Self {
        OutgoingRequest {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: RequestBody::default(),
            timeout,
        }
    }
}

/// Size of the block zero bodies are written from.
pub const ZERO_BLOCK: usize = 256 * 1024;

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestBody {
    /// These bytes.
    Bytes(Bytes),
    /// This many zero bytes.
    Zeros(usize),
}

impl Default for RequestBody {
    fn default() -> Self {
        RequestBody::Bytes(Bytes::new())
    }
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody::Bytes(bytes)
    }
}

impl From<Vec<u8>> for RequestBody {
    fn from(bytes: Vec<u8>) -> Self {
        RequestBody::Bytes(bytes.into())
    }
}

impl RequestBody {
    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            RequestBody::Bytes(b) => b.len(),
            RequestBody::Zeros(n) => *n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when the body is given as bytes (JSON bodies, which X-Matrix signs, always are).
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            RequestBody::Bytes(b) => Some(b),
            RequestBody::Zeros(_) => None,
        }
    }

    /// The body in pieces of at most `max` bytes, in order; zero bodies repeat one shared block.
    pub fn pieces(&self, max: usize) -> impl Iterator<Item = Bytes> + Send + 'static {
        let max = max.clamp(1, ZERO_BLOCK);
        let (source, total) = match self {
            RequestBody::Bytes(b) => (b.clone(), b.len()),
            RequestBody::Zeros(n) => (zero_block(), *n),
        };
        let repeat = matches!(self, RequestBody::Zeros(_));
        let mut offset = 0;
        std::iter::from_fn(move || {
            if offset >= total {
                return None;
            }
            let n = max.min(total - offset);
            let piece = if repeat {
                source.slice(..n)
            } else {
                source.slice(offset..offset + n)
            };
            offset += n;
            Some(piece)
        })
    }

    /// The whole body as one buffer (for the general client, which wants bytes: `https`
    /// targets). Zeros are sliced from one buffer shared by the run, allocated once at the
    /// largest size asked for, so two concurrent 50 MiB uploads do not hold two copies.
    pub fn to_bytes(&self) -> Bytes {
        match self {
            RequestBody::Bytes(b) => b.clone(),
            RequestBody::Zeros(n) if *n <= ZERO_BLOCK => zero_block().slice(..*n),
            RequestBody::Zeros(n) => {
                static LARGE: std::sync::Mutex<Bytes> = std::sync::Mutex::new(Bytes::new());
                let mut large = LARGE
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                if large.len() < *n {
                    *large = Bytes::from(vec![0u8; *n]);
                }
                large.slice(..*n)
            }
        }
    }
}

/// One block of zeros shared by the whole run.
fn zero_block() -> Bytes {
    static BLOCK: std::sync::OnceLock<Bytes> = std::sync::OnceLock::new();
    BLOCK
        .get_or_init(|| Bytes::from(vec![0u8; ZERO_BLOCK]))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(body: &RequestBody, max: usize) -> (Vec<u8>, Vec<usize>) {
        let mut all = Vec::new();
        let mut sizes = Vec::new();
        for piece in body.pieces(max) {
            sizes.push(piece.len());
            all.extend_from_slice(&piece);
        }
        (all, sizes)
    }

    #[test]
    fn bytes_come_out_in_order_in_pieces_of_at_most_max() {
        let body = RequestBody::from(b"abcdefghij".to_vec());
        let (all, sizes) = joined(&body, 4);
        assert_eq!(all, b"abcdefghij");
        assert_eq!(sizes, [4, 4, 2]);
        assert_eq!(body.len(), 10);
        assert_eq!(body.as_bytes().map(|b| b.len()), Some(10));
    }

    #[test]
    fn zeros_are_exactly_n_zero_bytes() {
        for n in [
            0,
            1,
            ZERO_BLOCK - 1,
            ZERO_BLOCK,
            ZERO_BLOCK + 1,
            3 * ZERO_BLOCK + 17,
        ] {
            let body = RequestBody::Zeros(n);
            let (all, sizes) = joined(&body, usize::MAX);
            assert_eq!(all.len(), n, "n = {n}");
            assert!(all.iter().all(|&b| b == 0));
            assert!(sizes.iter().all(|&s| s <= ZERO_BLOCK && s > 0));
            assert_eq!(body.len(), n);
            assert_eq!(body.to_bytes().len(), n);
            assert!(body.as_bytes().is_none());
        }
        assert!(RequestBody::Zeros(0).is_empty());
        assert!(RequestBody::default().is_empty());
    }

    #[test]
    fn large_zero_buffers_are_shared_not_copied() {
        // Larger than any other test here asks for, so no concurrent test regrows the buffer.
        let big = RequestBody::Zeros(4 * ZERO_BLOCK).to_bytes();
        let smaller = RequestBody::Zeros(4 * ZERO_BLOCK - 1).to_bytes();
        assert_eq!(big.as_ptr(), smaller.as_ptr());
        assert_eq!(
            (big.len(), smaller.len()),
            (4 * ZERO_BLOCK, 4 * ZERO_BLOCK - 1)
        );
    }
}
