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

use std::sync::Mutex;

/// Containers started and not yet removed: `(runtime program, its global flags, container id)`.
/// [`remove_all_now`] removes them when the process must exit at once (a second interrupt).
static LIVE: Mutex<Vec<(String, Vec<String>, String)>> = Mutex::new(Vec::new());

fn register(program: &str, flags: &[String], id: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.push((program.to_owned(), flags.to_vec(), id.to_owned()));
    }
}

fn unregister(id: &str) {
    if let Ok(mut live) = LIVE.lock() {
        live.retain(|(_, _, i)| i != id);
    }
}

/// Removes every container this process started that is still there (blocking). Called before
/// the process exits without unwinding.
pub fn remove_all_now() {
    let live = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (program, flags, id) in live {
        let _ = std::process::Command::new(&program)
            .args(&flags)
            .args(["rm", "--force", "--time", "2", &id])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        unregister(&id);
    }
}
