//! The hostile-target corpus: real cases run against a target that is correct for discovery,
//! registration and uploads and misbehaves in one way on one kind of media response (client
//! download and thumbnail, federation download and thumbnail, the key document, registration).
//! For every behaviour: mediaconf does not panic, finishes long before its deadline, fails (or
//! skips) exactly the affected cases with a reason naming what the target did, still runs and
//! passes the unaffected ones, and writes JUnit and JSON reports that parse.

mod federation_support;
mod harness;
mod hostile_support;
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::time::{Duration, Instant};

use federation_support::{FakeFederation, FedFault};
use harness::CaseResult;
use hostile_support::{Behaviour, Place};
use mediaconf::multipart::Fault as MultipartFault;
use support::fake_target::{FakeTarget, Fault};

/// Client cases run for client behaviours: the first four touch client media, the last does not.
const CLIENT_CASES: &[&str] = &[
    "C-01",
    "C-02",
    "B-01.download",
    "B-04.thumbnail",
    "B-04.config",
];
/// Federation cases run for federation and key-document behaviours.
const FEDERATION_CASES: &[&str] = &["F-01", "F-02", "F-05", "F-09", "F-31", "F-28"];
/// The run's deadline; every run must end well before it.
const DEADLINE_SECS: u64 = 60;

/// Where the federation API is reached.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FederationUrl {
    /// The hostile front itself (plain HTTP).
    Front,
    /// `https://` to the plain-HTTP front: every TLS handshake fails.
    TlsToPlainPort,
    /// A port nobody listens on.
    Refused,
}

/// What the behaviour must do to the selected cases.
struct Expect {
    /// Cases that must not pass, each with a reason containing one of `reasons`.
    broken: &'static [&'static str],
    /// Substrings (case-insensitive) of which each broken case's reason must contain one.
    reasons: &'static [&'static str],
}

const NOTHING: Expect = Expect {
    broken: &[],
    reasons: &[],
};

/// Every client media case that talks to the misbehaving endpoint.
const CLIENT_MEDIA: &[&str] = &["C-01", "C-02", "B-01.download", "B-04.thumbnail"];
/// The federation cases that read a federation media answer.
const FEDERATION_MEDIA: &[&str] = &["F-01", "F-02", "F-05", "F-09"];

async fn run(
    place: Place,
    behaviour: Behaviour,
    federation_url: FederationUrl,
    expect: Expect,
) -> hostile_support::SinkLog {
    let client = matches!(
        place,
        Place::ClientMedia | Place::ClientMediaWithoutToken | Place::Registration
    );
    // Keep whichever upstream is used alive for the run.
    let (upstream_url, _client_fake, _federation_fake) = if client {
        let fake = FakeTarget::start(Fault::None).await;
        (fake.url(), Some(fake), None)
    } else {
        let fake = FakeFederation::start(FedFault::None).await;
        (fake.url(), None, Some(fake))
    };
    let front = hostile_support::start(&upstream_url, place, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let mut args: Vec<OsString> = vec![
        "--target".into(),
        front.url().into(),
        "--timeout".into(),
        "5".into(),
        "--deadline".into(),
        DEADLINE_SECS.to_string().into(),
        "--max-body-mib".into(),
        "8".into(),
        "--junit".into(),
        junit.clone().into(),
    ];
    let cases = if client {
        CLIENT_CASES
    } else {
        FEDERATION_CASES
    };
    args.extend([
        "--profile".into(),
        if client { "client" } else { "federation" }.into(),
    ]);
    args.extend(["--case".into(), cases.join(",").into()]);
    if !client {
        args.extend(harness::peer_args(dir.path()));
        match federation_url {
            FederationUrl::Front => {
                args.extend(["--federation-url".into(), front.url().into()]);
            }
            FederationUrl::TlsToPlainPort => {
                args.extend([
                    "--federation-url".into(),
                    format!("https://{}", front.addr).into(),
                ]);
            }
            FederationUrl::Refused => {
                let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
                let url = format!("http://{}", closed.local_addr().unwrap());
                drop(closed);
                args.extend(["--federation-url".into(), url.into()]);
            }
        }
    }
    let label = format!("{place:?} {behaviour:?}");
    let started = Instant::now();
    let run = harness::run_mediaconf(args, label.clone()).await;
    let took = started.elapsed();
    let output = &run.output;

    assert!(
        !output.contains("panicked"),
        "{label}: mediaconf panicked\n{output}"
    );
    assert!(
        took < Duration::from_secs(DEADLINE_SECS - 15),
        "{label}: took {took:?}, too close to the {DEADLINE_SECS} s deadline\n{output}"
    );
    let xml = std::fs::read_to_string(&junit)
        .unwrap_or_else(|e| panic!("{label}: no JUnit report ({e})\n{output}"));
    quick_junit::Report::deserialize_from_str(&xml)
        .unwrap_or_else(|e| panic!("{label}: the JUnit report does not parse: {e}\n{xml}"));
    check_cases(&label, &run.cases, cases, &expect, output);
    // The exit code follows the outcomes: 2 when requested cases could not run, 1 when a case
    // failed, 0 otherwise.
    let outcomes: Vec<&str> = cases
        .iter()
        .filter_map(|id| run.cases.get(*id))
        .map(|c| c.outcome.as_str())
        .collect();
    let want_code = if outcomes.contains(&"skipped") || outcomes.contains(&"blocked") {
        2
    } else if outcomes.contains(&"failed") {
        1
    } else {
        0
    };
    assert_eq!(
        run.exit_code,
        Some(want_code),
        "{label}: exit code\n{output}"
    );
    front.sink.clone()
}

fn check_cases(
    label: &str,
    cases: &BTreeMap<String, CaseResult>,
    selected: &[&str],
    expect: &Expect,
    output: &str,
) {
    let mut problems = Vec::new();
    for id in selected {
        let Some(case) = cases.get(*id) else {
            problems.push(format!("{id} is missing from the report"));
            continue;
        };
        let broken = expect.broken.contains(id);
        // A case kept from running repeats the preflight finding's first clause; the answer
        // itself is in that finding's preflight line.
        let mut reason = case.reason.to_lowercase();
        if matches!(case.outcome.as_str(), "skipped" | "blocked") {
            for line in output.lines().filter(|l| l.starts_with("preflight")) {
                reason.push('\n');
                reason.push_str(&line.to_lowercase());
            }
        }
        match (broken, case.outcome.as_str()) {
            (false, "passed") => {}
            (false, other) => problems.push(format!(
                "{id} should pass (unaffected) but is {other}: {}",
                case.reason
            )),
            (true, "passed") => problems.push(format!("{id} should not pass")),
            (true, _)
                if !expect
                    .reasons
                    .iter()
                    .any(|r| reason.contains(&r.to_lowercase())) =>
            {
                problems.push(format!(
                    "{id} is {} but its reason names none of {:?}: {}",
                    case.outcome, expect.reasons, case.reason
                ))
            }
            (true, _) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "{label}:\n  {}\n{output}",
        problems.join("\n  ")
    );
}

/// One test per behaviour: `corpus!(name, place, behaviour, [federation url,] expect)`.
macro_rules! corpus {
    ($name:ident, $place:expr, $behaviour:expr, $expect:expr) => {
        corpus!($name, $place, $behaviour, FederationUrl::Front, $expect);
    };
    ($name:ident, $place:expr, $behaviour:expr, $url:expr, $expect:expr) => {
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            run($place, $behaviour, $url, $expect).await;
        }
    };
}

const fn broken(cases: &'static [&'static str], reasons: &'static [&'static str]) -> Expect {
    Expect {
        broken: cases,
        reasons,
    }
}

use Behaviour as B;
use Place as P;
// Control runs: the front itself changes nothing.
corpus!(control_client, P::ClientMedia, B::Correct, NOTHING);
corpus!(control_federation, P::FederationMedia, B::Correct, NOTHING);

// Transport, on the client media endpoints.
corpus!(
    close_before_answer,
    P::ClientMedia,
    B::CloseBeforeAnswer,
    broken(CLIENT_MEDIA, &["closed the connection before the response"])
);
corpus!(
    reset_mid_headers,
    P::ClientMedia,
    B::ResetMidHeaders,
    broken(
        CLIENT_MEDIA,
        &[
            "reset the connection",
            "closed the connection before the response"
        ]
    )
);
corpus!(
    reset_mid_body,
    P::ClientMedia,
    B::ResetMidBody,
    broken(CLIENT_MEDIA, &["reset the connection"])
);
corpus!(
    body_shorter_than_content_length,
    P::ClientMedia,
    B::BodyShorterThanContentLength,
    broken(
        CLIENT_MEDIA,
        &[
            "before the length its content-length announced",
            "closed the connection before the response"
        ]
    )
);
// The thumbnail case only asks for a 200: half a thumbnail still is one.
corpus!(
    body_longer_than_content_length,
    P::ClientMedia,
    B::BodyLongerThanContentLength,
    broken(&["C-01", "B-01.download"], &["bytes", "json"])
);
// Content-Type checks read headers only: C-02 and B-04 are unaffected by a long body.
corpus!(
    endless_body,
    P::ClientMedia,
    B::EndlessBody,
    broken(
        &["C-01", "B-01.download"],
        &["truncated at the body cap", "expected 401, got 200"]
    )
);
corpus!(
    gibibyte_body,
    P::ClientMedia,
    B::GibibyteBody,
    broken(
        &["C-01", "B-01.download"],
        &["truncated at the body cap", "expected 401, got 200"]
    )
);
corpus!(
    headers_never_finish,
    P::ClientMedia,
    B::HeadersNeverFinish,
    broken(CLIENT_MEDIA, &["no complete response within"])
);
corpus!(
    silent_after_status_line,
    P::ClientMedia,
    B::SilentAfterStatusLine,
    broken(CLIENT_MEDIA, &["no complete response within"])
);
corpus!(
    trickle_body,
    P::ClientMedia,
    B::TrickleBody,
    broken(CLIENT_MEDIA, &["no complete response within"])
);
corpus!(
    huge_header_line,
    P::ClientMedia,
    B::HugeHeaderLine,
    broken(CLIENT_MEDIA, &["header section is too large"])
);
corpus!(
    many_headers,
    P::ClientMedia,
    B::ManyHeaders,
    broken(
        CLIENT_MEDIA,
        &["header section is too large", "too many header"]
    )
);
corpus!(
    interim_responses_are_fine,
    P::ClientMedia,
    B::InterimResponses,
    NOTHING
);
corpus!(
    unknown_success_status,
    P::ClientMedia,
    B::UnknownSuccessStatus,
    broken(CLIENT_MEDIA, &["299"])
);
corpus!(
    unknown_error_status,
    P::ClientMedia,
    B::UnknownErrorStatus,
    broken(CLIENT_MEDIA, &["599"])
);
corpus!(
    garbage_status_line,
    P::ClientMedia,
    B::GarbageStatusLine,
    broken(CLIENT_MEDIA, &["the answer is not http"])
);
corpus!(
    http10_close_delimited_is_fine,
    P::ClientMedia,
    B::Http10CloseDelimited,
    NOTHING
);
corpus!(
    conflicting_content_length,
    P::ClientMedia,
    B::ConflictingContentLength,
    broken(CLIENT_MEDIA, &["content-length is invalid"])
);
corpus!(
    bad_chunk_size,
    P::ClientMedia,
    B::BadChunkSize,
    broken(CLIENT_MEDIA, &["chunked body is malformed"])
);

// Error bodies, on the answers to requests without a token.
corpus!(
    invalid_utf8_error_body,
    P::ClientMediaWithoutToken,
    B::InvalidUtf8ErrorBody,
    broken(&["B-01.download"], &["json"])
);
corpus!(
    invalid_json_error_body,
    P::ClientMediaWithoutToken,
    B::InvalidJsonErrorBody,
    broken(&["B-01.download"], &["json"])
);
corpus!(
    html_error_page,
    P::ClientMediaWithoutToken,
    B::HtmlErrorPage,
    broken(&["B-01.download"], &["502"])
);

// Content labels, and codings nobody asked for (every request says Accept-Encoding: identity).
corpus!(
    missing_content_type,
    P::ClientMedia,
    B::MissingContentType,
    broken(&["C-02", "B-01.download"], &["content-type"])
);
corpus!(
    wrong_content_type,
    P::ClientMedia,
    B::WrongContentType,
    broken(&["C-02", "B-01.download"], &["content-type", "text/html"])
);
// A coding mediaconf decodes: the media arrives intact, nothing fails.
corpus!(
    gzip_unasked_is_decoded,
    P::ClientMedia,
    B::GzipUnasked,
    NOTHING
);
corpus!(
    deflate_that_does_not_decode,
    P::ClientMedia,
    B::DeflateUnasked,
    broken(
        CLIENT_MEDIA,
        &["content-encoding: deflate` body does not decode"]
    )
);
corpus!(
    brotli_unasked,
    P::ClientMedia,
    B::BrotliUnasked,
    broken(
        CLIENT_MEDIA,
        &["content-encoding: br`, which mediaconf does not decode"]
    )
);
corpus!(
    compression_bomb,
    P::ClientMedia,
    B::CompressionBomb,
    broken(
        &["C-01", "B-01.download"],
        &["truncated at the body cap", "expected 401, got 200"]
    )
);

// Redirects. B-04 accepts a 307 (the token was accepted): only the cases that want content fail.
corpus!(
    redirect_loop,
    P::ClientMedia,
    B::RedirectLoop,
    broken(&["C-01", "C-02", "B-01.download"], &["redirect", "307"])
);
corpus!(
    redirect_without_location,
    P::ClientMedia,
    B::RedirectWithoutLocation,
    broken(&["C-01", "C-02", "B-01.download"], &["307", "location"])
);
corpus!(
    redirect_to_ftp,
    P::ClientMedia,
    B::RedirectToFtp,
    broken(
        &["C-01", "C-02", "B-01.download"],
        &["ftp", "307", "scheme"]
    )
);

#[tokio::test(flavor = "multi_thread")]
async fn redirect_to_another_host_drops_the_authorization_header() {
    let sink = run(
        P::ClientMedia,
        B::RedirectToOtherHost,
        FederationUrl::Front,
        broken(CLIENT_MEDIA, &["404", "m_not_found"]),
    )
    .await;
    let received = sink.lock().unwrap().clone();
    assert!(
        !received.is_empty(),
        "the other host received nothing: the redirect was not followed"
    );
    for headers in &received {
        assert!(
            !headers.iter().any(|(n, _)| n == "authorization"),
            "the Authorization header followed a redirect to another host: {headers:?}"
        );
    }
}

// The federation port: unreachable is one root cause for every federation case.
corpus!(
    federation_connection_refused,
    P::FederationMedia,
    B::Correct,
    FederationUrl::Refused,
    broken(FEDERATION_CASES, &["connection refused"])
);
corpus!(
    federation_tls_handshake_fails,
    P::FederationMedia,
    B::Correct,
    FederationUrl::TlsToPlainPort,
    broken(FEDERATION_CASES, &["tls handshake failed"])
);
// Only the media endpoints misbehave: the key document and unknown endpoints still judge.
corpus!(
    federation_reset_mid_body,
    P::FederationMedia,
    B::ResetMidBody,
    broken(FEDERATION_MEDIA, &["reset the connection"])
);
corpus!(
    federation_trickle,
    P::FederationMedia,
    B::TrickleBody,
    broken(FEDERATION_MEDIA, &["no complete response within"])
);
corpus!(
    federation_endless_body,
    P::FederationMedia,
    B::EndlessBody,
    broken(
        FEDERATION_MEDIA,
        &["truncated", "body cap", "multipart", "content-type"]
    )
);

// Multipart, on federation media answers. F-01 only asks for 200 multipart/mixed with a
// boundary, which most of these still are.
corpus!(
    multipart_three_parts,
    P::FederationMedia,
    B::Multipart(MultipartFault::ThreeParts),
    broken(&["F-02", "F-09"], &["part"])
);
corpus!(
    multipart_one_part,
    P::FederationMedia,
    B::Multipart(MultipartFault::OnlyJsonPart),
    broken(&["F-02", "F-05", "F-09"], &["part"])
);
corpus!(
    multipart_metadata_not_json,
    P::FederationMedia,
    B::Multipart(MultipartFault::InvalidJson),
    broken(&["F-05", "F-09"], &["json"])
);
corpus!(
    multipart_metadata_array,
    P::FederationMedia,
    B::Multipart(MultipartFault::JsonArray),
    broken(&["F-05", "F-09"], &["json", "array"])
);
corpus!(
    multipart_no_close_delimiter,
    P::FederationMedia,
    B::Multipart(MultipartFault::NoCloseDelimiter),
    broken(
        &["F-02", "F-09"],
        &["no delimiter follows", "close delimiter"]
    )
);
corpus!(
    multipart_lf_only,
    P::FederationMedia,
    B::Multipart(MultipartFault::LfOnly),
    broken(&["F-02", "F-09"], &["lf", "crlf"])
);
corpus!(
    multipart_boundary_mismatch,
    P::FederationMedia,
    B::Multipart(MultipartFault::BoundaryMismatch),
    broken(&["F-02", "F-05", "F-09"], &["delimiter", "boundary"])
);
corpus!(
    multipart_without_boundary,
    P::FederationMedia,
    B::MultipartWithoutBoundary,
    broken(FEDERATION_MEDIA, &["boundary"])
);
corpus!(
    multipart_hundred_thousand_parts,
    P::FederationMedia,
    B::HundredThousandParts,
    broken(&["F-02", "F-05", "F-09"], &["close delimiter", "100001"])
);
corpus!(
    multipart_endless,
    P::FederationMedia,
    B::EndlessMultipart,
    broken(&["F-02", "F-05", "F-09"], &["close delimiter", "part"])
);

// The target's key document (F-31 is SHOULD: a warning, exit 0). Changing a field breaks the
// self-signature too, so the first finding may name either.
corpus!(
    key_bad_self_signature,
    P::KeyDocument,
    B::KeyBadSignature,
    broken(&["F-31"], &["signature"])
);
corpus!(
    key_expired,
    P::KeyDocument,
    B::KeyExpired,
    broken(&["F-31"], &["valid_until_ts", "expired", "self-signature"])
);
corpus!(
    key_wrong_server_name,
    P::KeyDocument,
    B::KeyWrongServerName,
    broken(
        &["F-31"],
        &["server_name", "someone-else", "self-signature"]
    )
);
corpus!(
    key_not_json,
    P::KeyDocument,
    B::KeyNotJson,
    broken(&["F-31"], &["json"])
);

/// Registration answered with nonsense: a preflight error (exit 2) naming what came back, and
/// both reports still written.
async fn registration(behaviour: Behaviour, needle: &str) {
    let fake = FakeTarget::start(Fault::None).await;
    let front = hostile_support::start(&fake.url(), P::Registration, behaviour).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("report.xml");
    let args: Vec<OsString> = vec![
        "--target".into(),
        front.url().into(),
        "--profile".into(),
        "client".into(),
        "--timeout".into(),
        "5".into(),
        "--junit".into(),
        junit.clone().into(),
    ];
    let dir2 = tempfile::tempdir().unwrap();
    let json = dir2.path().join("r.json");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .arg("run")
            .args(&args)
            .arg("--json")
            .arg(&json)
            .args(["--color", "never"])
            .env_remove("MEDIACONF_TARGET")
            .env_remove("MEDIACONF_REGISTRATION_TOKEN")
            .env_remove("MEDIACONF_REGISTRATION_SHARED_SECRET")
            .env_remove("MEDIACONF_USER_TOKEN")
            .output()
            .map(|o| (o, std::fs::read_to_string(&json)))
    })
    .await
    .unwrap()
    .unwrap();
    let (output, json) = output;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.to_lowercase().contains(needle),
        "the error names what registration answered ({needle}): {stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&json.expect("JSON report written")).expect("JSON parses");
    assert!(
        json["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{json}"
    );
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    quick_junit::Report::deserialize_from_str(&xml).expect("JUnit parses");
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_answered_with_nonsense() {
    registration(B::RegistrationNonsense, "access_token").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn registration_answered_with_html() {
    registration(B::RegistrationHtml, "no access_token").await;
}
