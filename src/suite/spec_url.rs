//! Spec links: the URL of the spec.matrix.org section (or the MSC) a case's `spec` reference
//! cites, derived from the reference text, the case's requests and its `since` version.
//!
//! Pure and total: every case gets a URL. The rules, in order:
//! 1. a reference that starts with `MSCnnnn` links to that proposal;
//! 2. the version is the first `v1.N` in the reference, but never before `since` (a reference
//!    to `v1.1+` text in a case for v1.11 links v1.11), and at least v1.1, the first version on
//!    spec.matrix.org;
//! 3. the anchor is the first endpoint (`GET /_matrix/…`), quoted section title
//!    (`"Request Authentication"`) or other known name (`X-Matrix`, `common error codes`) the
//!    reference names; else the
//!    content-repository module when the reference says `content_repo`; else the endpoint of the
//!    case's last request that is a known endpoint; else the content-repository section.
//!
//! Operation anchors are built as the spec site builds them: the lower-cased method followed by
//! the path with everything but letters, digits, `_` and `-` removed
//! (`get_matrixclientv1mediadownloadservernamemediaid`). A suite's `spec-url` key overrides
//! all of this; it is not derived here.

use super::model::Api;
use crate::spec_version::SpecVersion;

/// The proposal URL prefix; the MSC number follows.
pub const MSC_URL: &str = "https://github.com/matrix-org/matrix-spec-proposals/pull/";

/// Endpoints of the spec that the suites test, as the spec writes them.
const ENDPOINTS: &[(&str, &str)] = &[
    ("GET", "/_matrix/client/v1/media/config"),
    (
        "GET",
        "/_matrix/client/v1/media/download/{serverName}/{mediaId}",
    ),
    (
        "GET",
        "/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}",
    ),
    ("GET", "/_matrix/client/v1/media/preview_url"),
    (
        "GET",
        "/_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}",
    ),
    ("POST", "/_matrix/media/v1/create"),
    ("GET", "/_matrix/media/v3/config"),
    ("GET", "/_matrix/media/v3/download/{serverName}/{mediaId}"),
    (
        "GET",
        "/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}",
    ),
    ("GET", "/_matrix/media/v3/preview_url"),
    ("GET", "/_matrix/media/v3/thumbnail/{serverName}/{mediaId}"),
    ("POST", "/_matrix/media/v3/upload"),
    ("PUT", "/_matrix/media/v3/upload/{serverName}/{mediaId}"),
    ("GET", "/_matrix/client/versions"),
    ("POST", "/_matrix/client/v3/register"),
    ("POST", "/_matrix/client/v3/logout"),
    ("GET", "/_matrix/federation/v1/media/download/{mediaId}"),
    ("GET", "/_matrix/federation/v1/media/thumbnail/{mediaId}"),
    ("GET", "/_matrix/key/v2/server"),
];

/// Section titles a reference quotes, with their anchor and page (`None`: the page follows the
/// reference or the case, as for the content repository, which both APIs have).
const SECTIONS: &[(&str, &str, Option<Api>)] = &[
    ("Content Repository", "content-repository", None),
    (
        "Request Authentication",
        "request-authentication",
        Some(Api::Federation),
    ),
    (
        "Unsupported endpoints",
        "unsupported-endpoints",
        Some(Api::Federation),
    ),
    ("Publishing Keys", "publishing-keys", Some(Api::Federation)),
    (
        "Web Browser Clients",
        "web-browser-clients",
        Some(Api::Client),
    ),
    (
        "Using access tokens",
        "using-access-tokens",
        Some(Api::Client),
    ),
    ("Account locking", "account-locking", Some(Api::Client)),
    (
        "Serving inline content",
        "serving-inline-content",
        Some(Api::Client),
    ),
    ("Thumbnails", "thumbnails", Some(Api::Client)),
    (
        "Matrix Content (mxc://) URIs",
        "matrix-content-mxc-uris",
        Some(Api::Client),
    ),
];

/// Names a reference uses without quotes, with the section they stand for.
const PHRASES: &[(&str, &str, Api)] = &[
    ("X-Matrix", "request-authentication", Api::Federation),
    ("common error codes", "common-error-codes", Api::Client),
];

/// What the derivation reads from a case.
#[derive(Debug, Clone, Copy)]
pub struct SpecUrlInput<'a> {
    pub spec_ref: &'a str,
    pub since: SpecVersion,
    pub api: Api,
    /// Method and path template of each request, in order.
    pub requests: &'a [(&'a str, &'a str)],
}

/// The URL for a case (see the module docs for the rules).
pub fn derive_spec_url(input: &SpecUrlInput<'_>) -> String {
    if let Some(n) = msc_number(input.spec_ref) {
        return format!("{MSC_URL}{n}");
    }
    let version = version_in(input.spec_ref)
        .unwrap_or(input.since)
        .max(input.since)
        .max(SpecVersion::new(1, 1));
    let text_api = if input.spec_ref.contains("server-server") {
        Api::Federation
    } else {
        input.api
    };
    let (api, anchor) = named_in(input.spec_ref, text_api)
        .or_else(|| {
            (input.spec_ref.contains("content_repo"))
                .then(|| (Api::Client, "content-repository".to_string()))
        })
        .or_else(|| {
            input.requests.iter().rev().find_map(|(method, path)| {
                endpoint_matching(Some(method), path, false).map(operation)
            })
        })
        .unwrap_or((text_api, "content-repository".to_string()));
    format!(
        "https://spec.matrix.org/{version}/{}/#{anchor}",
        match api {
            Api::Client => "client-server-api",
            Api::Federation => "server-server-api",
        }
    )
}

/// `1902` for `MSC1902 (superseded …)`.
fn msc_number(spec_ref: &str) -> Option<&str> {
    let rest = spec_ref.strip_prefix("MSC")?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// The first `v1.N` token of the text.
fn version_in(text: &str) -> Option<SpecVersion> {
    text.match_indices("v1.").find_map(|(at, _)| {
        let before = text[..at].chars().next_back();
        if before.is_some_and(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        let digits: String = text[at + 3..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok().map(|minor| SpecVersion::new(1, minor))
    })
}

/// The earliest known endpoint, quoted section title or phrase in the text.
fn named_in(text: &str, text_api: Api) -> Option<(Api, String)> {
    let mut found: Vec<(usize, (Api, String))> = Vec::new();
    for (at, _) in text.match_indices(" /_matrix/") {
        let method_start = text[..at].rfind(' ').map_or(0, |i| i + 1);
        let method = &text[method_start..at];
        if !matches!(method, "GET" | "POST" | "PUT" | "DELETE") {
            continue;
        }
        let path: String = text[at + 1..]
            .chars()
            .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | ':' | ';' | '(' | ')' | '"'))
            .collect();
        if let Some(e) = endpoint_matching(Some(method), &path, true) {
            found.push((method_start, operation(e)));
        }
    }
    // The earliest quoted section title: one pass over the quotes of the text (the titles
    // table is long, and this runs for every case at load).
    let quoted_title = text.match_indices('"').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        SECTIONS.iter().find_map(|(title, anchor, api)| {
            rest.strip_prefix(title)
                .is_some_and(|after| after.starts_with('"'))
                .then(|| (at, (api.unwrap_or(text_api), anchor.to_string())))
        })
    });
    found.extend(quoted_title);
    for (phrase, anchor, api) in PHRASES {
        if let Some(at) = text.find(phrase) {
            found.push((at, (*api, anchor.to_string())));
        }
    }
    found.into_iter().min_by_key(|(at, _)| *at).map(|(_, x)| x)
}

/// The known endpoint a path (template) is a request to. Segments in braces, and any segment
/// where the endpoint has a parameter, match each other. With `allow_prefix`, a path that names
/// only the start of an endpoint (`GET /_matrix/client/v1/media/download`) matches the shortest.
fn endpoint_matching(
    method: Option<&str>,
    path: &str,
    allow_prefix: bool,
) -> Option<(&'static str, &'static str)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // Segment by segment, without collecting the endpoint's segments (this runs for every
    // endpoint of the table, for every request of every case at load).
    let fits = |endpoint: &str, prefix: bool| {
        let mut want = endpoint.split('/');
        let mut got = segments.iter();
        loop {
            match (want.next(), got.next()) {
                (None, None) => return true,
                (Some(_), None) => return prefix,
                (None, Some(_)) => return false,
                (Some(w), Some(s)) => {
                    let parameter = w.starts_with('{') && !s.is_empty();
                    if !parameter && w != *s {
                        return false;
                    }
                }
            }
        }
    };
    let by_method = |m: &str| method.is_none_or(|x| x == m || x == "OPTIONS");
    ENDPOINTS
        .iter()
        .copied()
        .find(|(m, e)| by_method(m) && fits(e, false))
        .or_else(|| {
            allow_prefix
                .then(|| {
                    ENDPOINTS
                        .iter()
                        .copied()
                        .filter(|(m, e)| by_method(m) && fits(e, true))
                        .min_by_key(|(_, e)| e.len())
                })
                .flatten()
        })
}

/// The page and anchor of an operation.
fn operation((method, path): (&str, &str)) -> (Api, String) {
    let api = if path.starts_with("/_matrix/federation/") || path.starts_with("/_matrix/key/") {
        Api::Federation
    } else {
        Api::Client
    };
    let anchor: String = path
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
        .collect();
    (
        api,
        format!(
            "{}{}",
            method.to_ascii_lowercase(),
            anchor.to_ascii_lowercase()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(spec_ref: &str, since: (u32, u32), api: Api, requests: &[(&str, &str)]) -> String {
        derive_spec_url(&SpecUrlInput {
            spec_ref,
            since: SpecVersion::new(since.0, since.1),
            api,
            requests,
        })
    }

    #[test]
    fn an_endpoint_in_the_reference() {
        assert_eq!(
            url(
                "v1.12 client-server-api GET /_matrix/client/v1/media/download/{serverName}/{mediaId}, 200 Content-Type",
                (1, 11),
                Api::Client,
                &[]
            ),
            "https://spec.matrix.org/v1.12/client-server-api/#get_matrixclientv1mediadownloadservernamemediaid"
        );
        // Only the start of the path: the shortest endpoint it begins.
        assert_eq!(
            url(
                "v1.11 server-server GET /_matrix/federation/v1/media/download: the answer",
                (1, 11),
                Api::Federation,
                &[]
            ),
            "https://spec.matrix.org/v1.11/server-server-api/#get_matrixfederationv1mediadownloadmediaid"
        );
        assert_eq!(
            url(
                "v1.12 GET /_matrix/key/v2/server (required fields)",
                (1, 12),
                Api::Client,
                &[]
            ),
            "https://spec.matrix.org/v1.12/server-server-api/#get_matrixkeyv2server"
        );
        assert_eq!(
            url(
                "v1.11 x",
                (1, 11),
                Api::Client,
                &[("GET", "/_matrix/client/v1/media/preview_url")]
            ),
            "https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediapreview_url"
        );
    }

    #[test]
    fn the_first_name_wins() {
        assert_eq!(
            url(
                "v1.11 client-server-api \"Web Browser Clients\": \"…\" (GET /_matrix/client/v1/media/config exists since v1.11)",
                (1, 11),
                Api::Client,
                &[]
            ),
            "https://spec.matrix.org/v1.11/client-server-api/#web-browser-clients"
        );
        assert_eq!(
            url(
                "v1.11 server-server \"Content Repository\": \"…\"",
                (1, 11),
                Api::Client,
                &[]
            ),
            "https://spec.matrix.org/v1.11/server-server-api/#content-repository"
        );
    }

    #[test]
    fn the_last_known_request_when_the_reference_names_none() {
        let steps = [
            ("POST", "/_matrix/media/v3/upload"),
            (
                "GET",
                "/_matrix/client/v1/media/download/{server_name}/{id}/name.png",
            ),
            ("GET", "/somewhere/else"),
        ];
        assert_eq!(
            url(
                "v1.11 download timeout_ms \"…\"",
                (1, 11),
                Api::Client,
                &steps
            ),
            "https://spec.matrix.org/v1.11/client-server-api/#get_matrixclientv1mediadownloadservernamemediaidfilename"
        );
        // No version in the text: `since`; nothing known at all: the content repository.
        assert_eq!(
            url("undocumented", (1, 7), Api::Federation, &[("GET", "/x")]),
            "https://spec.matrix.org/v1.7/server-server-api/#content-repository"
        );
        assert_eq!(
            url(
                "v1.12 content_repo \"otherwise they SHOULD use attachment\"",
                (1, 12),
                Api::Client,
                &steps
            ),
            "https://spec.matrix.org/v1.12/client-server-api/#content-repository"
        );
    }

    #[test]
    fn proposals_and_old_versions() {
        assert_eq!(
            url("MSC3916 \"Unstable prefix\": …", (1, 0), Api::Client, &[]),
            "https://github.com/matrix-org/matrix-spec-proposals/pull/3916"
        );
        assert_eq!(
            url("GAP: no status", (1, 0), Api::Client, &[]),
            "https://spec.matrix.org/v1.1/client-server-api/#content-repository"
        );
        assert_eq!(
            url(
                "v1.1+ content_repo \"Security considerations\"",
                (1, 11),
                Api::Client,
                &[]
            ),
            "https://spec.matrix.org/v1.11/client-server-api/#content-repository"
        );
        assert_eq!(
            url(
                "v1.11 X-Matrix format: RFC 9110",
                (1, 11),
                Api::Federation,
                &[]
            ),
            "https://spec.matrix.org/v1.11/server-server-api/#request-authentication"
        );
        assert_eq!(version_in("v1.11-v1.19 x"), Some(SpecVersion::new(1, 11)));
        assert_eq!(version_in("xv1.2 v1.3"), Some(SpecVersion::new(1, 3)));
    }
}
