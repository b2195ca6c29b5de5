//! Running a homeserver's Complement image for a run (`mediaconf run --image IMAGE`).
//!
//! The Complement image contract (matrix-org/complement README, "Image requirements" and
//! "Complement PKI"): client API on 8008 (plain HTTP), federation on 8448 (HTTPS), the server
//! name from `SERVER_NAME`, a CA mounted at `/complement/ca/ca.crt` and `ca.key` that the server
//! signs its certificate with and trusts, `complement` as the registration shared secret, and
//! `GET /_matrix/client/versions` answering 200 once up. [`runtime`] finds Docker or Podman and
//! holds what Podman needs on these machines; [`image`] starts, watches and removes one
//! container.

pub mod image;
pub mod log_window;
pub mod run;
pub mod runtime;

use std::process::Stdio;
use std::sync::Mutex;

use runtime::Runtime;

/// Containers started and not yet removed, with the runtime that started each.
/// [`remove_all_now`] removes them when the process must exit at once (a second interrupt).
static LIVE: Mutex<Vec<(Runtime, String)>> = Mutex::new(Vec::new());

fn register(runtime: &Runtime, id: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push((runtime.clone(), id.to_owned()));
    }
}

/// Stops and removes the container `id` (blocking), and forgets it.
fn remove(runtime: &Runtime, id: &str) {
    let _ = runtime
        .command()
        .args(["rm", "--force", "--time", "2", id])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, i)| i != id);
    }
}

/// Removes every container this process started that is still there (blocking). Called before
/// the process exits without unwinding.
pub fn remove_all_now() {
    let live = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (runtime, id) in live {
        remove(&runtime, &id);
    }
}
