//! Registration with a registration token (`m.login.registration_token` through interactive
//! auth) against a minimal server that requires it, and the token kept out of every output.

use std::process::Command;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::routing::{get, post};
use serde_json::{Value, json};

const TOKEN: &str = "mediaconf-registration-token-7f3";

const SUITE: &str = r#"
profile = "reg"
[[case]]
id = "X-01"
title = "the account works"
level = "MUST"
spec = "registration"
since = "v1.1"
[case.request]
path = "/_matrix/client/v3/account/whoami"
[case.expect]
status = 200
"#;

async fn register(
    raw: axum::body::Bytes,
) -> (StatusCode, [(header::HeaderName, &'static str); 1], String) {
    let json_type = [(header::CONTENT_TYPE, "application/json")];
    let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    let auth = body.get("auth");
    let flows = json!({"flows": [{"stages": ["m.login.registration_token"]}], "session": "s1", "params": {}});
    match auth {
        None => (StatusCode::UNAUTHORIZED, json_type, flows.to_string()),
        Some(a) if a["type"] == "m.login.registration_token" && a["token"] == TOKEN && a["session"] == "s1" => (
            StatusCode::OK,
            json_type,
            json!({"user_id": "@u:reg.test", "access_token": "reg_access_token_42", "device_id": "D"}).to_string(),
        ),
        Some(_) => (
            StatusCode::UNAUTHORIZED,
            json_type,
            json!({"errcode": "M_FORBIDDEN", "error": "Invalid registration token"}).to_string(),
        ),
    }
}

async fn serve() -> std::net::SocketAddr {
    let app = Router::new()
        .route(
            "/_matrix/client/versions",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"versions":["v1.12"]}"#,
                )
            }),
        )
        .route("/_matrix/client/v3/register", post(register))
        .route(
            "/_matrix/client/v3/account/whoami",
            get(|headers: axum::http::HeaderMap| async move {
                let ok = headers
                    .get(header::AUTHORIZATION)
                    .is_some_and(|v| v == "Bearer reg_access_token_42");
                let status = if ok {
                    StatusCode::OK
                } else {
                    StatusCode::UNAUTHORIZED
                };
                (
                    status,
                    [(header::CONTENT_TYPE, "application/json")],
                    r#"{"user_id":"@u:reg.test"}"#,
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

async fn run(addr: std::net::SocketAddr, token: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("reg.toml"), SUITE).unwrap();
    let json = dir.path().join("r.json");
    let (token, suite, json_path) = (token.to_string(), dir.path().to_path_buf(), json.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .args([
                "run",
                "--target",
                &format!("http://{addr}"),
                "--suite",
                suite.to_str().unwrap(),
            ])
            .args([
                "--profile",
                "reg",
                "--registration-token",
                &token,
                "--color",
                "never",
            ])
            .args(["--json", json_path.to_str().unwrap()])
            .env_remove("MEDIACONF_USER_TOKEN")
            .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    text.push_str(&std::fs::read_to_string(&json).unwrap_or_default());
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registration_token_registers_through_interactive_auth() {
    let addr = serve().await;
    let (code, output) = run(addr, TOKEN).await;
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("via registration token (m.login.registration_token)"),
        "{output}"
    );
    assert!(
        !output.contains(TOKEN),
        "the registration token is never printed"
    );
    assert!(
        !output.contains("reg_access_token_42"),
        "the access token is never printed"
    );

    let wrong = "mediaconf-wrong-token-99";
    let (code, output) = run(addr, wrong).await;
    assert_eq!(
        code, 2,
        "a refused registration is a preflight error: {output}"
    );
    assert!(output.contains("registration impossible"), "{output}");
    assert!(
        output.contains("Invalid registration token"),
        "the server's answer is shown: {output}"
    );
    assert!(
        !output.contains(wrong),
        "the registration token is never printed: {output}"
    );
}
