//! Server discovery against local servers: without `--federation-url`, the federation API is
//! found from the server name as a remote homeserver would find it. Here `localhost` (no port)
//! delegates through `https://localhost/.well-known/matrix/server` (served on a test port, see
//! `MEDIACONF_WELL_KNOWN_PORT`) to `127.0.0.1:PORT`, a TLS front of the fake federation target.
//! With `--insecure` the run finds it, says how in the preflight line, and the federation cases
//! pass; without it, the self-signed certificates are refused and the message says to pass
//! `--insecure`.

mod federation_support;
mod harness;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use federation_support::{FakeFederation, FedFault};

/// Serves `app` over TLS on 127.0.0.1 with a certificate for `name` (from mediaconf's own test
/// CA, which nobody trusts); returns the address and the server's handle.
async fn serve_tls(app: Router, name: &str) -> (SocketAddr, axum_server::Handle<SocketAddr>) {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let tls = mediaconf::peer::tls::generate(name).expect("test certificate");
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        tls.cert_pem.into_bytes(),
        tls.key_pem.into_bytes(),
    )
    .await
    .expect("TLS config");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)
        .expect("TLS server")
        .handle(handle.clone());
    tokio::spawn(async move {
        let _ = server.serve(app.into_make_service()).await;
    });
    (addr, handle)
}

/// Forwards every request to `upstream` (plain HTTP) and returns its answer.
async fn forward(State(upstream): State<String>, request: Request) -> Response {
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 64 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = client.request(parts.method.clone(), format!("{upstream}{path}"));
    for (name, value) in &parts.headers {
        if name != "host" {
            outgoing = outgoing.header(name, value);
        }
    }
    let Ok(answer) = outgoing.body(body.to_vec()).send().await else {
        return Response::builder().status(502).body(Body::empty()).unwrap();
    };
    let mut response = Response::builder().status(answer.status().as_u16());
    for (name, value) in answer.headers() {
        response = response.header(name, value);
    }
    response
        .body(Body::from(answer.bytes().await.unwrap_or_default()))
        .unwrap()
}

async fn run(insecure: bool) -> harness::Run {
    // The fake accepts any destination: our requests name `localhost`, its users `fake.test`.
    let fake = FakeFederation::start(FedFault::IgnoreDestination).await;
    let front = Router::new().fallback(forward).with_state(fake.url());
    let (front_addr, front_handle) = serve_tls(front, "127.0.0.1").await;
    let delegation = format!(r#"{{"m.server": "127.0.0.1:{}"}}"#, front_addr.port());
    let well_known = Router::new().route(
        "/.well-known/matrix/server",
        axum::routing::get(
            move || async move { ([("content-type", "application/json")], delegation) },
        ),
    );
    let (wk_addr, wk_handle) = serve_tls(well_known, "localhost").await;

    let dir = tempfile::tempdir().unwrap();
    let peer = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer_listen = peer.local_addr().unwrap().to_string();
    drop(peer);
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--server-name".into(),
        "localhost".into(),
        "--profile".into(),
        "federation".into(),
        "--case".into(),
        "F-01,F-05".into(),
        "--peer-listen".into(),
        peer_listen.into(),
        "--signing-key".into(),
        dir.path().join("k.key").into(),
        "--peer-ca-out".into(),
        dir.path().join("ca.pem").into(),
        "--timeout".into(),
        "10".into(),
    ];
    if insecure {
        args.push("--insecure".into());
    }
    // SAFETY-free: the variable is read by the child process only.
    let run = {
        let port = wk_addr.port().to_string();
        let label = format!("discovery insecure={insecure}");
        with_env(
            "MEDIACONF_WELL_KNOWN_PORT",
            &port,
            harness::run_mediaconf(args, label),
        )
        .await
    };
    front_handle.graceful_shutdown(Some(Duration::from_millis(100)));
    wk_handle.graceful_shutdown(Some(Duration::from_millis(100)));
    drop(fake);
    run
}

/// Runs `future` with `name=value` in the environment of the processes it starts.
async fn with_env<T>(name: &str, value: &str, future: impl std::future::Future<Output = T>) -> T {
    // Each test binary runs this file's tests one after the other (see the lock below), so
    // setting the variable does not race with another test reading it.
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = LOCK.lock().await;
    // SAFETY: only this file's tests run in this process, serialised by LOCK, and nothing
    // else reads the environment concurrently.
    unsafe { std::env::set_var(name, value) };
    let out = future.await;
    unsafe { std::env::remove_var(name) };
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_federation_api_is_found_through_well_known_delegation() {
    let run = run(true).await;
    assert!(
        run.output
            .contains("/.well-known/matrix/server delegates to 127.0.0.1:"),
        "the preflight line says how the federation API was found:\n{}",
        run.output
    );
    for id in ["F-01", "F-05"] {
        let case = &run.cases[id];
        assert_eq!(
            case.outcome, "passed",
            "{id}: {}\n{}",
            case.reason, run.output
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn self_signed_certificates_are_refused_without_insecure() {
    let run = run(false).await;
    assert!(
        run.output.contains("--insecure"),
        "the refusal names the fix:\n{}",
        run.output
    );
    let case = &run.cases["F-01"];
    assert_ne!(case.outcome, "passed", "{}", run.output);
    assert!(
        case.reason.contains("not reachable") || case.reason.contains("certificate"),
        "F-01 says why: {}",
        case.reason
    );
}
