//! State shared by all cases of a run: the HTTP client, accounts, prepared media and the
//! template values every case starts from.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{Account, HttpClient, OutgoingRequest};
use crate::suite::MediaDef;

/// Media uploaded (or created) on the target for this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedMedia {
    pub server: String,
    pub id: String,
}

/// Shared, read-only during case execution.
pub struct Session {
    pub http: HttpClient,
    pub base: String,
    pub server_name: String,
    pub timeout: Duration,
    pub user: Option<Account>,
    pub other_user: Option<Account>,
    pub guest: Option<Account>,
    pub logged_out_token: Option<String>,
    pub media_defs: BTreeMap<String, MediaDef>,
    /// Per media name: prepared, or why preparing it failed.
    pub media: BTreeMap<String, Result<PreparedMedia, String>>,
    /// `server_name`, `preview_url`, … (no secrets).
    pub base_vars: BTreeMap<String, String>,
    pub run_tag: String,
    /// Base URL of the target's federation API (unsigned federation requests need only this).
    pub federation_base: String,
    /// Set when signed federation requests can be made (our key server is reachable).
    pub federation: Option<super::signer::FederationContext>,
    /// Endpoints preflight found not served: a case failing on one of them with the same
    /// "unrecognized endpoint" answer is blocked by that finding, not failed again.
    pub not_served: Vec<NotServed>,
    /// The mock peer (our key server with the media scenarios), when it runs.
    pub peer: Option<std::sync::Arc<crate::peer::Peer>>,
    /// The target's name and version (`Synapse 1.163.2`), when it says: hints name its
    /// settings first.
    pub server_version: Option<String>,
    counter: AtomicU64,
}

/// An endpoint the target does not serve, and the preflight finding saying so.
#[derive(Debug, Clone)]
pub struct NotServed {
    /// The request method, or `None` for any.
    pub method: Option<String>,
    /// The path, `*` standing for one segment (`/_matrix/client/v1/media/download/*/*`).
    pub path: String,
    pub problem: crate::outcome::SetUpProblem,
}

impl NotServed {
    /// Whether a request is to this endpoint.
    pub fn matches(&self, method: &str, path: &str) -> bool {
        if self
            .method
            .as_deref()
            .is_some_and(|m| !m.eq_ignore_ascii_case(method))
        {
            return false;
        }
        let (mut want, mut got) = (self.path.split('/'), path.split('/'));
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some("*"), Some(seg)) if !seg.is_empty() => {}
                (Some(w), Some(g)) if w == g => {}
                _ => return false,
            }
        }
    }

    /// The cause every case stopped by this endpoint is filed under.
    pub fn cause(&self) -> String {
        format!(
            "endpoint not implemented: {} {}",
            self.method.as_deref().unwrap_or("*"),
            self.path
        )
    }
}

impl Session {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        http: HttpClient,
        base: String,
        server_name: String,
        timeout: Duration,
        media_defs: BTreeMap<String, MediaDef>,
    ) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let run_tag = format!("{:x}{:x}", std::process::id(), nanos % 0xffff_ffff);
        Session {
            http,
            base,
            server_name,
            timeout,
            user: None,
            other_user: None,
            guest: None,
            logged_out_token: None,
            media_defs,
            media: BTreeMap::new(),
            base_vars: BTreeMap::new(),
            run_tag,
            federation_base: String::new(),
            federation: None,
            not_served: Vec::new(),
            peer: None,
            server_version: None,
            counter: AtomicU64::new(0),
        }
    }

    /// An unauthenticated `GET` of `url` (redirects not followed), within the run's timeout.
    pub async fn get(&self, url: String) -> crate::exchange::Exchange {
        self.http
            .send(OutgoingRequest::get(url, self.timeout), false)
            .await
    }

    /// A `GET` of `url` as the holder of `token` (redirects not followed).
    pub async fn get_as(&self, url: String, token: &str) -> crate::exchange::Exchange {
        let mut request = OutgoingRequest::get(url, self.timeout);
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {token}")));
        self.http.send(request, false).await
    }

    /// A string unique within this run and very likely across runs (`mc3f2a9c1-7`).
    pub fn unique(&self) -> String {
        format!(
            "mc{}-{}",
            self.run_tag,
            self.counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// What the mock peer received so far for `media_id` (requests whose path has it as a
    /// segment), as recorded data for the checks.
    pub fn peer_requests(&self, media_id: &str) -> Vec<crate::exchange::PeerRequest> {
        let Some(peer) = &self.peer else {
            return Vec::new();
        };
        let wanted = |o: &crate::peer::Observation| {
            let path = o.path.split('?').next().unwrap_or("");
            path.split('/').any(|segment| segment == media_id)
        };
        peer.observations_where(wanted)
            .into_iter()
            .map(|o| {
                let (path, query) = match o.path.split_once('?') {
                    Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
                    None => (o.path, None),
                };
                crate::exchange::PeerRequest {
                    at_ms: o.at_ms,
                    method: o.method,
                    path,
                    query,
                    headers: o.headers,
                    status: o.status,
                    signature: o.signature,
                }
            })
            .collect()
    }

    /// Uploads a media definition's fixture (or creates pending media) as `account`.
    pub async fn prepare_media(
        &self,
        def: &MediaDef,
        account: &Account,
    ) -> Result<PreparedMedia, String> {
        let mut headers = vec![(
            "Authorization".to_string(),
            format!("Bearer {}", account.access_token),
        )];
        let (url, body) = if def.spec.pending {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
            (
                format!("{}/_matrix/media/v1/create", self.base),
                bytes::Bytes::from_static(b"{}"),
            )
        } else {
            let mut url = url::Url::parse(&format!("{}/_matrix/media/v3/upload", self.base))
                .map_err(|e| e.to_string())?;
            if let Some(name) = &def.spec.filename {
                url.query_pairs_mut().append_pair("filename", name);
            }
            if let Some(ct) = &def.spec.content_type {
                headers.push(("Content-Type".to_string(), ct.clone()));
            }
            (url.to_string(), def.bytes.clone())
        };
        let ex = self
            .http
            .send(
                OutgoingRequest {
                    method: "POST".into(),
                    url,
                    headers,
                    body: body.into(),
                    timeout: self.timeout,
                },
                false,
            )
            .await;
        let what = if def.spec.pending {
            "creating"
        } else {
            "uploading"
        };
        let response = ex
            .response
            .as_ref()
            .map_err(|e| format!("{what} media `{}`: {} {e}", def.name, ex.request.line()))?;
        let uri = response
            .json()
            .filter(|_| response.status == 200)
            .and_then(|j| {
                j.get("content_uri")
                    .and_then(|u| u.as_str())
                    .map(str::to_string)
            });
        let Some(uri) = uri else {
            return Err(format!(
                "{what} media `{}`: {} answered {} {}",
                def.name,
                ex.request.line(),
                response.status,
                crate::check::body_excerpt(&response.body, response.body_len, 160)
            ));
        };
        parse_mxc(&uri).ok_or_else(|| {
            format!(
                "{what} media `{}`: content_uri `{uri}` is not mxc://server/id",
                def.name
            )
        })
    }
}

/// `mxc://server/id` → parts.
pub fn parse_mxc(uri: &str) -> Option<PreparedMedia> {
    let rest = uri.strip_prefix("mxc://")?;
    let (server, id) = rest.split_once('/')?;
    (!server.is_empty() && !id.is_empty()).then(|| PreparedMedia {
        server: server.to_string(),
        id: id.to_string(),
    })
}
