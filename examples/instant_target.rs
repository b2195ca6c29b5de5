//! An instant local target for the benchmark: the fault-matrix fake homeserver
//! (`tests/support/fake_target.rs`, no faults) on 127.0.0.1, answering every request at once
//! from memory. Prints `URL http://127.0.0.1:PORT` on stdout, then serves until its standard
//! input closes (the benchmark holds a pipe to it) or it is killed.
//!
//! `cargo run --release --example instant_target`

#[allow(dead_code)]
mod common;

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use support::fake_target::{FakeTarget, Fault};

#[tokio::main]
async fn main() {
    let fake = FakeTarget::start(Fault::None).await;
    common::announce_and_wait(&fake.url()).await;
    drop(fake);
}
