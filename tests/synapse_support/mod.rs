//! A loopback Synapse for the end-to-end tests (scripts/synapse.sh), in its own state directory
//! and ports, stopped when dropped; and the switch that turns those tests on.

// Shared by several test crates, each of which uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A Synapse in its own state directory and ports (sharing the default venv); stopped on drop.
pub struct Synapse {
    dir: PathBuf,
    port: u16,
    fed_port: u16,
}

impl Synapse {
    fn command(&self, action: &str) -> Command {
        let mut c = Command::new(repo().join("scripts/synapse.sh"));
        c.arg(action)
            .env("MEDIACONF_SYNAPSE_DIR", &self.dir)
            .env("MEDIACONF_SYNAPSE_VENV", repo().join("target/synapse/venv"))
            .env("MEDIACONF_SYNAPSE_PORT", self.port.to_string())
            .env("MEDIACONF_SYNAPSE_FED_PORT", self.fed_port.to_string());
        c
    }

    pub fn start(name: &str, port: u16, fed_port: u16) -> Synapse {
        Synapse::start_trusting(name, port, fed_port, None)
    }

    /// Starts Synapse; with `peer_ca`, it verifies federation certificates and trusts that CA
    /// (instead of `federation_verify_certificates: false`).
    pub fn start_trusting(name: &str, port: u16, fed_port: u16, peer_ca: Option<&Path>) -> Synapse {
        let s = Synapse {
            dir: repo().join("target").join(name),
            port,
            fed_port,
        };
        let mut command = s.command("start");
        if let Some(ca) = peer_ca {
            command.env("MEDIACONF_SYNAPSE_PEER_CA", ca);
        }
        let out = command.output().expect("run scripts/synapse.sh start");
        assert!(
            out.status.success(),
            "scripts/synapse.sh start failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        s
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        let _ = self.command("stop").output();
    }
}

/// The end-to-end tests run when `MEDIACONF_E2E=1` (scripts/test.sh sets it); otherwise each
/// says loudly that it did nothing.
pub fn e2e_enabled(test: &str) -> bool {
    let on = std::env::var("MEDIACONF_E2E").as_deref() == Ok("1");
    if !on {
        eprintln!(
            "{test}: NOT RUN — set MEDIACONF_E2E=1 (scripts/test.sh does) to run it against a real Synapse"
        );
    }
    on
}
