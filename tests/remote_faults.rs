//! Requester fault matrix: tests the tester's `remote` profile. For each [`RemoteFault`] the
//! in-process fake target (`federation_support`, acting as a requester) fetches remote media
//! from mediaconf's mock peer the way a homeserver does, with exactly one rule broken; the real
//! `mediaconf` binary runs `--profile remote`, and the test checks that exactly the
//! case ids listed in [`breaks`] come out failed (MUST) or warned (SHOULD/GAP), each with a
//! reason, and that the exit code matches. With `RemoteFault::None` every case passes except
//! the manual G-10. A last test shows that a target
//! that never reaches the peer gets the remote cases skipped with the configuration fix.

mod federation_support;
mod harness;

use federation_support::{FakeFederation, RemoteFault};

/// The cases a fault must break.
fn breaks(fault: RemoteFault) -> &'static [&'static str] {
    match fault {
        RemoteFault::None => &[],
        // G-11 (SHOULD: the fallback is MSC3916's "should") wants the fallback and its bytes
        // (G-12 is blocked, see `blocks`).
        RemoteFault::NeverFallsBack => &["G-11"],
        // 404 M_NOT_FOUND, a 404 with HTML and 400 M_UNRECOGNIZED fall back: the G-13 family
        // is INFO (implementations split), so it is observed (see `observes`). The deprecated
        // path does not have the missing media either, so the client still gets the 404
        // G-13.status asks for.
        RemoteFault::FallsBackOnAny4xx => &[],
        RemoteFault::FallbackWithoutAllowRemote => &["G-12"],
        // The empty Location part is served: no CDN request, wrong bytes (an empty 200 for the
        // failing Locations of G-24.* too). The relative Location case is INFO (see
        // `observes`).
        RemoteFault::IgnoresLocation => &[
            "G-09",
            "G-09.https",
            "G-24.404-html",
            "G-24.500",
            "G-24.loop",
        ],
        RemoteFault::AcceptsThreeParts => &["G-14.three-parts"],
        RemoteFault::DoesNotSign => &["G-03"],
        RemoteFault::SignsWrongDestination => &["G-03"],
        RemoteFault::OmitsDestination => &["G-03"],
        // No outbound request, as G-19 and G-20 ask; G-18 and G-19 (the freeze's SHOULD) want
        // its 404, G-20 only that nothing was fetched (G-20.status, INFO, records the 502).
        RemoteFault::DeprecatedAnswers502 => &["G-18", "G-19"],
        // G-02 and G-16 (MUST) want the federation endpoints first; the G-13 family (INFO)
        // observes the deprecated request. Every other case with a scenario is blocked (see
        // `blocks`).
        RemoteFault::LegacyFirst => &["G-02", "G-16"],
        // HTML and SVG stay inline, the PNG stays attachment (G-22.*, SHOULD).
        RemoteFault::OriginDisposition => &["G-22.html", "G-22.svg", "G-22.png"],
        // text/plain; charset=utf-8 is not found in the list: attachment (SHOULD inline).
        RemoteFault::AllowListWithParams => &["G-22.text-charset"],
        RemoteFault::NoSecurityHeaders => &["G-23.csp", "G-23.corp"],
        RemoteFault::RemoteThumbnailAttachment => &["G-16.headers"],
        // The 404 page, the 500 text and the redirect's empty body are served with 200.
        RemoteFault::ServesFailedLocation => &["G-24.404-html", "G-24.500", "G-24.loop"],
        // The second request is served from the cache of the failure.
        RemoteFault::CachesFailedLocation => &["G-24.404-html", "G-24.500", "G-24.loop"],
        // 502 for the valid variants (SHOULD).
        RemoteFault::StrictPartHeaders => &[
            "G-04.disposition-first",
            "G-04.header-case",
            "G-04.json-charset",
        ],
        // The names sent only as filename* are lost (MUST).
        RemoteFault::IgnoresFilenameStar => &["G-06.non-ascii", "G-06.filename-star"],
        RemoteFault::PassesOriginRefusal => &["G-25.401", "G-25.403"],
        // The bytes arrive (G-04.* pass), the file name does not (G-06.*, MUST).
        RemoteFault::LosesFilenameOnVariants => &[
            "G-06.disposition-first",
            "G-06.header-case",
            "G-06.json-charset",
        ],
    }
}

/// The INFO cases a fault must show as an observation with a finding.
fn observes(fault: RemoteFault) -> &'static [&'static str] {
    const G13: &[&str] = &[
        "G-13",
        "G-13.html",
        "G-13.400",
        "G-13.401",
        "G-13.403",
        "G-13.502",
        "G-13.504",
    ];
    match fault {
        RemoteFault::FallsBackOnAny4xx => &["G-13", "G-13.html", "G-13.400"],
        RemoteFault::IgnoresLocation => &["G-09.relative"],
        RemoteFault::LegacyFirst => G13,
        _ => &[],
    }
}

/// The cases a fault must block (not run: their rule was never exercised), with a word of
/// the reason.
fn blocks(fault: RemoteFault) -> (&'static [&'static str], &'static str) {
    match fault {
        // G-12 is blocked by its set-up step (the fallback did not happen), not failed.
        RemoteFault::NeverFallsBack => (&["G-12"], "set-up step"),
        // Served only on the deprecated path, no scenario was exercised: a pass or a failure
        // there would judge media the federation path never sent. (G-13.status and G-15 are
        // not: the deprecated path fails for them too, so the fake then asks over federation.)
        RemoteFault::LegacyFirst => (
            &[
                "G-03",
                "G-04",
                "G-04.concurrent",
                "G-04.mixed-case-boundary",
                "G-04.no-content-length",
                "G-04.no-leading-crlf",
                "G-04.no-part-headers",
                "G-04.one-byte-chunks",
                "G-04.preamble",
                "G-04.quoted-boundary",
                "G-05",
                "G-06",
                "G-06.non-ascii",
                "G-07",
                "G-08",
                "G-09",
                "G-09.https",
                "G-09.relative",
                "G-14.json-array",
                "G-14.no-boundary",
                "G-14.no-close-delimiter",
                "G-14.not-json",
                "G-14.one-part",
                "G-14.three-parts",
                "G-17",
                "G-18",
                "G-21",
                "G-04.disposition-first",
                "G-04.header-case",
                "G-04.json-charset",
                "G-06.filename-star",
                "G-06.disposition-first",
                "G-06.header-case",
                "G-06.json-charset",
                "G-16.headers",
                "G-22.html",
                "G-22.svg",
                "G-22.png",
                "G-22.text-charset",
                "G-23.csp",
                "G-23.corp",
            ],
            "remote fetch path",
        ),
        _ => (&[], ""),
    }
}

/// Skipped in every run: not automated.
const ALWAYS_SKIPPED: &[&str] = &["G-10"];

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

async fn run_remote(fake: &FakeFederation, label: &str) -> harness::Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args: Vec<std::ffi::OsString> = [
        "--target",
        &fake.url(),
        "--federation-url",
        &fake.url(),
        "--profile",
        "remote",
        "--jobs",
        "8",
        "--timeout",
        "15",
    ]
    .iter()
    .map(Into::into)
    .collect();
    args.extend(harness::peer_args(dir.path()));
    harness::run_mediaconf(args, label.to_string()).await
}

async fn check_fault(fault: RemoteFault) {
    let fake = FakeFederation::start_requester(fault).await;
    let run = run_remote(&fake, &format!("{fault:?}")).await;
    drop(fake);
    let mut problems = Vec::new();
    for (id, c) in &run.cases {
        let skip_ok = ALWAYS_SKIPPED.contains(&id.as_str());
        let (blocked, why) = blocks(fault);
        let blocked_ok = blocked.contains(&id.as_str());
        match c.outcome.as_str() {
            "skipped" if skip_ok => {}
            "blocked" if blocked_ok && c.reason.contains(why) => {}
            "passed" | "failed" | "warned" | "info" if !skip_ok && !blocked_ok => {}
            other => problems.push(format!("{id} is {other} ({})", c.reason)),
        }
        if matches!(c.outcome.as_str(), "failed" | "warned") {
            println!("{fault:?}: {id} {}: {}", c.outcome, c.reason);
        }
    }
    // The mock peer preflight line is a ✔ only for a first request over federation whose
    // signature verified.
    let doubtful = matches!(
        fault,
        RemoteFault::LegacyFirst
            | RemoteFault::DoesNotSign
            | RemoteFault::SignsWrongDestination
            | RemoteFault::OmitsDestination
    );
    if run.output.contains("✔ mock peer") == doubtful {
        problems.push(format!(
            "the mock peer preflight line is {}a ✔",
            if doubtful { "" } else { "not " }
        ));
    }
    let must_broken = harness::compare_broken(&run.cases, breaks(fault), &mut problems);
    harness::compare_observed(&run.cases, observes(fault), &mut problems);
    // A failed MUST case exits 1; otherwise a blocked case (not run) exits 2.
    let blocked = run.cases.values().any(|c| c.outcome == "blocked");
    let want_exit = match (must_broken, blocked) {
        (true, _) => 1,
        (false, true) => 2,
        (false, false) => 0,
    };
    if run.exit_code != Some(want_exit) {
        problems.push(format!(
            "exit code {:?}, expected {want_exit}",
            run.exit_code
        ));
    }
    assert!(
        problems.is_empty(),
        "{fault:?}:\n  {}\n{}",
        problems.join("\n  "),
        run.output
    );
}

macro_rules! fault_tests {
    ($($name:ident => $fault:expr,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                check_fault($fault).await;
            }
        )*

        #[test]
        fn every_fault_has_a_test() {
            let tested = [$($fault),*];
            for fault in RemoteFault::ALL {
                assert!(tested.contains(fault), "{fault:?} has no test");
            }
        }
    };
}

fault_tests! {
    a_conforming_requester_passes_every_remote_case => RemoteFault::None,
    never_falling_back => RemoteFault::NeverFallsBack,
    fetching_legacy_first => RemoteFault::LegacyFirst,
    deprecated_answering_502 => RemoteFault::DeprecatedAnswers502,
    falling_back_on_any_4xx => RemoteFault::FallsBackOnAny4xx,
    falling_back_without_allow_remote_false => RemoteFault::FallbackWithoutAllowRemote,
    ignoring_location => RemoteFault::IgnoresLocation,
    accepting_three_parts => RemoteFault::AcceptsThreeParts,
    not_signing => RemoteFault::DoesNotSign,
    signing_the_wrong_destination => RemoteFault::SignsWrongDestination,
    omitting_the_destination => RemoteFault::OmitsDestination,
    keeping_the_origin_disposition => RemoteFault::OriginDisposition,
    comparing_the_allow_list_with_parameters => RemoteFault::AllowListWithParams,
    serving_remote_media_without_csp_and_corp => RemoteFault::NoSecurityHeaders,
    serving_remote_thumbnails_as_attachment => RemoteFault::RemoteThumbnailAttachment,
    serving_a_failed_location => RemoteFault::ServesFailedLocation,
    caching_a_failed_location => RemoteFault::CachesFailedLocation,
    reading_only_one_spelling_of_part_headers => RemoteFault::StrictPartHeaders,
    ignoring_filename_star => RemoteFault::IgnoresFilenameStar,
    passing_on_the_origin_refusal => RemoteFault::PassesOriginRefusal,
    losing_the_filename_of_valid_variants => RemoteFault::LosesFilenameOnVariants,
}

/// A target that cannot reach the peer (here: the peer announces a server name nothing listens
/// on) gets every remote case skipped with one reason that names the fix, and exit code 2
/// because requested cases did not run.
#[tokio::test(flavor = "multi_thread")]
async fn a_target_that_never_contacts_the_peer_gets_the_remote_cases_skipped_with_the_fix() {
    let fake = FakeFederation::start_requester(RemoteFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let unreachable = format!("127.0.0.1:{}", free_port());
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--federation-url".into(),
        fake.url().into(),
        "--profile".into(),
        "remote".into(),
        "--peer-server-name".into(),
        unreachable.clone().into(),
    ];
    args.extend(harness::peer_args(dir.path()));
    let run = harness::run_mediaconf(args, "unreachable peer".into()).await;
    assert_eq!(run.exit_code, Some(2), "{}", run.output);
    for (id, c) in &run.cases {
        if id == "G-10" {
            continue;
        }
        assert_eq!(c.outcome, "skipped", "{id}: {}", c.reason);
        // The serial cases also sign a request as the peer, which cannot work either: they
        // are skipped for the federation set-up, which names the unreachable key server.
        let peer_reason = c.reason.contains("never contacted the mock peer");
        let federation_reason = c.reason.contains("preflight federation");
        assert!(
            (peer_reason && c.reason.contains(&unreachable)) || federation_reason,
            "{id}: {}",
            c.reason
        );
    }
    assert!(run.output.contains("--allow-skipped"), "{}", run.output);
    // The preflight line has the fix, for each implementation.
    assert!(
        run.output.lines().any(|l| l.starts_with("preflight")
            && l.contains("never contacted the mock peer")
            && l.contains("ip_range_blacklist")
            && l.contains("Conduit family")),
        "{}",
        run.output
    );
    assert!(
        run.output.lines().any(|l| l.starts_with("preflight")
            && l.contains("federation")
            && l.contains(&unreachable)),
        "{}",
        run.output
    );
}

/// The opt-in probe profiles report what the target serves, never a failure: the fake serves
/// none of the MSC1902 or unstable MSC3916 endpoints, and every probe says so.
#[tokio::test(flavor = "multi_thread")]
async fn probe_profiles_report_not_implemented_endpoints() {
    let fake = FakeFederation::start_requester(RemoteFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--federation-url".into(),
        fake.url().into(),
        "--profile".into(),
        "msc1902,unstable".into(),
    ];
    args.extend(harness::peer_args(dir.path()));
    let run = harness::run_mediaconf(args, "probe profiles".into()).await;
    assert_eq!(run.exit_code, Some(0), "{}", run.output);
    assert_eq!(run.cases.len(), 21, "{}", run.output);
    for (id, c) in &run.cases {
        assert_eq!(
            (c.outcome.as_str(), c.reason.as_str()),
            ("passed", "not implemented (M_UNRECOGNIZED)"),
            "{id}"
        );
    }
}

/// With the target's federation API out of reach, the peer cannot fetch the target's key: no
/// case judges a signature it could not check (G-03 never fails on a valid signature), and
/// nothing fails at all.
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_federation_api_never_fails_a_signature_case() {
    let fake = FakeFederation::start_requester(RemoteFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--federation-url".into(),
        nowhere.clone().into(),
        "--profile".into(),
        "remote".into(),
        "--timeout".into(),
        "15".into(),
    ];
    args.extend(harness::peer_args(dir.path()));
    let run = harness::run_mediaconf(args, "federation API out of reach".into()).await;
    let g03 = &run.cases["G-03"];
    assert!(
        matches!(g03.outcome.as_str(), "skipped" | "blocked"),
        "G-03 is {} ({})",
        g03.outcome,
        g03.reason
    );
    assert!(g03.reason.contains("federation API"), "{}", g03.reason);
    for (id, c) in &run.cases {
        assert_ne!(c.outcome, "failed", "{id}: {}", c.reason);
    }
    assert_eq!(run.exit_code, Some(2), "{}", run.output);
}

/// A plain-HTTP target whose federation API shares the client port: discovery finds
/// `https://` there, which cannot work. The preflight line starts with the flag and the URL
/// that does (the client port answers our key request), nothing is judged on it, exit 2.
#[tokio::test(flavor = "multi_thread")]
async fn a_plain_http_target_is_told_which_federation_url_to_pass() {
    let fake = FakeFederation::start_requester(RemoteFault::None).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let port = fake.url().rsplit(':').next().unwrap().to_string();
    let mut args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--server-name".into(),
        format!("127.0.0.1:{port}").into(),
        "--profile".into(),
        "federation,remote".into(),
        "--timeout".into(),
        "10".into(),
    ];
    args.extend(harness::peer_args(dir.path()));
    let run = harness::run_mediaconf(args, "plain-HTTP federation".into()).await;
    let wanted = format!("federation API: pass --federation-url {}: ", fake.url());
    assert!(
        run.output
            .lines()
            .any(|l| l.starts_with("preflight") && l.contains(&wanted)),
        "{}",
        run.output
    );
    for (id, c) in &run.cases {
        assert_ne!(c.outcome, "failed", "{id}: {}", c.reason);
    }
    assert!(!run.output.contains("✔ mock peer"), "{}", run.output);
    assert_eq!(run.exit_code, Some(2), "{}", run.output);
}
