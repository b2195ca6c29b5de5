//! Federation fault matrix: tests the tester's `federation` profile. For each [`FedFault`] an
//! in-process fake federation target (`federation_support`) breaks exactly one rule, the real
//! `mediaconf` binary runs the federation profile against it (signing with its own key, served
//! from its own HTTPS key server on a free port), and the test checks that exactly the case ids
//! listed in [`breaks`] come out failed or warned, each with a reason, and that the exit code
//! matches (1 when a MUST case failed, else 0). With `FedFault::None` everything passes, except
//! the manual cases, which are skipped. `NeverFetchesKeys` and `ProxyRewritesUri`
//! check the preflight: a target that never fetches the tester's key, or fetches it and still
//! refuses signed requests, gets every federation case skipped with the fix, and exit code 0.
//! A coverage test checks that every running MUST case is broken by some fault or listed in
//! [`NOT_COVERED`].
//!
//! When a suite changes, a failing test prints the actual list to paste into `breaks`.

mod federation_support;
mod harness;

use std::collections::{BTreeMap, BTreeSet};

use federation_support::{FakeFederation, FedFault};

/// The case ids that must change from passed to failed (MUST) or warned (SHOULD/MAY/GAP) when the
/// fake has `fault`. INFO cases (F-30) never fail, so they never appear here.
fn breaks(fault: FedFault) -> &'static [&'static str] {
    match fault {
        FedFault::None => &[],
        // ---- the multipart response ----
        // Raw bytes: F-01 checks the multipart/mixed Content-Type, F-02/F-09 the framing, and
        // every case that looks inside the parts finds none (F-03 … F-06, F-10, F-12, F-16).
        FedFault::NotMultipart => &[
            "F-01", "F-02", "F-03", "F-04", "F-05", "F-06", "F-09", "F-10", "F-12", "F-16",
        ],
        // Only the part-count rule breaks: F-02 (download) and F-09 (thumbnail) check it; the
        // first two parts are still right, so F-03 … F-06, F-10, F-12 and F-16 pass.
        FedFault::ThreeParts => &["F-02", "F-09"],
        // F-03 and F-09 check the json-part rule. Without a metadata object the media part is
        // not extracted, so every case that looks at part 2 fails too (F-04 … F-06, F-10, F-12,
        // F-16), and so does F-02.
        FedFault::JsonArray => &[
            "F-03", "F-04", "F-05", "F-06", "F-09", "F-10", "F-12", "F-16",
        ],
        // A framing rule: F-02 (download) and F-09 (thumbnail); the parts are still extracted.
        FedFault::NoCloseDelimiter => &["F-02", "F-09"],
        // A framing rule: F-02 (download) and F-09 (thumbnail); the parts are still extracted.
        FedFault::LfOnly => &["F-02", "F-09"],
        // F-05 and F-16 compare part 2 of the download with the upload. Thumbnails keep their
        // bytes.
        FedFault::WrongBytes => &["F-05", "F-16"],
        // F-06 (SHOULD) wants the upload's file name in part 2.
        FedFault::NoFilename => &["F-06"],
        // F-06 (SHOULD) wants the uploaded type in part 2 (F-05 and F-16 compare only bytes).
        FedFault::OctetStreamDownloads => &["F-06"],
        // F-10 (SHOULD) wants part 2's type to match the image bytes. (F-12's thumbnail is a
        // PNG too, but F-12 only checks that it is static.)
        FedFault::ThumbnailMislabelled => &["F-10"],
        // F-08 does not follow redirects; every other download case follows the 307 to an
        // unauthenticated copy of the same response and passes.
        FedFault::RedirectTopLevel => &["F-08"],
        // ---- request authentication ----
        // The unsigned request is served: F-17 (4xx) sees a 200 (F-17.status, INFO, records it).
        // F-24 sends `Bearer …`, which is still no valid X-Matrix header.
        FedFault::AcceptUnsigned => &["F-17"],
        // F-24 sends the registered user's access token (F-24.status, INFO, records the answer).
        FedFault::AcceptClientToken => &["F-24"],
        // F-19 signs for and names `not-fake.test`; the fake accepts any destination.
        FedFault::IgnoreDestination => &["F-19"],
        // F-20 (SHOULD) sends no destination and expects a 200.
        FedFault::RequireDestination => &["F-20"],
        // F-23 signs with a key listed only in old_verify_keys.
        FedFault::AcceptOldKeys => &["F-23"],
        // A key id missing from verify_keys is let through: F-22 (a key the origin never
        // published) and F-23 (a key only in old_verify_keys, which a fake that lets unknown
        // keys through has no reason to look at).
        // K-03's new key is refused by the fake's key lookup (its document has expired), and
        // then let through as unknown.
        FedFault::AcceptUnknownKey => &["F-22", "F-23"],
        // The key is still looked up in verify_keys (so F-22 and F-23 are still refused), but
        // no signature is checked: F-18 (flipped signature) and F-21 (signature over another
        // uri) are accepted.
        FedFault::IgnoreSignature => &["F-18", "F-21"],
        // Signed requests with a query string no longer verify: the thumbnails (F-09, F-10,
        // F-12; F-11 has no query and still gets its 400) and the pending download with
        // timeout_ms (F-13) get 401, and F-21, whose signature covers only the path, is accepted.
        // F-09.status (SHOULD) wants the thumbnail's 200 (F-21.status, INFO, records the 200).
        FedFault::VerifyPathOnly => &["F-09", "F-09.status", "F-10", "F-12", "F-13", "F-21"],
        // K-02 rotates the key; the new key id is never fetched, so it is refused.
        FedFault::CacheKeysForever => &["K-02"],
        // Every spelling but the canonical one (and the one without destination) is a 400.
        // F-30 (INFO) is refused by the conforming fake too.
        FedFault::StrictHeaderParser => &[
            "F-25.spaces-around-commas",
            "F-25.tabs-around-commas",
            "F-25.uppercase-names",
            "F-25.reordered",
            "F-25.unquoted-tokens",
            "F-25.unknown-param",
            "F-25.lowercase-scheme",
            "F-25.multiple-spaces-after-scheme",
            "F-26",
            "F-27",
        ],
        // The preflight skips every federation case instead; see
        // `never_fetching_keys_skips_federation_cases`.
        FedFault::NeverFetchesKeys => &[],
        // The preflight skips every federation case instead; see
        // `rejecting_after_key_fetch_skips_federation_cases`.
        FedFault::ProxyRewritesUri => &[],
        // ---- errors and other endpoints ----
        // F-15 (GAP) wants M_NOT_FOUND for unknown media. (The preflight probe asks for unknown
        // media too, but only a 401 or 403 makes it fail.)
        FedFault::UnknownMediaUnrecognized => &["F-15"],
        // F-13 wants the 504 M_NOT_YET_UPLOADED.
        FedFault::PendingNot504 => &["F-13"],
        FedFault::PendingWithoutMessage => &["F-13"],
        // F-28 wants M_UNRECOGNIZED for an unknown federation endpoint.
        FedFault::UnknownEndpointNotFound => &["F-28"],
        // F-29 accepts a 404 for POST, but only with M_UNRECOGNIZED.
        FedFault::WrongMethodNotFound => &["F-29"],
        // F-31 (SHOULD) checks the target's key document and its self-signature.
        FedFault::BadKeyDocument => &["F-31"],
        // The document (F-31) and its required fields (F-31.fields, MUST) both lack it.
        FedFault::KeyDocumentWithoutValidUntil => &["F-31", "F-31.fields"],
        // F-14 has the target cache the mock peer's media, then asks for it over federation.
        FedFault::ServesCachedRemoteMedia => &["F-14"],
        // K-03 signs with a new key whose only key document expired an hour ago; the spec is
        // silent and no shared behaviour is known, so K-03 (INFO) records the answer and nothing
        // breaks.
        FedFault::AcceptExpiredKeys => &[],
        // F-07 (SHOULD) wants Content-Type and Content-Disposition at the Location URL; F-06
        // (SHOULD) judges the same headers there, since the media part is a Location.
        FedFault::LocationWithoutHeaders => &["F-06", "F-07"],
        // ---- thumbnails ----
        // F-11 wants a 400 without width and height.
        FedFault::ThumbnailNoParamsOk => &["F-11"],
        // F-12 asks for animated=false from the animated GIF.
        FedFault::AnimatedThumbnail => &["F-12"],
        // Part 2 is the original HTML, SVG or text at 1000x1000 (F-32.*, SHOULD).
        FedFault::ThumbnailServesNonImage => {
            &["F-32.html.large", "F-32.svg.large", "F-32.text.large"]
        }
        // ---- lenient but valid ----
        // Refusing a bad signature or an unknown or old key with 403 is valid (only a wrong
        // destination has a fixed 401): nothing breaks; the INFO `.status` cases record the 403
        // (implementations split between 401 and 403).
        FedFault::RefuseWith403 => &[],
        // Location parts are valid: the cases that judge the media follow them, F-07 judges
        // the URL, and nothing breaks.
        FedFault::LocationParts => &[],
    }
}

/// Running MUST cases that no fault breaks on its own, and why.
const NOT_COVERED: &[(&str, &str)] = &[(
    "K-01",
    "the same signed download as F-16/F-20 with a 200 expected: a fake that refuses it refuses the preflight probe too, and the preflight then skips every case",
)];

/// Cases skipped against a target that answers with inline bytes (every fault but the
/// Location ones): F-07 judges Location parts only.
const ALWAYS_SKIPPED: &[&str] = &["F-07"];

// ------------------------------------------------------------------------------------------------
// Running mediaconf against the fake

use harness::CaseResult;

/// What one run produced.
#[derive(Debug)]
struct RunReport {
    fault: FedFault,
    exit_code: Option<i32>,
    cases: BTreeMap<String, CaseResult>,
    /// How many times the fake fetched the tester's key document.
    key_fetches: usize,
    output: String,
}

/// A port nothing listens on right now, for the tester's key server (tests run in parallel, so
/// the default 8448 would clash).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

async fn run_against(fault: FedFault) -> RunReport {
    run_against_with(fault, &[]).await
}

async fn run_against_with(fault: FedFault, extra: &[&str]) -> RunReport {
    let fake = FakeFederation::start(fault).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_listen = format!("127.0.0.1:{}", free_port());
    let mut report = run_once(&fake, fault, dir.path(), &peer_listen, extra).await;
    report.key_fetches = fake.key_fetches();
    drop(fake);
    report
}

/// One run of the federation profile against `fake`, with the signing key and CA in `dir` and
/// the key server on `peer_listen` (the same values in two runs make the same origin).
async fn run_once(
    fake: &FakeFederation,
    fault: FedFault,
    dir: &std::path::Path,
    peer_listen: &str,
    extra: &[&str],
) -> RunReport {
    let (key, ca) = (dir.join("k.key"), dir.join("ca.pem"));
    let mut args: Vec<std::ffi::OsString> = [
        "--target",
        &fake.url(),
        "--federation-url",
        &fake.url(),
        "--profile",
        "federation",
        "--peer-listen",
        peer_listen,
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend([
        "--signing-key".into(),
        key.into_os_string(),
        "--peer-ca-out".into(),
        ca.into_os_string(),
    ]);
    args.extend(["--jobs", "8", "--timeout", "10"].iter().map(Into::into));
    args.extend(extra.iter().map(Into::into));
    let run = harness::run_mediaconf(args, format!("{fault:?}")).await;
    RunReport {
        fault,
        exit_code: run.exit_code,
        cases: run.cases,
        key_fetches: fake.key_fetches(),
        output: run.output,
    }
}

/// The run with `FedFault::None`, shared by the no-fault test and the coverage test.
async fn baseline() -> &'static RunReport {
    static BASELINE: tokio::sync::OnceCell<RunReport> = tokio::sync::OnceCell::const_new();
    BASELINE.get_or_init(|| run_against(FedFault::None)).await
}

/// Checks a run against `breaks(report.fault)`.
fn check(report: &RunReport) {
    let fault = report.fault;
    assert!(
        !report.cases.is_empty(),
        "{fault:?}: the report has no cases\n{}",
        report.output
    );
    let mut problems = Vec::new();
    for id in ALWAYS_SKIPPED {
        if !report.cases.contains_key(*id) {
            problems.push(format!("{id} is not a case of the run"));
        }
    }
    for (id, c) in &report.cases {
        // F-07 applies only to targets that answer with Location parts.
        let location_fault = matches!(
            fault,
            FedFault::LocationParts | FedFault::LocationWithoutHeaders
        );
        let skip_ok = ALWAYS_SKIPPED.contains(&id.as_str()) && !(id == "F-07" && location_fault);
        match c.outcome.as_str() {
            "passed" | "failed" | "warned" if !skip_ok => {}
            "skipped" if skip_ok => {}
            _ => problems.push(format!("{id} is {} ({})", c.outcome, c.reason)),
        }
    }
    if report.key_fetches == 0 {
        problems.push("the fake never fetched the tester's key".to_string());
    }
    if fault == FedFault::WrongBytes {
        let repro = report.cases["F-05"]
            .reproduction
            .clone()
            .unwrap_or_default();
        if !repro.starts_with("mediaconf request --target http://") {
            problems.push(format!(
                "F-05's reproduction is not `mediaconf request`: {repro}"
            ));
        }
    }
    if fault == FedFault::StrictHeaderParser {
        // A header spelling is replayed with `mediaconf request --auth-variant`.
        let repro = report.cases["F-26"]
            .reproduction
            .clone()
            .unwrap_or_default();
        if !(repro.starts_with("mediaconf request ")
            && repro.contains("--auth-variant unquoted-colon"))
        {
            problems.push(format!(
                "F-26's reproduction has no --auth-variant: {repro}"
            ));
        }
    }
    let must_broken = harness::compare_broken(&report.cases, breaks(fault), &mut problems);
    let want_exit = i32::from(must_broken);
    if report.exit_code != Some(want_exit) {
        problems.push(format!(
            "exit code {:?}, expected {want_exit}",
            report.exit_code
        ));
    }
    let broken: Vec<(&String, &CaseResult)> = report
        .cases
        .iter()
        .filter(|(_, c)| matches!(c.outcome.as_str(), "failed" | "warned"))
        .collect();
    for (id, c) in &broken {
        // curl cannot sign X-Matrix: a signed case's reproduction is `mediaconf request`.
        if let Some(r) = &c.reproduction
            && r.starts_with("curl")
            && r.contains("X-Matrix")
        {
            problems.push(format!(
                "{id} has a curl reproduction of a signed request: {r}"
            ));
        }
        // Shown with --nocapture, to review why each case broke.
        println!("{fault:?}: {id} {}: {}", c.outcome, c.reason);
    }
    let actual: Vec<String> = broken.iter().map(|(id, _)| format!("{id:?}")).collect();
    assert!(
        problems.is_empty(),
        "{fault:?}:\n  {}\nactual broken cases: [{}]\n{}",
        problems.join("\n  "),
        actual.join(", "),
        report.output
    );
}

/// Checks a run whose preflight refused federation: every signed case skipped, all but the
/// [`ALWAYS_SKIPPED`] ones with a reason containing each of `reason_parts`, and exit code
/// `want_exit` (2 when the skip was not accepted with `--allow-skipped`).
/// Federation cases that send no signature (missing header, bearer token, the target's own
/// key document): they run even when the target cannot verify us.
const UNSIGNED: &[&str] = &[
    "F-17",
    "F-17.status",
    "F-24",
    "F-24.status",
    "F-31",
    "F-31.fields",
];

fn check_all_skipped(
    report: &RunReport,
    reason_parts: &[&str],
    preflight_parts: &[&str],
    want_exit: i32,
    problems: &mut Vec<String>,
) {
    // The cases repeat a short reason; the preflight line has the answer and the fix.
    for part in preflight_parts {
        if !report
            .output
            .lines()
            .any(|l| l.starts_with("preflight") && l.contains(part))
        {
            problems.push(format!("no preflight line says {part:?}"));
        }
    }
    for (id, c) in &report.cases {
        if UNSIGNED.contains(&id.as_str()) {
            if c.outcome != "passed" {
                problems.push(format!(
                    "{id} sends no signature and should run and pass, but is {} ({})",
                    c.outcome, c.reason
                ));
            }
        } else if c.outcome != "skipped" {
            problems.push(format!("{id} is {} ({})", c.outcome, c.reason));
        } else if !ALWAYS_SKIPPED.contains(&id.as_str())
            && !reason_parts.iter().all(|p| c.reason.contains(p))
        {
            problems.push(format!("{id} is skipped for another reason: {}", c.reason));
        }
    }
    let preflight_skipped = report
        .cases
        .keys()
        .filter(|id| !ALWAYS_SKIPPED.contains(&id.as_str()) && !UNSIGNED.contains(&id.as_str()))
        .count();
    if preflight_skipped == 0 {
        problems.push("no case was skipped by the preflight".to_string());
    }
    if report.exit_code != Some(want_exit) {
        problems.push(format!(
            "exit code {:?}, expected {want_exit}",
            report.exit_code
        ));
    }
}

// ------------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread")]
async fn no_fault_passes_everything() {
    check(baseline().await);
}

macro_rules! fault_tests {
    ($($name:ident => $fault:ident,)*) => {
        /// Every fault checked against `breaks` (`None`, `NeverFetchesKeys` and
        /// `ProxyRewritesUri` have their own tests).
        const ALL_FAULTS: &[FedFault] = &[$(FedFault::$fault),*];
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                check(&run_against(FedFault::$fault).await);
            }
        )*
    };
}

fault_tests! {
    not_multipart => NotMultipart,
    three_parts => ThreeParts,
    json_array => JsonArray,
    no_close_delimiter => NoCloseDelimiter,
    lf_only => LfOnly,
    wrong_bytes => WrongBytes,
    no_filename => NoFilename,
    octet_stream_downloads => OctetStreamDownloads,
    thumbnail_mislabelled => ThumbnailMislabelled,
    redirect_top_level => RedirectTopLevel,
    accept_unsigned => AcceptUnsigned,
    accept_client_token => AcceptClientToken,
    ignore_destination => IgnoreDestination,
    require_destination => RequireDestination,
    accept_old_keys => AcceptOldKeys,
    accept_unknown_key => AcceptUnknownKey,
    ignore_signature => IgnoreSignature,
    verify_path_only => VerifyPathOnly,
    cache_keys_forever => CacheKeysForever,
    strict_header_parser => StrictHeaderParser,
    unknown_media_unrecognized => UnknownMediaUnrecognized,
    pending_not_504 => PendingNot504,
    pending_without_message => PendingWithoutMessage,
    unknown_endpoint_not_found => UnknownEndpointNotFound,
    wrong_method_not_found => WrongMethodNotFound,
    bad_key_document => BadKeyDocument,
    key_document_without_valid_until => KeyDocumentWithoutValidUntil,
    serves_cached_remote_media => ServesCachedRemoteMedia,
    accept_expired_keys => AcceptExpiredKeys,
    location_without_headers => LocationWithoutHeaders,
    location_parts => LocationParts,
    thumbnail_no_params_ok => ThumbnailNoParamsOk,
    animated_thumbnail => AnimatedThumbnail,
    thumbnail_serves_non_image => ThumbnailServesNonImage,
    refuse_with_403 => RefuseWith403,
}

/// A target that refuses signed requests without fetching our key: the preflight skips every
/// federation case that would run with the fix (reach the key server, for Synapse
/// `federation_verify_certificates`), and skips are not failures.
#[tokio::test(flavor = "multi_thread")]
async fn never_fetching_keys_skips_federation_cases() {
    let report = run_against(FedFault::NeverFetchesKeys).await;
    let mut problems = Vec::new();
    if report.key_fetches != 0 {
        problems.push(format!(
            "the fake fetched keys {} times",
            report.key_fetches
        ));
    }
    check_all_skipped(
        &report,
        &["preflight federation", "never fetched our key"],
        &[
            "never fetched our key",
            "must reach https://",
            "federation_custom_ca_list",
            "SSL_CERT_FILE=",
        ],
        2,
        &mut problems,
    );
    // One line names what did not run, why, and the flag that accepts it.
    let line = report
        .output
        .lines()
        .find(|l| l.starts_with("did not run:"))
        .unwrap_or_default();
    if !(line.contains("federation") && line.contains("--allow-skipped federation")) {
        problems.push(format!("no `did not run` line naming federation: {line:?}"));
    }
    assert!(
        problems.is_empty(),
        "NeverFetchesKeys:\n  {}\n{}",
        problems.join("\n  "),
        report.output
    );
}

/// A target that fetches our key but refuses every signed request: the preflight skips every
/// federation case that would run, pointing at `--peer-server-name`; with `--allow-skipped
/// federation` the run exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn rejecting_after_key_fetch_skips_federation_cases() {
    let report = run_against_with(
        FedFault::ProxyRewritesUri,
        &["--allow-skipped", "federation"],
    )
    .await;
    let mut problems = Vec::new();
    if report.key_fetches == 0 {
        problems.push("the fake never fetched the tester's key".to_string());
    }
    check_all_skipped(
        &report,
        &["fetched our key document"],
        &["fetched our key document", "--peer-server-name"],
        0,
        &mut problems,
    );
    assert!(
        problems.is_empty(),
        "ProxyRewritesUri:\n  {}\n{}",
        problems.join("\n  "),
        report.output
    );
}

/// Every MUST case that runs against the fake is broken by some fault or explained in
/// `NOT_COVERED`; `NOT_COVERED` holds only running MUST cases that no fault breaks.
#[tokio::test(flavor = "multi_thread")]
async fn every_must_case_is_covered() {
    let report = baseline().await;
    let covered: BTreeSet<&str> = ALL_FAULTS
        .iter()
        .flat_map(|f| breaks(*f))
        .copied()
        .collect();
    let problems = harness::coverage_problems(&report.cases, &covered, NOT_COVERED);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Two runs with the same signing key, CA and key-server address against one fake that keeps
/// what it learnt of our keys between runs (a refetched document replaces the cached one): both
/// runs give the same outcome for every case. K-02 rotates throw-away keys only, so the
/// long-lived key is never demoted to `old_verify_keys` and still verifies in the second run.
#[tokio::test(flavor = "multi_thread")]
async fn two_runs_against_a_key_caching_target_agree() {
    let fake = FakeFederation::start(FedFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_listen = format!("127.0.0.1:{}", free_port());
    let first = run_once(&fake, FedFault::None, dir.path(), &peer_listen, &[]).await;
    let second = run_once(&fake, FedFault::None, dir.path(), &peer_listen, &[]).await;
    let outcomes = |r: &RunReport| -> Vec<(String, String)> {
        r.cases
            .iter()
            .map(|(id, c)| (id.clone(), c.outcome.clone()))
            .collect()
    };
    assert_eq!(
        first.exit_code,
        Some(0),
        "the first run passes: {}",
        first.output
    );
    assert_eq!(
        outcomes(&first),
        outcomes(&second),
        "the second run differs:\n{}",
        second.output
    );
    assert_eq!(second.exit_code, first.exit_code, "{}", second.output);
}

/// `mediaconf request` signs one federation request with our key while serving our key server:
/// the fake fetches the key, verifies the signature and answers (404 for unknown media, not
/// the 401 an unverified request gets); the exchange is printed.
#[tokio::test(flavor = "multi_thread")]
async fn request_sends_one_signed_federation_request() {
    let fake = FakeFederation::start(FedFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_listen = format!("127.0.0.1:{}", free_port());
    let (key, ca) = (dir.path().join("k.key"), dir.path().join("ca.pem"));
    let url = fake.url();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_mediaconf"))
            .args(["request", "--target", &url, "--server-name", "fake.test"])
            .args(["--peer-listen", &peer_listen, "--signing-key"])
            .arg(&key)
            .arg("--peer-ca-out")
            .arg(&ca)
            .args([
                "GET",
                "/_matrix/federation/v1/media/download/mediaconfNoSuchMedia",
            ])
            .output()
            .expect("run mediaconf request")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("> Authorization: X-Matrix origin="),
        "{stdout}"
    );
    assert!(
        stdout.contains("< 404"),
        "the signature was verified: {stdout}"
    );
    assert!(stdout.contains("M_NOT_FOUND"), "{stdout}");
    assert!(fake.key_fetches() >= 1, "the fake fetched our key");
}
