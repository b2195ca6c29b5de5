//! Sending a run of zero bytes without copying it into the socket.
//!
//! The over-the-limit uploads (E-02, J-05) send `m.upload.size` + 1 bytes and more: 50 MiB each
//! against Synapse's default. Written from a buffer, every byte is copied into the socket's
//! buffers by the kernel, and that copy was the largest single cost of a `--quick` run. On Linux
//! the zeros go out with `sendfile(2)` from one small in-memory file of zeros (`memfd_create`),
//! whose pages the socket references instead of copying. Measured against a local Synapse, a
//! 50 MiB upload costs the sender 4.6 ms of system time this way and 10.5 ms written.
//!
//! Elsewhere, or where the kernel refuses (no memfd, a socket sendfile cannot write to), nothing
//! is sent here and the caller writes the zeros as before.

use tokio::net::TcpStream;

/// Sends `n` zero bytes on `stream`. Returns how many are left for the caller to write: 0 when
/// they went out here, `n` when this path is not available (nothing was sent then).
#[cfg(target_os = "linux")]
pub async fn send_zeros(stream: &TcpStream, n: usize) -> std::io::Result<usize> {
    use tokio::io::Interest;

    let Some(zeros) = linux::zero_file() else {
        return Ok(n);
    };
    let mut left = n;
    while left > 0 {
        let count = left.min(linux::ZERO_FILE_BYTES);
        let sent = stream
            .async_io(Interest::WRITABLE, || {
                // Every call reads the file from its start; the file's own offset is not used.
                let mut offset = 0u64;
                rustix::fs::sendfile(stream, zeros, Some(&mut offset), count)
                    .map_err(std::io::Error::from)
            })
            .await;
        match sent {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(k) => left -= k.min(left),
            Err(e) if left == n && linux::not_supported(&e) => return Ok(n),
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}

/// Sends `n` zero bytes on `stream`: not available on this platform, so all are left to write.
#[cfg(not(target_os = "linux"))]
pub async fn send_zeros(_stream: &TcpStream, n: usize) -> std::io::Result<usize> {
    Ok(n)
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::Write;
    use std::sync::OnceLock;

    use crate::client::request_body::{RequestBody, ZERO_BLOCK};

    /// Size of the in-memory file of zeros: each `sendfile` call sends at most this much.
    pub const ZERO_FILE_BYTES: usize = 1024 * 1024;

    /// The process's file of zeros, created on first use; `None` when it cannot be.
    pub fn zero_file() -> Option<&'static std::fs::File> {
        static FILE: OnceLock<Option<std::fs::File>> = OnceLock::new();
        FILE.get_or_init(|| {
            let fd = rustix::fs::memfd_create("mediaconf-zeros", rustix::fs::MemfdFlags::CLOEXEC)
                .ok()?;
            let mut file = std::fs::File::from(fd);
            // Written from the run's shared block of zeros, not from a buffer of its own.
            for piece in RequestBody::Zeros(ZERO_FILE_BYTES).pieces(ZERO_BLOCK) {
                file.write_all(&piece).ok()?;
            }
            Some(file)
        })
        .as_ref()
    }

    /// Whether `e` says the kernel cannot `sendfile` here (as opposed to a failed connection).
    pub fn not_supported(e: &std::io::Error) -> bool {
        let refused = [
            rustix::io::Errno::INVAL,
            rustix::io::Errno::NOSYS,
            rustix::io::Errno::OPNOTSUPP,
        ];
        e.raw_os_error()
            .is_some_and(|code| refused.iter().any(|r| r.raw_os_error() == code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    /// Sends `n` zeros to a local listener; returns what was left to write and what arrived.
    async fn send_to_listener(n: usize) -> (usize, Vec<u8>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            socket.read_to_end(&mut got).await.unwrap();
            got
        });
        let stream = TcpStream::connect(addr).await.unwrap();
        let left = send_zeros(&stream, n).await.unwrap();
        drop(stream);
        (left, reader.await.unwrap())
    }

    #[tokio::test]
    async fn exactly_n_zero_bytes_arrive_around_the_file_size() {
        for n in [
            0,
            1,
            4095,
            1024 * 1024,
            1024 * 1024 + 1,
            3 * 1024 * 1024 + 7,
        ] {
            let (left, got) = send_to_listener(n).await;
            if cfg!(target_os = "linux") {
                assert_eq!(
                    left, 0,
                    "n = {n}: the zero-copy path should have sent everything"
                );
            }
            assert_eq!(got.len(), n - left, "n = {n}");
            assert!(
                got.iter().all(|&b| b == 0),
                "n = {n}: a non-zero byte arrived"
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_refusals_fall_back() {
        assert!(linux::not_supported(&std::io::Error::from_raw_os_error(
            rustix::io::Errno::INVAL.raw_os_error()
        )));
        assert!(!linux::not_supported(&std::io::Error::from_raw_os_error(
            rustix::io::Errno::PIPE.raw_os_error()
        )));
        assert!(!linux::not_supported(
            &std::io::ErrorKind::ConnectionReset.into()
        ));
    }
}
