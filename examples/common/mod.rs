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

/// The mediaconf binary the benchmarks run: `MEDIACONF_BIN`, else the debug build.
pub fn mediaconf_bin() -> std::path::PathBuf {
    std::env::var_os("MEDIACONF_BIN").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/debug/mediaconf"),
        std::path::PathBuf::from,
    )
}

/// Runs `mediaconf run --no-config --quiet --color never ARGS --target TARGET --json …` and
/// returns the JSON report's text (or why there is none).
pub async fn run_for_report(args: &[&str], target: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let json = dir.path().join("report.json");
    let mut cmd = std::process::Command::new(mediaconf_bin());
    cmd.args(["run", "--no-config", "--quiet", "--color", "never"])
        .args(args)
        .arg("--target")
        .arg(target)
        .arg("--json")
        .arg(&json)
        .env_remove("MEDIACONF_TARGET");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", mediaconf_bin().display()))?;
    std::fs::read_to_string(&json)
        .map_err(|e| format!("no report ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}
