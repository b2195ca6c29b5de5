//! Fault matrix: tests the tester. For each [`Fault`] an in-process fake homeserver
//! (`support::fake_target`) breaks exactly one rule, the real `mediaconf` binary runs the
//! client, guest and legacy profiles against it, and the test checks that exactly the case ids
//! listed in [`breaks`] come out failed or warned, each with a reason, and that the exit code
//! matches (1 when a MUST case failed, else 0). With `Fault::None` everything passes or is skipped
//! for an accepted reason. A coverage test checks that every MUST case that runs against the fake
//! is broken by some fault, or is listed in [`NOT_COVERED`] with the reason it is not.
//!
//! When a suite changes, a failing test prints the actual list to paste into `breaks`.

mod harness;
mod support;

use std::collections::{BTreeMap, BTreeSet};

use support::fake_target::{FakeTarget, Fault};

/// The case ids that must change from passed to failed (MUST) or warned (SHOULD/MAY/GAP) when the
/// The INFO cases a fault must show as an observation with a finding (INFO never warns).
fn observes(fault: Fault) -> &'static [&'static str] {
    match fault {
        Fault::SmallScaleSquare => &["D-06.32", "D-06.16"],
        _ => &[],
    }
}

/// fake has `fault`. INFO cases never fail, so they never appear here.
fn breaks(fault: Fault) -> &'static [&'static str] {
    match fault {
        Fault::None => &[],
        // ---- access tokens and generic API behaviour ----
        // A never-issued token (header for B-02, query for B-06) is accepted, so each endpoint
        // answers 200 (the async PUT: 404, the id was never created) instead of 401
        // M_UNKNOWN_TOKEN.
        Fault::AcceptInvalidToken => &[
            "B-02.download",
            "B-02.download-filename",
            "B-02.thumbnail",
            "B-02.config",
            "B-02.preview-url",
            "B-02.upload",
            "B-02.create",
            "B-02.async-upload",
            "B-06.download",
            "B-06.download-filename",
            "B-06.thumbnail",
            "B-06.config",
            "B-06.preview-url",
            "B-06.upload",
            "B-06.create",
            "B-06.async-upload",
        ],
        // The logged-out token made in preflight still works: B-03.* get 200, not 401.
        Fault::LoggedOutStillValid => &[
            "B-03.download",
            "B-03.download-filename",
            "B-03.thumbnail",
            "B-03.config",
            "B-03.preview-url",
        ],
        // Every case sending no token and expecting errcode M_MISSING_TOKEN: B-01.* on the v1
        // endpoints, J-01/J-07/J-08 on upload/create/async PUT, I-08.no-token/I-09 on the
        // deprecated config and preview_url. (B-11 only checks the 401 status.)
        Fault::MissingTokenWrongErrcode => &[
            "B-01.download",
            "B-01.download-filename",
            "B-01.thumbnail",
            "B-01.config",
            "B-01.preview-url",
            "J-01",
            "J-07",
            "J-08",
            "I-08.no-token",
            "I-09",
        ],
        // B-05.*: the valid query token is ignored, so 401 instead of 200. B-06.*: the unknown
        // query token is ignored too, so the answer is M_MISSING_TOKEN, not M_UNKNOWN_TOKEN.
        Fault::QueryTokenRejected => &[
            "B-05.download",
            "B-05.download-filename",
            "B-05.thumbnail",
            "B-05.config",
            "B-05.preview-url",
            "B-06.download",
            "B-06.download-filename",
            "B-06.thumbnail",
            "B-06.config",
            "B-06.preview-url",
            "B-06.upload",
            "B-06.create",
            "B-06.async-upload",
        ],
        // B-08.* expect a 2xx preflight; B-09.preflight and B-09.methods (SHOULD) a 2xx with
        // Allow-Headers and Allow-Methods.
        Fault::OptionsNeedsAuth => &[
            "B-08.download",
            "B-08.download-filename",
            "B-08.thumbnail",
            "B-08.config",
            "B-08.preview-url",
            "B-09.preflight",
            "B-09.methods",
        ],
        Fault::PreflightWithoutMethods => &["B-09.methods"],
        // Every case checking `errcode` or `standard-error` on an error response (the body is
        // no longer JSON). Cases checking only the status (B-11, C-18.*, C-19.*, D-11.*, D-12,
        // *.status, I-06, I-07, I-10) keep passing.
        // Only the `standard-error` checks break (the errcode is still right): the B-01/B-02
        // auth cases, C-20, C-24.*, D-10.*, D-19, E-04 (GAP), H-10, J-01, J-10 … J-13.
        Fault::ErrorsWithoutMessage => &[
            "B-01.config",
            "B-01.download",
            "B-01.download-filename",
            "B-01.preview-url",
            "B-01.thumbnail",
            "B-02.config",
            "B-02.download",
            "B-02.download-filename",
            "B-02.preview-url",
            "B-02.thumbnail",
            "C-20",
            "C-24.download",
            "C-24.thumbnail",
            "D-10.height",
            "D-10.width",
            "D-19",
            "E-04",
            "H-10",
            "J-01",
            "J-10",
            "J-11",
            "J-12",
            "J-13",
        ],
        Fault::ErrorsNotJson => &[
            "B-01.download",
            "B-01.download-filename",
            "B-01.thumbnail",
            "B-01.config",
            "B-01.preview-url",
            "B-02.download",
            "B-02.download-filename",
            "B-02.thumbnail",
            "B-02.config",
            "B-02.preview-url",
            "B-02.upload",
            "B-02.create",
            "B-02.async-upload",
            "B-03.download",
            "B-03.download-filename",
            "B-03.thumbnail",
            "B-03.config",
            "B-03.preview-url",
            "B-06.download",
            "B-06.download-filename",
            "B-06.thumbnail",
            "B-06.config",
            "B-06.preview-url",
            "B-06.upload",
            "B-06.create",
            "B-06.async-upload",
            "B-10.download",
            "B-10.thumbnail",
            "B-10.config",
            "C-17",
            "C-20",
            "C-22",
            "C-24.download",
            "C-24.thumbnail",
            "D-10.width",
            "D-10.height",
            "D-19",
            "D-21",
            "E-02",
            "E-04",
            "I-01.errcode",
            "I-02.filename.errcode",
            "I-02.thumbnail.errcode",
            "I-08.no-token",
            "I-09",
            "J-01",
            "J-05",
            "J-07",
            "J-08",
            "J-10",
            "J-11",
            "J-12",
            "J-13",
            "H-06",
            "H-07",
            "H-08",
            "H-09",
            "H-11.config",
            "H-11.preview-url",
            "H-10",
        ],
        // ---- download ----
        // Every body-equals check on a download: C-01/C-09/C-10/C-11 (user), J-09 (after the
        // async PUT), H-03/H-04 (guest). C-21 gets the 504 (the fake's wait ends before C-21
        // uploads) and E-05 only decodes the image (the flipped byte is in the IEND CRC).
        Fault::WrongBytes => &[
            "C-01", "C-09", "C-10", "C-11", "J-09", "H-03", "H-04", "C-26",
        ],
        // Every content-type check on a download: C-02/C-09/J-09/H-03 (reasonable), C-10
        // (not-one-of) and C-10.octet-stream (one-of) report the header absent.
        Fault::NoContentType => &["C-02", "C-09", "C-10", "C-10.octet-stream", "J-09", "H-03"],
        // Every disposition check on a download reports the header absent.
        Fault::NoDisposition => &[
            "C-03",
            "C-04",
            "C-05",
            "C-06.png",
            "C-06.text",
            "C-06.text-charset",
            "C-06.json",
            "C-06.mp4",
            "C-07.html",
            "C-07.svg",
            "C-07.js",
            "C-07.xhtml",
            "C-07.pdf",
            "C-07.octet",
            "C-08.html",
            "C-08.svg",
            "C-08.js",
            "C-09",
            "C-11",
            "C-12",
            "C-13",
            "J-09",
            "H-03",
            "H-04",
        ],
        // text/html inline: C-07.html and C-13 want attachment, C-08.html inline only if safe.
        // text/plain; charset=utf-8 is not found in the list: attachment (SHOULD inline).
        Fault::InlineAllowListWithParams => &["C-06.text-charset"],
        Fault::HtmlInline => &["C-07.html", "C-08.html", "C-13"],
        // Every download filename check: the upload name (C-04, J-09, H-03) and the path name
        // (C-11, C-12, H-04).
        Fault::NoFilename => &["C-04", "C-11", "C-12", "J-09", "H-03", "H-04"],
        // C-05: media uploaded without a name must download without one.
        Fault::InventedFilename => &["C-05"],
        // The /{fileName} cases get the upload's name instead.
        Fault::IgnorePathFileName => &["C-11", "C-12", "H-04"],
        // C-12 is the only non-ASCII file name.
        Fault::AsciiOnlyFilenames => &["C-12"],
        // The path-name downloads' disposition has no type: C-11, C-12, H-04 (MUST "one of
        // inline or attachment"), C-13 (SHOULD attachment for text/html).
        Fault::PathNameDispositionWithoutType => &["C-11", "C-12", "C-13", "H-04"],
        // Every case using download/…/{fileName} with a token gets 404 M_UNRECOGNIZED: A-01
        // (not-errcode), B-01/02/03/06 (want 401), B-04/B-05 (want 200), C-11/C-12/C-13 and
        // H-04 (want 200). B-08.download-filename passes: OPTIONS never reaches routing.
        // A-01.download-filename judges the missing route; every other case on it is blocked by
        // the one preflight finding (see `preflight_reason`).
        Fault::NoFileNameRoute => &["A-01.download-filename"],
        // C-14 (download) and D-20.csp (thumbnail) want a sandboxing CSP.
        Fault::NoCsp => &["C-14", "D-20.csp"],
        // C-15 (download) and D-20.corp (thumbnail) want CORP cross-origin.
        Fault::NoCorp => &["C-15", "D-20.corp"],
        // The three invalid media ids are served (200): the MUST refusal and its 4xx GAP twin.
        Fault::MediaIdNotSanitised => &[
            "C-18.traversal",
            "C-18.traversal.status",
            "C-18.dot",
            "C-18.dot.status",
            "C-18.nul",
            "C-18.nul.status",
        ],
        // The two invalid server names are served (200).
        Fault::ServerNameNotSanitised => &[
            "C-19.bang",
            "C-19.bang.status",
            "C-19.traversal",
            "C-19.traversal.status",
        ],
        // A 500 is a refusal (the MUST cases pass); only the GAP twins that want a 4xx warn.
        Fault::InvalidIdsCrash => &[
            "C-18.traversal.status",
            "C-18.dot.status",
            "C-18.nul.status",
            "C-19.bang.status",
            "C-19.traversal.status",
        ],
        // Pending media: C-20/C-22/D-19 want 504 M_NOT_YET_UPLOADED, C-21 200 or 504.
        Fault::PendingReturns404 => &["C-20", "C-21", "C-22", "D-19"],
        // ---- thumbnails ----
        // D-02 (PNG source), D-02.jpeg and D-02.gif: the bytes (PNG) disagree with the
        // Content-Type (image/jpeg).
        Fault::ThumbnailMislabelled => &["D-02", "D-02.jpeg", "D-02.gif", "C-26", "D-22"],
        // D-03: thumbnails MUST be inline.
        Fault::ThumbnailAttachment => &["D-03"],
        // D-04: thumbnails SHOULD have a file name.
        Fault::ThumbnailNoFilename => &["D-04"],
        // D-08 (max 640x480) and D-09 (same size as the original) ask for 2000x2000.
        Fault::UpscaleThumbnails => &["D-08", "D-09"],
        // Every min-width/min-height check: D-05 (scale), D-07 (crop), H-05 (guest crop).
        Fault::SmallThumbnails => &["D-05", "D-07", "H-05", "D-22"],
        // D-07 is the only aspect check on a crop (96x96 becomes 128x96; its min size holds).
        Fault::CropKeepsAspect => &["D-07"],
        // D-13 (animated=false, MUST) and D-14 (no animated, SHOULD) want a static image.
        Fault::AnimatedAlways => &["D-13", "D-14"],
        // D-10.* leave out width or height and want a 400.
        Fault::BadParamsOk => &["D-10.width", "D-10.height"],
        // D-11.* (abc, -5) and C-24.thumbnail (abc) want a 4xx.
        Fault::InvalidParamsOk => &["D-11.text", "D-11.negative", "C-24.thumbnail"],
        // ---- config and URL previews ----
        // E-01 checks the type; E-02 and J-05 read the limit in their first step.
        Fault::ConfigNotInteger => &["E-01", "E-02", "J-05"],
        // E-03.image and E-05 require og:image to be present.
        Fault::PreviewWithoutImage => &["E-03.image", "E-05"],
        // E-03, E-03.absolute and E-05 want og:image to match ^mxc://.
        Fault::PreviewImageNotMxc => &["E-03", "E-03.absolute", "E-05"],
        // Every preview with a valid user token fails: the preflight probe no longer mistakes a
        // 401 for "previews disabled", so these run and fail instead of being skipped.
        Fault::PreviewRefusesUsers => &[
            "B-04.preview-url",
            "B-05.preview-url",
            "E-03",
            "E-03.absolute",
            "E-03.image",
            "E-03.title",
            "E-04",
            "E-05",
        ],
        // ---- guests ----
        // H-02: guest registration must ignore username and device_id from the body.
        Fault::GuestHonoursBody => &["H-02"],
        // H-08/H-09 (and their .status GAP twins) want guests refused on upload and create.
        // H-10 still passes: the async PUT is then refused with 403 M_FORBIDDEN (not the owner).
        Fault::GuestCanUpload => &["H-08", "H-08.status", "H-09", "H-09.status"],
        // Each of H-10 and H-10.status writes to its own created item, so both see the 200 (and
        // the cases using the shared `pending` item are untouched).
        Fault::GuestCanPutCreatedMedia => &["H-10", "H-10.status"],
        // Not a media rule: the banner names the implementation from the Server header.
        Fault::NoFederationVersion => &[],
        // No thumbnail at 2000x2000: D-01.2000 (SHOULD) warns; D-08 and D-09 are blocked.
        Fault::NoThumbnailAbove800x600 => &["D-01.2000"],
        // Only C-26 re-uploads bytes while it reads them; the race is likely, not certain, so
        // its test (`a_server_writing_media_in_place_is_caught`) runs C-26 alone, up to five
        // times (the catch rate over 20 runs is in examples/atomic_bench.rs).
        Fault::WritesMediaInPlace => &["C-26"],
        // Seven of the eight parallel first-time requests get 500 (D-22, SHOULD).
        Fault::ThumbnailGenerationRace => &["D-22"],
        // The original HTML, SVG and text at 1000x1000: not an image type, not inline.
        Fault::ThumbnailServesNonImage => &["D-23.html.large", "D-23.svg.large", "D-23.text.large"],
        // The original bytes labelled image/png at every size: not a PNG (D-17, INFO, observes
        // the 200).
        Fault::ThumbnailOfNonImageIsOriginal => &[
            "D-23.html",
            "D-23.svg",
            "D-23.text",
            "D-23.html.large",
            "D-23.svg.large",
            "D-23.text.large",
        ],
        // The guest download and thumbnail cases; H-12 (INFO) allows 403.
        Fault::GuestCannotDownload => &["H-03", "H-04", "H-05"],
        // Guests get 200 on config and preview_url, v1 (H-06, H-07) and v3 (H-11.*), and the
        // .status GAP twins.
        Fault::GuestCanUseConfigAndPreview => &[
            "H-06",
            "H-06.status",
            "H-07",
            "H-07.status",
            "H-11.config",
            "H-11.config.status",
            "H-11.preview-url",
            "H-11.preview-url.status",
        ],
        // ---- deprecated endpoints ----
        // The three freeze cases and their 404 M_NOT_FOUND twins get 200 (I-10 is INFO).
        Fault::NotFrozen => &[
            "I-01",
            "I-01.errcode",
            "I-02.filename",
            "I-02.filename.errcode",
            "I-02.thumbnail",
            "I-02.thumbnail.errcode",
        ],
        // I-06 must not see a redirect. I-01 and I-02.filename follow it to the v1 download,
        // which answers 401 without a token: not served, so still frozen, but not with the
        // spec's 404 (their MAY twins warn). I-07 allows 307.
        Fault::DeprecatedRedirects => &["I-01.errcode", "I-02.filename.errcode", "I-06"],
        // A 200 that is neither the freeze 404 (I-01*, I-02.filename*) nor the media (I-06).
        Fault::DeprecatedAnswersAPage => &[
            "I-01",
            "I-01.errcode",
            "I-02.filename",
            "I-02.filename.errcode",
            "I-06",
        ],
        // Every case on /_matrix/media/v3/config now gets 404 M_UNRECOGNIZED.
        Fault::DeprecatedConfigRemoved => {
            &["I-08", "I-08.no-token", "H-11.config", "H-11.config.status"]
        }
        // ---- upload, create, async upload ----
        // J-04 uploads without Content-Type. (C-10's media `untyped` cannot be prepared, so the
        // C-10 cases are blocked, see `blocks`.)
        Fault::UploadRequiresContentType => &["J-04"],
        // J-03 and J-06 check content_uri against ^mxc://server/[A-Za-z0-9_-]+$.
        Fault::UnsafeMediaIds => &["J-03", "J-06"],
        // J-06: unused_expires_at must be in the future.
        Fault::ExpiresInPast => &["J-06"],
        // J-10: the second PUT must be refused with 409.
        Fault::NoOverwriteCheck => &["J-10"],
        // The async PUT's defined response is the empty object: J-06 and J-09 check it.
        Fault::PutAnswersNonObject => &["J-06", "J-09"],
        // J-11: a PUT to media another user created must be refused with 403.
        Fault::NoOwnerCheck => &["J-11"],
        // J-12 (never created) and J-13 (other server) want 404 M_NOT_FOUND.
        Fault::PutNoExistenceCheck => &["J-12", "J-13"],
        // A never-issued token, in the header (B-02.*) or the query (B-06.*), on the three
        // endpoints that store media.
        Fault::UploadAcceptsInvalidToken => &[
            "B-02.upload",
            "B-02.create",
            "B-02.async-upload",
            "B-06.upload",
            "B-06.create",
            "B-06.async-upload",
        ],
        // C-10 (MUST) refuses application/json for untyped media; C-10.octet-stream (SHOULD)
        // wants the spec's default.
        Fault::UntypedServedAsJson => &["C-10", "C-10.octet-stream"],
        // The PNG source keeps a right label; the JPEG and GIF thumbnails are mislabelled.
        Fault::ThumbnailTypeFromSource => &["D-02.jpeg", "D-02.gif"],
        // Only the scale requests at or below 32 px lose the aspect ratio: D-06.32 and D-06.16
        // are INFO (see `observes`).
        Fault::SmallScaleSquare => &[],
        // ---- endpoints that are not served ----
        // A-01.preview-url judges the missing endpoint (a v1.11 server must implement it);
        // every other case on preview_url is blocked by the one preflight finding (see
        // `preflight_reason`).
        Fault::PreviewsNotServed => &["A-01.preview-url"],
        // A-01.create judges the missing endpoint; every case that calls create or needs
        // created media is blocked by the one preflight finding. J-08 needs no create.
        Fault::CreateNotServed => &["A-01.create"],
        // ---- lenient but valid: nothing may fail or warn ----
        // method=bogus answered with the default method is what the checklist tolerates (D-12).
        Fault::BogusMethodFallsBack => &[],
        // A static thumbnail for animated=true is acceptable ("if possible and supported").
        Fault::StaticForAnimatedTrue => &[],
        // Markup and a script in error texts: still valid errors.
        Fault::ScriptInErrors => &[],
    }
}

/// The case ids that must come out `blocked` (their set-up failed, so their rule was not
/// tested) when the fake has `fault`.
fn blocks(fault: Fault) -> &'static [&'static str] {
    match fault {
        // The media `untyped` is uploaded without a Content-Type, which the fake refuses.
        Fault::UploadRequiresContentType => &["C-10", "C-10.octet-stream"],
        Fault::NoThumbnailAbove800x600 => &["D-08", "D-09"],
        _ => &[],
    }
}

/// The one reason (a substring) that cases of `fault` may be skipped or blocked with because a
/// preflight item found something missing; every other case must run.
fn preflight_reason(fault: Fault) -> Option<&'static str> {
    match fault {
        Fault::PreviewsNotServed => Some("preview_url answered M_UNRECOGNIZED"),
        Fault::CreateNotServed => Some("endpoint not implemented: POST /_matrix/media/v1/create"),
        Fault::NoFileNameRoute => {
            Some("endpoint not implemented: GET /_matrix/client/v1/media/download/*/*/*")
        }
        _ => None,
    }
}

/// MUST cases that run against the fake but that no fault breaks, and why.
const NOT_COVERED: &[(&str, &str)] = &[
    (
        "A-01.versions",
        "a /versions without any spec version is a preflight error (exit 2, tests/hostile_target.rs), so no run reaches this case with a broken /versions",
    ),
    (
        "A-01.download",
        "only a missing v1 download breaks it, which fails nearly every case; NoFileNameRoute shows the not-errcode check works",
    ),
    ("A-01.thumbnail", "as A-01.download, for the v1 thumbnail"),
    ("A-01.config", "as A-01.download, for the v1 config"),
    (
        "B-04.download",
        "as A-01.download: a user token refused on download breaks nearly every case",
    ),
    (
        "B-04.download-filename",
        "as B-04.download, for download/{fileName} (NoFileNameRoute blocks it: the route is missing)",
    ),
    ("B-04.thumbnail", "as B-04.download, for thumbnails"),
    (
        "B-04.config",
        "as B-04.download, for config (E-01 etc. would all fail too)",
    ),
    (
        "J-02",
        "every media of the run is uploaded in preflight the same way; a broken upload breaks nearly every case",
    ),
];

// ------------------------------------------------------------------------------------------------
// Running mediaconf against the fake

use harness::CaseResult;

/// What one run produced.
#[derive(Debug)]
struct RunReport {
    fault: Fault,
    exit_code: Option<i32>,
    cases: BTreeMap<String, CaseResult>,
    /// Exit code, stdout and stderr, shown when a check fails.
    output: String,
}

/// Skip reasons a run against the fake may give (matched as substrings): manual cases, cases of
/// kinds this mediaconf cannot run yet (federation, mock peer) and cases for spec versions the fake
/// does not advertise. A skip for a missing capability ("needs guest: …") means the fake failed a
/// preflight probe, which is a bug here.
const ALLOWED_SKIP_REASONS: &[&str] = &[
    "not automated:",
    "not supported by this version of mediaconf",
    "applies to ",
];

async fn run_against(fault: Fault) -> RunReport {
    let fake = FakeTarget::start(fault).await;
    let args = [
        "--target",
        &fake.url(),
        "--profile",
        "client,guest,legacy",
        "--jobs",
        "8",
        "--timeout",
        "10",
    ];
    let run =
        harness::run_mediaconf(args.iter().map(Into::into).collect(), format!("{fault:?}")).await;
    drop(fake);
    RunReport {
        fault,
        exit_code: run.exit_code,
        cases: run.cases,
        output: run.output,
    }
}

/// The run with `Fault::None`, shared by the no-fault test and the coverage test.
async fn baseline() -> &'static RunReport {
    static BASELINE: tokio::sync::OnceCell<RunReport> = tokio::sync::OnceCell::const_new();
    BASELINE.get_or_init(|| run_against(Fault::None)).await
}

/// Checks a run against `breaks(report.fault)`.
fn check(report: &RunReport) {
    let fault = report.fault;
    assert!(
        !report.cases.is_empty(),
        "{fault:?}: the report has no cases"
    );
    let mut problems = Vec::new();
    let blocked = blocks(fault);
    let preflight = preflight_reason(fault);
    let mut not_run = 0;
    for (id, c) in &report.cases {
        if matches!(c.outcome.as_str(), "blocked" | "skipped")
            && preflight.is_some_and(|r| c.reason.contains(r))
        {
            not_run += 1;
            continue;
        }
        match c.outcome.as_str() {
            "passed" | "failed" | "warned" => {}
            "blocked" if blocked.contains(&id.as_str()) && c.reason.starts_with("blocked by ") => {}
            "skipped" if ALLOWED_SKIP_REASONS.iter().any(|r| c.reason.contains(r)) => {}
            _ => problems.push(format!("{id} is {} ({})", c.outcome, c.reason)),
        }
    }
    for id in blocked {
        if report.cases.get(*id).is_none_or(|c| c.outcome != "blocked") {
            problems.push(format!("{id} is listed in blocks() but is not blocked"));
        }
    }
    if preflight.is_some() && not_run == 0 {
        problems.push("no case was skipped or blocked by the preflight finding".to_string());
    }
    let any_failed = harness::compare_broken(&report.cases, breaks(fault), &mut problems);
    harness::compare_observed(&report.cases, observes(fault), &mut problems);
    let any_not_run = not_run > 0 || !blocked.is_empty();
    let want_exit = if any_failed {
        1
    } else if any_not_run {
        2
    } else {
        0
    };
    if report.exit_code != Some(want_exit) {
        problems.push(format!(
            "exit code {:?}, expected {want_exit}",
            report.exit_code
        ));
    }
    let actual: Vec<String> = report
        .cases
        .iter()
        .filter(|(_, c)| matches!(c.outcome.as_str(), "failed" | "warned"))
        .map(|(id, _)| format!("{id:?}"))
        .collect();
    assert!(
        problems.is_empty(),
        "{fault:?}:\n  {}\nactual broken cases: [{}]\n{}",
        problems.join("\n  "),
        actual.join(", "),
        report.output
    );
}

async fn check_fault(fault: Fault) {
    let report = run_against(fault).await;
    check(&report);
}

// ------------------------------------------------------------------------------------------------
// The tests

#[tokio::test(flavor = "multi_thread")]
async fn no_fault_passes_everything() {
    check(baseline().await);
}

macro_rules! fault_tests {
    ($($name:ident => $fault:ident,)*) => {
        /// Every fault with a test (the no-fault run is `no_fault_passes_everything`).
        const ALL_FAULTS: &[Fault] = &[$(Fault::$fault),*];
        $(
            #[tokio::test(flavor = "multi_thread")]
            async fn $name() {
                check_fault(Fault::$fault).await;
            }
        )*
    };
}

fault_tests! {
    accept_invalid_token => AcceptInvalidToken,
    logged_out_still_valid => LoggedOutStillValid,
    missing_token_wrong_errcode => MissingTokenWrongErrcode,
    query_token_rejected => QueryTokenRejected,
    options_needs_auth => OptionsNeedsAuth,
    preflight_without_methods => PreflightWithoutMethods,
    errors_not_json => ErrorsNotJson,
    errors_without_message => ErrorsWithoutMessage,
    wrong_bytes => WrongBytes,
    no_content_type => NoContentType,
    no_disposition => NoDisposition,
    html_inline => HtmlInline,
    inline_allow_list_with_params => InlineAllowListWithParams,
    no_filename => NoFilename,
    invented_filename => InventedFilename,
    ignore_path_file_name => IgnorePathFileName,
    ascii_only_filenames => AsciiOnlyFilenames,
    path_name_disposition_without_type => PathNameDispositionWithoutType,
    no_file_name_route => NoFileNameRoute,
    no_csp => NoCsp,
    no_corp => NoCorp,
    media_id_not_sanitised => MediaIdNotSanitised,
    server_name_not_sanitised => ServerNameNotSanitised,
    invalid_ids_crash => InvalidIdsCrash,
    pending_returns_404 => PendingReturns404,
    thumbnail_mislabelled => ThumbnailMislabelled,
    thumbnail_attachment => ThumbnailAttachment,
    thumbnail_no_filename => ThumbnailNoFilename,
    upscale_thumbnails => UpscaleThumbnails,
    small_thumbnails => SmallThumbnails,
    crop_keeps_aspect => CropKeepsAspect,
    animated_always => AnimatedAlways,
    bad_params_ok => BadParamsOk,
    invalid_params_ok => InvalidParamsOk,
    config_not_integer => ConfigNotInteger,
    preview_without_image => PreviewWithoutImage,
    preview_image_not_mxc => PreviewImageNotMxc,
    preview_refuses_users => PreviewRefusesUsers,
    guest_honours_body => GuestHonoursBody,
    guest_can_upload => GuestCanUpload,
    guest_can_put_created_media => GuestCanPutCreatedMedia,
    no_federation_version => NoFederationVersion,
    no_thumbnail_above_800x600 => NoThumbnailAbove800x600,
    thumbnail_serves_non_image => ThumbnailServesNonImage,
    thumbnail_generation_race => ThumbnailGenerationRace,
    thumbnail_of_non_image_is_original => ThumbnailOfNonImageIsOriginal,
    guest_cannot_download => GuestCannotDownload,
    guest_can_use_config_and_preview => GuestCanUseConfigAndPreview,
    not_frozen => NotFrozen,
    deprecated_answers_a_page => DeprecatedAnswersAPage,
    deprecated_redirects => DeprecatedRedirects,
    deprecated_config_removed => DeprecatedConfigRemoved,
    upload_requires_content_type => UploadRequiresContentType,
    unsafe_media_ids => UnsafeMediaIds,
    expires_in_past => ExpiresInPast,
    no_overwrite_check => NoOverwriteCheck,
    put_answers_non_object => PutAnswersNonObject,
    no_owner_check => NoOwnerCheck,
    put_no_existence_check => PutNoExistenceCheck,
    upload_accepts_invalid_token => UploadAcceptsInvalidToken,
    previews_not_served => PreviewsNotServed,
    create_not_served => CreateNotServed,
    untyped_served_as_json => UntypedServedAsJson,
    thumbnail_type_from_source => ThumbnailTypeFromSource,
    small_scale_square => SmallScaleSquare,
    bogus_method_falls_back => BogusMethodFallsBack,
    static_for_animated_true => StaticForAnimatedTrue,
    script_in_errors => ScriptInErrors,
}

/// Every MUST case that runs against the fake is broken by some fault or explained in
/// `NOT_COVERED`; `NOT_COVERED` holds only running MUST cases that no fault breaks.
#[tokio::test(flavor = "multi_thread")]
async fn every_must_case_is_covered() {
    let report = baseline().await;
    let covered: BTreeSet<&str> = ALL_FAULTS
        .iter()
        .chain([&Fault::WritesMediaInPlace])
        .flat_map(|f| breaks(*f))
        .copied()
        .collect();
    let problems = harness::coverage_problems(&report.cases, &covered, NOT_COVERED);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A target whose client API does not serve the federation API (the usual split between a
/// client listener and a federation listener): every federation case is skipped with the fix,
/// none fails, and the run exits 2 with a line saying what did not run, since the federation
/// profile was asked for; with `--allow-skipped federation` it exits 0.
#[tokio::test(flavor = "multi_thread")]
async fn federation_cases_are_skipped_when_the_federation_api_is_elsewhere() {
    let fake = FakeTarget::start(Fault::None).await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    let ca = dir.path().join("ca.pem");
    let listen = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    // The federation URL is given as the client listener (discovery would look for
    // fake.test, which does not resolve).
    let args: Vec<std::ffi::OsString> = vec![
        "--target".into(),
        fake.url().into(),
        "--federation-url".into(),
        fake.url().into(),
        "--profile".into(),
        "federation".into(),
        "--peer-listen".into(),
        listen.into(),
        "--signing-key".into(),
        key.into_os_string(),
        "--peer-ca-out".into(),
        ca.into_os_string(),
    ];
    let mut allowed = args.clone();
    let run = harness::run_mediaconf(args, "federation API elsewhere".into()).await;
    assert_eq!(run.exit_code, Some(2), "{}", run.output);
    // The preflight line leads with the fix: the URL given is the one that does not serve
    // it, so the suggestion is the server name's federation port.
    assert!(
        run.output.lines().any(|l| l.starts_with("preflight")
            && l.contains("federation API: pass --federation-url https://fake.test:8448: ")),
        "{}",
        run.output
    );
    assert!(
        run.output.lines().any(|l| l.starts_with("did not run:")
            && l.contains("federation")
            && l.contains("--allow-skipped federation")),
        "{}",
        run.output
    );
    allowed.extend(["--allow-skipped".into(), "federation".into()]);
    let accepted =
        harness::run_mediaconf(allowed, "federation API elsewhere, accepted".into()).await;
    assert_eq!(accepted.exit_code, Some(0), "{}", accepted.output);
    for (id, c) in &run.cases {
        assert_eq!(c.outcome, "skipped", "{id}: {}", c.reason);
        let expected = c.reason.contains("does not serve the federation media API")
            && c.reason.contains("--federation-url");
        let other_skip = c.reason.starts_with("not automated") || c.reason.starts_with("mock-peer");
        assert!(expected || other_skip, "{id}: {}", c.reason);
    }
}

/// `--quick` skips exactly the cases that wait on purpose (C-21, C-22), with the reason, and
/// they stay in the report; everything else still runs and passes.
#[tokio::test(flavor = "multi_thread")]
async fn quick_skips_only_slow_cases() {
    let fake = FakeTarget::start(Fault::None).await;
    let args = [
        "--target",
        &fake.url(),
        "--profile",
        "client,guest,legacy",
        "--jobs",
        "8",
        "--quick",
    ];
    let run = harness::run_mediaconf(args.iter().map(Into::into).collect(), "quick".into()).await;
    assert_eq!(run.exit_code, Some(0), "{}", run.output);
    let slow: Vec<&str> = run
        .cases
        .iter()
        .filter(|(_, c)| c.reason.starts_with("slow: waits up to"))
        .map(|(id, c)| {
            assert_eq!(c.outcome, "skipped", "{id}");
            assert!(
                c.reason.ends_with("run without --quick"),
                "{id}: {}",
                c.reason
            );
            id.as_str()
        })
        .collect();
    assert_eq!(slow, ["C-21", "C-22"]);
    let baseline = baseline().await;
    assert_eq!(
        run.cases.len(),
        baseline.cases.len(),
        "skipped cases stay in the report"
    );
}

/// `--strict`: a SHOULD failure (D-04, a thumbnail without a file name) fails the run; without
/// it the same run exits 0. The verdicts stay warnings.
#[tokio::test(flavor = "multi_thread")]
async fn strict_makes_warnings_fail_the_run() {
    let fake = FakeTarget::start(Fault::ThumbnailNoFilename).await;
    let base = [
        "--target",
        &fake.url(),
        "--profile",
        "client",
        "--case",
        "D-0*",
    ];
    let lenient =
        harness::run_mediaconf(base.iter().map(Into::into).collect(), "lenient".into()).await;
    assert_eq!(lenient.exit_code, Some(0), "{}", lenient.output);
    let mut args: Vec<std::ffi::OsString> = base.iter().map(Into::into).collect();
    args.push("--strict".into());
    let strict = harness::run_mediaconf(args, "strict".into()).await;
    assert_eq!(strict.exit_code, Some(1), "{}", strict.output);
    assert_eq!(strict.cases["D-04"].outcome, "warned");
    // The warned step carries a curl reproduction with the token as a variable.
    let repro = strict.cases["D-04"]
        .reproduction
        .clone()
        .unwrap_or_default();
    assert!(
        repro.starts_with("curl -sS -i -H \"Authorization: Bearer ${MEDIACONF_TOKEN}\" \"http://")
            && repro.contains("/_matrix/client/v1/media/thumbnail/"),
        "{repro}"
    );
    assert!(
        strict
            .output
            .contains("--strict: 1 SHOULD/GAP warning(s) fail the run"),
        "{}",
        strict.output
    );
    let selected = strict
        .cases
        .iter()
        .filter(|(_, c)| !c.reason.starts_with("not selected"))
        .all(|(id, _)| id.starts_with("D-0"));
    assert!(selected, "--case D-0* runs only D-0x cases");
}

/// A server that writes content-addressed media in place is caught by C-26 (the race is made
/// likely, so one of five runs must catch it), and nothing else of C-26's run breaks.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_writing_media_in_place_is_caught() {
    let mut outcomes = Vec::new();
    for attempt in 0..5 {
        let fake = FakeTarget::start(Fault::WritesMediaInPlace).await;
        let args = ["--target", &fake.url(), "--case", "C-26", "--timeout", "30"];
        let run = harness::run_mediaconf(
            args.iter().map(Into::into).collect(),
            format!("WritesMediaInPlace #{attempt}"),
        )
        .await;
        drop(fake);
        let c26 = &run.cases["C-26"];
        assert!(
            matches!(c26.outcome.as_str(), "failed" | "passed"),
            "C-26 is {}: {}\n{}",
            c26.outcome,
            c26.reason,
            run.output
        );
        if c26.outcome == "failed" {
            assert!(
                c26.reason.contains("body") || c26.reason.contains("image"),
                "{}",
                c26.reason
            );
            assert_eq!(run.exit_code, Some(1), "{}", run.output);
            return;
        }
        outcomes.push(c26.reason.clone());
    }
    panic!("five runs of C-26 against a racy server caught nothing: {outcomes:?}");
}
