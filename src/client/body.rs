//! Recording a response body as it streams: every byte up to the read cap is counted, and a
//! prefix is kept in memory. A body longer than the prefix is hashed as it arrives; a body that
//! fits is hashed only if a check asks (most never do).
//!
//! The checks need the whole body only as a length and a SHA-256 (body equality); everything
//! else they read (JSON error bodies, image headers, multipart framing of the small media this
//! tester uploads) fits in the kept prefix. So a target that answers a gigabyte costs the
//! prefix, not the gigabyte, per request in flight.

use sha2::{Digest, Sha256};

/// Most body bytes kept in memory per response (the rest is counted and hashed).
pub const KEPT_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Streams one body: feed chunks with [`BodyRecorder::push`] until it says stop or the body
/// ends, then [`BodyRecorder::finish`].
pub struct BodyRecorder {
    keep: usize,
    cap: u64,
    kept: Vec<u8>,
    /// Started when the body outgrows the kept prefix (with the prefix hashed first).
    hasher: Option<Sha256>,
    len: u64,
    truncated: bool,
}

/// A finished body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedBody {
    /// The first bytes (at most the keep limit).
    pub kept: Vec<u8>,
    /// Bytes received (up to the cap).
    pub len: u64,
    /// Hex SHA-256 of the `len` bytes received, when they did not all fit in `kept`; `None`
    /// when `kept` is the whole body (see [`RecordedBody::sha256`]).
    pub sha256: Option<String>,
    /// The body went past the cap and was not read to the end.
    pub truncated: bool,
}

impl BodyRecorder {
    /// Reads at most `cap` bytes, keeps at most `keep` (and never more than `cap`).
    pub fn new(cap: usize, keep: usize) -> Self {
        BodyRecorder {
            keep: keep.min(cap),
            cap: cap as u64,
            kept: Vec::new(),
            hasher: None,
            len: 0,
            truncated: false,
        }
    }

    /// Takes the next chunk; returns `false` once the cap is passed (stop reading).
    pub fn push(&mut self, chunk: &[u8]) -> bool {
        let room_to_cap = usize::try_from(self.cap.saturating_sub(self.len)).unwrap_or(usize::MAX);
        let counted = chunk.get(..chunk.len().min(room_to_cap)).unwrap_or(chunk);
        if self.hasher.is_none() && self.len + counted.len() as u64 > self.keep as u64 {
            // Until now every byte was kept: hash them, then go on hashing as bytes arrive.
            let mut hasher = Sha256::new();
            hasher.update(&self.kept);
            self.hasher = Some(hasher);
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(counted);
        }
        self.len += counted.len() as u64;
        let room_to_keep = self.keep.saturating_sub(self.kept.len());
        if room_to_keep > 0 {
            let wanted = counted.len().min(room_to_keep);
            if self.kept.capacity() - self.kept.len() < wanted {
                // Room for this chunk, doubling for later ones, never past the keep limit (most
                // bodies are one small chunk: no 16 KiB buffer for a 100-byte JSON answer).
                let target = (self.kept.len() + wanted)
                    .max(self.kept.capacity() * 2)
                    .min(self.keep);
                self.kept.reserve_exact(target - self.kept.len());
            }
            self.kept
                .extend_from_slice(counted.get(..wanted).unwrap_or(counted));
        }
        if counted.len() < chunk.len() {
            self.truncated = true;
            return false;
        }
        true
    }

    /// Bytes received so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Nothing received yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Marks the body as cut short (e.g. fewer bytes than its `Content-Length`).
    pub fn mark_truncated(&mut self) {
        self.truncated = true;
    }

    pub fn finish(self) -> RecordedBody {
        RecordedBody {
            kept: self.kept,
            len: self.len,
            sha256: self.hasher.map(|h| crate::digest::hex(&h.finalize())),
            truncated: self.truncated,
        }
    }
}

impl RecordedBody {
    /// The response this body ends, with its status line and headers.
    pub fn into_response(
        self,
        status: u16,
        headers: Vec<(String, String)>,
    ) -> crate::exchange::RecordedResponse {
        crate::exchange::RecordedResponse {
            status,
            headers,
            body: self.kept,
            body_len: self.len,
            body_sha256: self.sha256,
            truncated: self.truncated,
        }
    }

    /// Hex SHA-256 of the `len` bytes received.
    pub fn sha256(&self) -> String {
        self.sha256
            .clone()
            .unwrap_or_else(|| crate::digest::sha256_hex(&self.kept))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256_hex;

    #[test]
    fn keeps_a_prefix_and_hashes_everything_up_to_the_cap() {
        let mut r = BodyRecorder::new(10, 4);
        assert!(r.push(b"abc"));
        assert!(r.push(b"defg"));
        assert!(!r.push(b"hijkl"), "the cap (10) is passed");
        let body = r.finish();
        assert_eq!(body.kept, b"abcd");
        assert_eq!(body.len, 10);
        assert_eq!(body.sha256(), sha256_hex(b"abcdefghij"));
        assert!(body.truncated);
    }

    #[test]
    fn a_small_body_takes_its_own_size_and_growth_stops_at_the_keep_limit() {
        let mut r = BodyRecorder::new(usize::MAX, 1000);
        assert!(r.push(&[1u8; 100]));
        assert_eq!(r.kept.capacity(), 100);
        assert!(r.push(&[2u8; 150]));
        assert_eq!(
            r.kept.capacity(),
            250,
            "room for the chunk (more than double)"
        );
        assert!(r.push(&[3u8; 10]));
        assert_eq!(r.kept.capacity(), 500, "doubling");
        assert!(r.push(&[4u8; 900]));
        let body = r.finish();
        assert_eq!((body.kept.len(), body.kept.capacity()), (1000, 1000));
    }

    #[test]
    fn a_body_that_fits_is_hashed_only_when_asked() {
        let mut r = BodyRecorder::new(100, 8);
        assert!(r.push(b"abc"));
        assert!(r.push(b"defgh"));
        let body = r.finish();
        assert_eq!(
            body.sha256, None,
            "all 8 bytes are kept: nothing hashed yet"
        );
        assert_eq!(body.sha256(), sha256_hex(b"abcdefgh"));
    }

    #[test]
    fn a_body_that_outgrows_the_prefix_mid_chunk_hashes_every_byte() {
        for split in 0..=9 {
            let whole = b"0123456789";
            let mut r = BodyRecorder::new(100, 4);
            assert!(r.push(&whole[..split]));
            assert!(r.push(&whole[split..]));
            let body = r.finish();
            assert_eq!(body.kept, b"0123");
            assert_eq!(body.len, 10);
            assert_eq!(body.sha256(), sha256_hex(whole), "split at {split}");
        }
    }

    #[test]
    fn a_body_exactly_at_the_cap_is_not_truncated() {
        let mut r = BodyRecorder::new(4, 8);
        assert!(r.push(b"abcd"));
        let body = r.finish();
        assert_eq!(
            (body.kept.as_slice(), body.len, body.truncated),
            (&b"abcd"[..], 4, false)
        );
    }

    #[test]
    fn memory_stays_at_the_keep_limit() {
        let mut r = BodyRecorder::new(usize::MAX, 1024);
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..100 {
            assert!(r.push(&chunk));
        }
        let body = r.finish();
        assert_eq!(body.kept.len(), 1024);
        assert_eq!(body.kept.capacity(), 1024);
        assert_eq!(body.len, 6_553_600);
    }
}
