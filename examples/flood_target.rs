//! The memory benchmark's target: the fault-matrix fake homeserver behind the hostile front
//! (`tests/hostile_support`), correct for discovery, registration and uploads, and answering
//! 1 GiB to every media request (downloads: a 1 GiB `Content-Length` body; thumbnails: an
//! endless chunked body; federation media: tiny multipart parts whose close delimiter never
//! comes). Prints `URL http://127.0.0.1:PORT`, serves until its standard input closes, then
//! prints `FLOODED n` (how many requests got 1 GiB).
//!
//! `cargo run --release --example flood_target`

#[allow(dead_code)]
mod common;

#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/hostile_support/mod.rs"]
mod hostile_support;

use hostile_support::{Behaviour, Place};
use support::fake_target::{FakeTarget, Fault};

#[tokio::main]
async fn main() {
    let fake = FakeTarget::start(Fault::None).await;
    let front = hostile_support::start(&fake.url(), Place::AllMedia, Behaviour::Flood).await;
    common::announce_and_wait(&front.url()).await;
    println!(
        "FLOODED {}",
        front.misbehaved.load(std::sync::atomic::Ordering::Relaxed)
    );
    drop(front);
    drop(fake);
}
