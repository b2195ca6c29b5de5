//! Shared by the benchmark's local targets: announcing the URL and serving until the
//! benchmark closes the pipe to standard input.

use std::io::{BufRead, Write};

/// Prints `URL <url>` and waits until standard input reaches end of file.
pub async fn announce_and_wait(url: &str) {
    println!("URL {url}");
    let _ = std::io::stdout().flush();
    let _ = tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        let mut line = String::new();
        let mut lock = stdin.lock();
        while lock.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            line.clear();
        }
    })
    .await;
}
