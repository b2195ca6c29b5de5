//! `mediaconf peer`: the mock remote homeserver on its own, for testing federation by hand.
//! Prints its server name, the CA to trust and one `mxc://` URI per scenario, logs each request
//! as one line (and optionally as JSON lines), and stops cleanly on Ctrl-C or SIGTERM.

use std::io::Write;

use super::media::load_fixtures;
use super::scenario::Scenario;
use super::server::{Observation, Peer, PeerConfig};
use crate::cli::PeerServeArgs;
use crate::exchange::SignatureVerdict;
use crate::federation::signing_key::SigningKey;

/// Runs until interrupted; returns the exit code.
pub async fn serve(args: &PeerServeArgs) -> i32 {
    let fail = |message: String| {
        eprintln!("error: {message}");
        crate::exit_code::EXIT_USAGE
    };
    let server_name = args
        .server_name
        .clone()
        .unwrap_or_else(|| super::default_server_name(args.listen));
    let key = match SigningKey::load_or_create(&args.signing_key) {
        Ok(k) => k,
        Err(e) => {
            return fail(format!(
                "cannot use the signing key {}: {e} (pass --signing-key FILE)",
                args.signing_key.display()
            ));
        }
    };
    let (fixtures, skipped) = match &args.fixtures {
        Some(dir) => match load_fixtures(dir) {
            Ok(f) => f,
            Err(e) => return fail(format!("{e} (pass an existing directory)")),
        },
        None => (Vec::new(), Vec::new()),
    };
    let mut log_file = match &args.log_json {
        Some(path) => match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Ok(f) => Some(f),
            Err(e) => return fail(format!("cannot open --log-json {}: {e}", path.display())),
        },
        None => None,
    };
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Observation>();
    let mut config = PeerConfig::new(args.listen, &server_name, key, args.ca_out.clone());
    config.cdn_listen = Some(args.cdn_listen);
    config.cdn_host.clone_from(&args.cdn_host);
    config.fixtures = fixtures.clone();
    config.log = Some(tx);
    let peer = match Peer::start(config).await {
        Ok(p) => p,
        Err(e) => return fail(e.to_string()),
    };

    println!("mediaconf peer {server_name}");
    println!(
        "  listening   https://{} (signs as {server_name})",
        peer.local_addr()
    );
    if let Some(cdn) = peer.cdn_addr() {
        match peer.cdn_host() {
            Some(host) => println!(
                "  CDN         http://{cdn} (plain HTTP, for Location scenarios; named http://{host}:{} in them)",
                cdn.port()
            ),
            None => println!("  CDN         http://{cdn} (plain HTTP, for Location scenarios)"),
        }
    }
    println!(
        "  trust       {} (or turn off federation certificate checks on the homeserver)",
        peer.ca_path().display()
    );
    println!("Paste one of these into a client of the homeserver under test:");
    let width = Scenario::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(0);
    for s in Scenario::ALL {
        println!(
            "  mxc://{server_name}/{:<width$}  {}",
            format!("{}_1", s.name()),
            s.describe(),
            width = width + 2
        );
    }
    for f in &fixtures {
        println!(
            "  mxc://{server_name}/{}  the file {} ({})",
            f.media_id, f.file_name, f.content_type
        );
    }
    for s in &skipped {
        println!("  (not served: {s})");
    }
    println!(
        "Any text after the last `_` selects the same scenario: change it to make the homeserver fetch again."
    );
    // The handlers are installed before "Requests" is printed: a signal sent as soon as the peer
    // says it is ready must stop it, not kill it (or be lost when the parent ignores SIGINT).
    let stop = crate::signals::first();
    println!("Requests (Ctrl-C stops):");
    let _ = std::io::stdout().flush();

    let mut count = 0usize;
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            Some(o) = rx.recv() => {
                count += 1;
                println!("{}", log_line(&o));
                let _ = std::io::stdout().flush();
                if let Some(file) = &mut log_file {
                    let _ = writeln!(file, "{}", log_json(&o));
                }
            }
        }
    }
    peer.shutdown().await;
    println!("stopped after {count} request(s)");
    crate::exit_code::EXIT_OK
}

/// `   0.412s  GET /_matrix/… → 200 multipart/mixed (inline-bytes)  signed by …, verified`.
pub fn log_line(o: &Observation) -> String {
    let who = match &o.signature {
        SignatureVerdict::NotSigned => "not signed".to_owned(),
        other => other.to_string(),
    };
    crate::report::sanitize(&format!(
        "{:>8.3}s  {} {} → {}  [{who}] from {}",
        o.at_ms as f64 / 1000.0,
        o.method,
        redact_query(&o.path),
        o.answered,
        o.remote
    ))
}

fn log_json(o: &Observation) -> String {
    serde_json::json!({
        "at_ms": o.at_ms,
        "method": o.method,
        "path": redact_query(&o.path),
        "status": o.status,
        "answered": o.answered,
        "signature": o.signature.to_string(),
        "remote": o.remote.to_string(),
        "headers": o
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), redact_header(n, v)))
            .collect::<Vec<_>>(),
    })
    .to_string()
}

/// A header value as logged: a bearer token and an X-Matrix signature are credentials (a
/// signature can be replayed to the same destination), so they are replaced.
fn redact_header(name: &str, value: &str) -> String {
    if !name.eq_ignore_ascii_case("authorization") {
        return value.to_owned();
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("x-matrix") {
        return format!("{scheme} {}", crate::redact::REDACTED);
    }
    let params: Vec<String> = rest
        .split(',')
        .map(|param| match param.split_once('=') {
            Some((k, _)) if k.trim().eq_ignore_ascii_case("sig") => {
                format!("{k}=\"{}\"", crate::redact::REDACTED)
            }
            _ => param.to_owned(),
        })
        .collect();
    format!("{scheme} {}", params.join(","))
}

/// A path with an `access_token` query value replaced.
fn redact_query(path: &str) -> String {
    let Some((base, query)) = path.split_once('?') else {
        return path.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some(("access_token", _)) => format!("access_token={}", crate::redact::REDACTED),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

#[cfg(test)]
mod redaction_tests {
    use super::*;

    #[test]
    fn credentials_are_not_logged() {
        assert_eq!(
            redact_header("Authorization", "Bearer syt_secret"),
            "Bearer <redacted>"
        );
        assert_eq!(
            redact_header(
                "authorization",
                r#"X-Matrix origin="a",key="ed25519:k",sig="c2lnbmF0dXJl""#
            ),
            r#"X-Matrix origin="a",key="ed25519:k",sig="<redacted>""#
        );
        assert_eq!(redact_header("user-agent", "Synapse"), "Synapse");
        assert_eq!(
            redact_query("/m/x?allow_remote=false&access_token=syt_q"),
            "/m/x?allow_remote=false&access_token=<redacted>"
        );
        assert_eq!(redact_query("/m/x"), "/m/x");
    }
}
