//! Server discovery against local servers: without `--federation-url`, the federation API is
//! found from the server name as a remote homeserver would find it. Here `localhost` (no port)
//! delegates through `https://localhost/.well-known/matrix/server` (served on a test port, see
//! `MEDIACONF_WELL_KNOWN_PORT`) to `127.0.0.1:PORT`, a TLS front of the fake federation target.
//! With `--insecure` the run finds it, says how in the preflight line, and the federation cases
//! pass; without it, the self-signed certificates are refused and the message says to pass
//! `--insecure`. Without a delegation, a fake DNS server (`MEDIACONF_DNS_SERVER`) answers the
//! SRV query of another name with `localhost` and the front's port, which is then reached under
//! the server name.

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

/// The server name of the SRV test.
const SRV_NAME: &str = "srv.mediaconf.example";

async fn run(insecure: bool) -> harness::Run {
    run_with(insecure, false).await
}

/// `srv`: the server name is `srv.mediaconf.example`, which has no `.well-known` (it does not
/// resolve); a fake DNS server answers SRV `_matrix-fed._tcp.srv.mediaconf.example` with
/// `localhost:<front port>`. (`localhost` itself cannot be used there: the DNS resolver answers
/// every `localhost` query itself, as RFC 6761 asks.)
async fn run_with(insecure: bool, srv: bool) -> harness::Run {
    // The fake accepts any destination: our requests name `localhost`, its users `fake.test`.
    let fake = FakeFederation::start(FedFault::IgnoreDestination).await;
    let front = Router::new().fallback(forward).with_state(fake.url());
    let (front_addr, front_handle) = serve_tls(front, "localhost").await;
    let delegation = format!(r#"{{"m.server": "127.0.0.1:{}"}}"#, front_addr.port());
    let well_known = Router::new().route(
        "/.well-known/matrix/server",
        axum::routing::get(
            move || async move { ([("content-type", "application/json")], delegation) },
        ),
    );
    let (wk_addr, wk_handle) = serve_tls(well_known, "localhost").await;
    let mut env = vec![("MEDIACONF_WELL_KNOWN_PORT", wk_addr.port().to_string())];
    let mut dns = None;
    let server_name = if srv { SRV_NAME } else { "localhost" };
    if srv {
        let service = format!("_matrix-fed._tcp.{SRV_NAME}");
        let (addr, task) = fake_dns(&service, "localhost", front_addr.port()).await;
        env.push(("MEDIACONF_DNS_SERVER", addr.to_string()));
        dns = Some(task);
    }

    let dir = tempfile::tempdir().unwrap();
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--server-name".into(),
        server_name.into(),
        "--profile".into(),
        "federation".into(),
        "--case".into(),
        "F-01,F-05".into(),
        "--timeout".into(),
        "10".into(),
    ];
    args.extend(harness::peer_args(dir.path()));
    if insecure {
        args.push("--insecure".into());
    }
    let label = format!("discovery insecure={insecure} srv={srv}");
    let run = with_env(&env, harness::run_mediaconf(args, label)).await;
    if let Some(task) = dns {
        task.abort();
    }
    front_handle.graceful_shutdown(Some(Duration::from_millis(100)));
    wk_handle.graceful_shutdown(Some(Duration::from_millis(100)));
    drop(fake);
    run
}

/// Runs `future` with `vars` in the environment of the processes it starts.
async fn with_env<T>(vars: &[(&str, String)], future: impl std::future::Future<Output = T>) -> T {
    // This file's tests run one after the other in a process (the lock), so setting the
    // variables does not race with another test reading them.
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = LOCK.lock().await;
    for (name, value) in vars {
        // SAFETY: only this file's tests run in this process, serialised by LOCK, and nothing
        // else reads the environment concurrently.
        unsafe { std::env::set_var(name, value) };
    }
    let out = future.await;
    for (name, _) in vars {
        // SAFETY: as above.
        unsafe { std::env::remove_var(name) };
    }
    out
}

/// A DNS server on 127.0.0.1 (UDP) that answers an SRV query for `name` with
/// `0 0 <port> <target>.` and every other query with NXDOMAIN.
async fn fake_dns(
    name: &str,
    target: &str,
    port: u16,
) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let wanted: Vec<String> = name.split('.').map(str::to_ascii_lowercase).collect();
    let target = target.to_string();
    let task = tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            if let Some(answer) = dns_answer(&buf[..n], &wanted, &target, port) {
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    (addr, task)
}

/// The answer to one DNS query (RFC 1035 wire format), or `None` if it does not parse.
fn dns_answer(query: &[u8], wanted: &[String], target: &str, port: u16) -> Option<Vec<u8>> {
    let id = query.get(..2)?;
    // The question: labels from offset 12, then QTYPE and QCLASS.
    let mut labels = Vec::new();
    let mut i = 12;
    loop {
        let len = usize::from(*query.get(i)?);
        i += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(i..i + len)?).to_ascii_lowercase());
        i += len;
    }
    let qtype = u16::from_be_bytes([*query.get(i)?, *query.get(i + 1)?]);
    let question = query.get(12..i + 4)?;
    let found = labels == wanted && qtype == 33;
    let mut out = id.to_vec();
    // Response, recursion desired and available; NOERROR or NXDOMAIN.
    out.extend_from_slice(if found { &[0x81, 0x80] } else { &[0x81, 0x83] });
    out.extend_from_slice(&[0, 1, 0, u8::from(found), 0, 0, 0, 0]);
    out.extend_from_slice(question);
    if found {
        let mut rdata = vec![0, 0, 0, 0];
        rdata.extend_from_slice(&port.to_be_bytes());
        for label in target.split('.').filter(|l| !l.is_empty()) {
            rdata.push(label.len() as u8);
            rdata.extend_from_slice(label.as_bytes());
        }
        rdata.push(0);
        // A pointer to the question's name, type SRV, class IN, TTL 60.
        out.extend_from_slice(&[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60]);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}

/// The preflight line says how the federation API was found (`how`), and the federation cases
/// reached it and passed.
fn found_and_passed(run: &harness::Run, how: &str) {
    assert!(
        run.output.contains(how),
        "the preflight line says {how:?}:\n{}",
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
async fn the_federation_api_is_found_through_well_known_delegation() {
    let run = run(true).await;
    found_and_passed(&run, "/.well-known/matrix/server delegates to 127.0.0.1:");
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

#[tokio::test(flavor = "multi_thread")]
async fn without_delegation_srv_names_the_federation_port() {
    let run = run_with(true, true).await;
    found_and_passed(
        &run,
        "SRV _matrix-fed._tcp.srv.mediaconf.example → localhost:",
    );
}
