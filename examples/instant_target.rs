//! An instant local target for the benchmark: the fault-matrix fake homeserver
//! (`tests/support/fake_target.rs`, no faults) on 127.0.0.1, answering every request at once
//! from memory. Prints `URL http://127.0.0.1:PORT` on stdout, then serves until its standard
//! input closes (the benchmark holds a pipe to it) or it is killed.
//!
//! `cargo run --release --example instant_target`

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::{BufRead, Write};

use support::fake_target::{FakeTarget, Fault};

#[tokio::main]
async fn main() {
    let fake = FakeTarget::start(Fault::None).await;
    println!("URL {}", fake.url());
    let _ = std::io::stdout().flush();
    // Serve until stdin reaches end of file.
    let _ = tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        let mut line = String::new();
        let mut lock = stdin.lock();
        while lock.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            line.clear();
        }
    })
    .await;
    drop(fake);
}
