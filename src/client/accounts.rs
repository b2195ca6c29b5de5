//! Getting accounts on the target: registration (open, registration token, Synapse shared
//! secret), guest registration, logout, and who-am-i for a given token.
//!
//! Every token received is added to the redactor before anything can print it.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};

use super::http::HttpClient;
use super::request_body::OutgoingRequest;
use crate::exchange::{Exchange, RecordedResponse};

/// An account the run can act as.
#[derive(Clone)]
pub struct Account {
    pub user_id: String,
    pub access_token: String,
    pub device_id: Option<String>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("user_id", &self.user_id)
            .field("access_token", &"<redacted>")
            .field("device_id", &self.device_id)
            .finish()
    }
}

/// How the run obtains its main account.
#[derive(Clone)]
pub enum Registration {
    /// `m.login.dummy` on open registration.
    Open,
    /// `m.login.registration_token`.
    Token(String),
    /// Synapse's `/_synapse/admin/v1/register` with HMAC.
    SharedSecret(String),
    /// The shared secret where the admin API exists, else open registration (`--image`: the
    /// Complement contract's secret `complement` "where that exists").
    SharedSecretOrOpen(String),
}

impl Registration {
    pub fn describe(&self) -> &'static str {
        match self {
            Registration::Open => "open registration (m.login.dummy)",
            Registration::Token(_) => "registration token (m.login.registration_token)",
            Registration::SharedSecret(_) => "registration shared secret (Synapse admin API)",
            Registration::SharedSecretOrOpen(_) => {
                "registration shared secret, else open registration (m.login.dummy)"
            }
        }
    }
}

/// Talks to the client-server API of the target for account housekeeping.
pub struct AccountClient<'a> {
    pub http: &'a HttpClient,
    pub base: String,
    pub timeout: Duration,
}

fn summary(ex: &Exchange) -> String {
    match &ex.response {
        Ok(r) => {
            let body = String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).into_owned();
            format!(
                "{} answered {} {}",
                ex.request.line(),
                r.status,
                body.trim()
            )
        }
        Err(e) => format!("{}: {e}", ex.request.line()),
    }
}

impl AccountClient<'_> {
    async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Exchange {
        let mut headers = Vec::new();
        if let Some(t) = token {
            headers.push(("Authorization".to_string(), format!("Bearer {t}")));
        }
        let body = match body {
            Some(b) => {
                headers.push(("Content-Type".to_string(), "application/json".to_string()));
                serde_json::to_vec(b).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let req = OutgoingRequest {
            method: method.to_string(),
            url: format!("{}{}", self.base, path),
            headers,
            body: body.into(),
            timeout: self.timeout,
        };
        self.http.send(req, false).await
    }

    fn account_from(&self, r: &RecordedResponse, ex: &Exchange) -> Result<Account, String> {
        let json = r.json().unwrap_or(Value::Null);
        let token = json.get("access_token").and_then(Value::as_str);
        let user = json.get("user_id").and_then(Value::as_str);
        match (token, user) {
            (Some(t), Some(u)) => {
                self.http.redactor().add(t);
                Ok(Account {
                    user_id: u.to_string(),
                    access_token: t.to_string(),
                    device_id: json
                        .get("device_id")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                })
            }
            _ => Err(format!(
                "{} (no access_token/user_id in the answer)",
                summary(ex)
            )),
        }
    }

    /// Registers `localpart` with the chosen method.
    pub async fn register(
        &self,
        method: &Registration,
        localpart: &str,
        password: &str,
    ) -> Result<Account, String> {
        match method {
            Registration::SharedSecret(secret) => {
                self.register_shared_secret(secret, localpart, password)
                    .await
            }
            Registration::SharedSecretOrOpen(secret) => {
                match self
                    .register_shared_secret(secret, localpart, password)
                    .await
                {
                    Err(e) if e.contains("404") => {
                        self.register_uia(&Registration::Open, localpart, password)
                            .await
                    }
                    other => other,
                }
            }
            Registration::Open | Registration::Token(_) => {
                self.register_uia(method, localpart, password).await
            }
        }
    }

    async fn register_uia(
        &self,
        method: &Registration,
        localpart: &str,
        password: &str,
    ) -> Result<Account, String> {
        let path = "/_matrix/client/v3/register";
        let mut body = json!({"username": localpart, "password": password, "inhibit_login": false});
        let mut completed: Vec<String> = Vec::new();
        for _ in 0..5 {
            let ex = self.call("POST", path, None, Some(&body)).await;
            let r = ex.ok().ok_or_else(|| summary(&ex))?;
            if r.status == 200 {
                return self.account_from(r, &ex);
            }
            let json = r.json().unwrap_or(Value::Null);
            if r.status != 401 || json.get("flows").is_none() {
                return Err(summary(&ex));
            }
            let session = json
                .get("session")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if let Some(done) = json.get("completed").and_then(Value::as_array) {
                completed = done
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
            }
            let can_do = |stage: &str| match stage {
                "m.login.dummy" => true,
                "m.login.registration_token" => matches!(method, Registration::Token(_)),
                _ => false,
            };
            let flows = json
                .get("flows")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let flow: Option<Vec<String>> = flows.iter().find_map(|f| {
                let stages: Vec<String> = f
                    .get("stages")
                    .and_then(Value::as_array)?
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect();
                stages.iter().all(|s| can_do(s)).then_some(stages)
            });
            let Some(flow) = flow else {
                let offered: Vec<String> = flows.iter().map(|f| f.to_string()).collect();
                return Err(format!(
                    "no registration flow this run can complete with {} (target offers {}); pass --registration-token, --registration-shared-secret or --user-token",
                    method.describe(),
                    offered.join(", ")
                ));
            };
            let Some(next) = flow.iter().find(|s| !completed.contains(s)) else {
                return Err(summary(&ex));
            };
            let auth = match (next.as_str(), method) {
                ("m.login.registration_token", Registration::Token(t)) => {
                    json!({"type": next, "token": t, "session": session})
                }
                _ => json!({"type": next, "session": session}),
            };
            body["auth"] = auth;
        }
        Err("registration did not finish after 5 interactive-auth rounds".to_string())
    }

    async fn register_shared_secret(
        &self,
        secret: &str,
        localpart: &str,
        password: &str,
    ) -> Result<Account, String> {
        let path = "/_synapse/admin/v1/register";
        let ex = self.call("GET", path, None, None).await;
        let r = ex.ok().ok_or_else(|| summary(&ex))?;
        let nonce = r
            .json()
            .and_then(|j| j.get("nonce").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "{} (no nonce: is this Synapse with registration_shared_secret set?)",
                    summary(&ex)
                )
            })?;
        let mut mac =
            Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).map_err(|e| e.to_string())?;
        mac.update(nonce.as_bytes());
        mac.update(b"\x00");
        mac.update(localpart.as_bytes());
        mac.update(b"\x00");
        mac.update(password.as_bytes());
        mac.update(b"\x00notadmin");
        let digest = crate::digest::hex(&mac.finalize().into_bytes());
        let body = json!({"nonce": nonce, "username": localpart, "password": password, "admin": false, "mac": digest});
        let ex = self.call("POST", path, None, Some(&body)).await;
        let r = ex.ok().ok_or_else(|| summary(&ex))?;
        if r.status != 200 {
            return Err(summary(&ex));
        }
        self.account_from(r, &ex)
    }

    /// Registers a guest; `Err` carries the target's answer (guest access disabled, …).
    pub async fn register_guest(&self) -> Result<Account, String> {
        let ex = self
            .call(
                "POST",
                "/_matrix/client/v3/register?kind=guest",
                None,
                Some(&json!({})),
            )
            .await;
        let r = ex.ok().ok_or_else(|| summary(&ex))?;
        if r.status != 200 {
            return Err(summary(&ex));
        }
        self.account_from(r, &ex)
    }

    /// Logs a token out.
    pub async fn logout(&self, token: &str) -> Result<(), String> {
        let ex = self
            .call(
                "POST",
                "/_matrix/client/v3/logout",
                Some(token),
                Some(&json!({})),
            )
            .await;
        match ex.ok() {
            Some(r) if r.status == 200 => Ok(()),
            _ => Err(summary(&ex)),
        }
    }

    /// The user id of a token (for `--user-token`).
    pub async fn whoami(&self, token: &str) -> Result<String, String> {
        let ex = self
            .call(
                "GET",
                "/_matrix/client/v3/account/whoami",
                Some(token),
                None,
            )
            .await;
        let r = ex.ok().ok_or_else(|| summary(&ex))?;
        if r.status != 200 {
            return Err(summary(&ex));
        }
        r.json()
            .and_then(|j| j.get("user_id").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| summary(&ex))
    }

    /// `GET /_matrix/client/versions` → (versions, unstable_features, the `Server` header).
    pub async fn versions(&self) -> Result<(Vec<String>, Value, Option<String>), String> {
        let ex = self
            .call("GET", "/_matrix/client/versions", None, None)
            .await;
        let r = ex.ok().ok_or_else(|| summary(&ex))?;
        let json = r
            .json()
            .filter(|_| r.status == 200)
            .ok_or_else(|| summary(&ex))?;
        let versions = json
            .get("versions")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        Ok((
            versions,
            json.get("unstable_features")
                .cloned()
                .unwrap_or(Value::Null),
            r.header("server").map(str::to_string),
        ))
    }

    /// `GET /_matrix/federation/v1/version` on the client base → "Name version", best effort.
    pub async fn server_version(&self) -> Option<String> {
        let ex = self
            .call("GET", "/_matrix/federation/v1/version", None, None)
            .await;
        version_of(&ex.ok()?.json()?)
    }
}

/// "Name version" from a `/_matrix/federation/v1/version` answer.
pub fn version_of(json: &Value) -> Option<String> {
    let server = json.get("server")?;
    let name = server.get("name").and_then(Value::as_str)?;
    let version = server.get("version").and_then(Value::as_str).unwrap_or("?");
    Some(format!("{name} {version}"))
}

impl AccountClient<'_> {}
