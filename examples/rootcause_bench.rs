//! The root-cause benchmark: how well the report's problem list matches the real causes.
//!
//! A labelled corpus: runs of the fault-matrix fake homeserver with several causes injected at
//! once (each cause with the cases it breaks), and recorded real runs in `bench/rootcause/`
//! (a JSON report and its labels). For each, it prints the causes injected, the problems the
//! report lists, and the cases filed under another cause's problem. Nothing is asserted: the
//! target is equal counts and nothing misfiled.
//!
//! `cargo build --bin mediaconf && cargo run --example rootcause_bench`
//! (`MEDIACONF_BIN` names another mediaconf binary.)

#[allow(dead_code)]
mod common;
#[allow(dead_code)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mediaconf::recorded::verdicts_of_report;
use mediaconf::rootcause::root_causes;
use support::fake_target::{FakeTarget, Fault};

/// One injected cause: its name, the fault, and the cases it breaks or blocks.
type Cause = (&'static str, Fault, Vec<String>);

/// The endpoints the B-0x families read from, and those that store media.
const READ: &[&str] = &[
    "download",
    "download-filename",
    "thumbnail",
    "config",
    "preview-url",
];
const STORE: &[&str] = &["upload", "create", "async-upload"];

/// `family.endpoint` for each endpoint of each list.
fn ids(family: &str, endpoint_lists: &[&[&str]]) -> Vec<String> {
    endpoint_lists
        .iter()
        .flat_map(|endpoints| endpoints.iter().map(|e| format!("{family}.{e}")))
        .collect()
}

fn invalid_token() -> Vec<String> {
    [ids("B-02", &[READ, STORE]), ids("B-06", &[READ, STORE])].concat()
}

fn query_token_ignored() -> Vec<String> {
    [ids("B-05", &[READ]), ids("B-06", &[READ, STORE])].concat()
}

fn labels(ids: &[&str]) -> Vec<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

const NO_CORP: &[&str] = &["C-15", "D-20.corp"];
const GUEST_UPLOAD: &[&str] = &["H-08", "H-08.status", "H-09", "H-09.status"];
const GUEST_PUT: &[&str] = &["H-10", "H-10.status"];
const NO_BIG_THUMBNAIL: &[&str] = &["D-01.2000", "D-08", "D-09"];
const NO_CSP: &[&str] = &["C-14", "D-20.csp"];

/// The fake-target runs: a few causes at once each.
fn scenarios() -> Vec<(&'static str, Vec<Cause>)> {
    vec![
        (
            "tokens + guest upload",
            vec![
                (
                    "invalid token accepted",
                    Fault::AcceptInvalidToken,
                    invalid_token(),
                ),
                (
                    "guest may upload",
                    Fault::GuestCanUpload,
                    labels(GUEST_UPLOAD),
                ),
            ],
        ),
        (
            "logged out + guest PUT + big thumbnail",
            vec![
                (
                    "logged-out token valid",
                    Fault::LoggedOutStillValid,
                    ids("B-03", &[READ]),
                ),
                (
                    "guest may PUT",
                    Fault::GuestCanPutCreatedMedia,
                    labels(GUEST_PUT),
                ),
                (
                    "no thumbnail above 800x600",
                    Fault::NoThumbnailAbove800x600,
                    labels(NO_BIG_THUMBNAIL),
                ),
            ],
        ),
        (
            "query token ignored + no CORP",
            vec![
                (
                    "query token ignored",
                    Fault::QueryTokenRejected,
                    query_token_ignored(),
                ),
                ("no CORP", Fault::NoCorp, labels(NO_CORP)),
            ],
        ),
        (
            "no CSP + big thumbnail + guest upload",
            vec![
                ("no CSP", Fault::NoCsp, labels(NO_CSP)),
                (
                    "no thumbnail above 800x600",
                    Fault::NoThumbnailAbove800x600,
                    labels(NO_BIG_THUMBNAIL),
                ),
                (
                    "guest may upload",
                    Fault::GuestCanUpload,
                    labels(GUEST_UPLOAD),
                ),
            ],
        ),
    ]
}

/// What one corpus entry scores.
struct Score {
    injected: usize,
    problems: usize,
    misfiled: usize,
    unlabelled: usize,
}

/// Scores a problem list against labels (case → cause). A problem belongs to the cause most of
/// its cases carry; its other cases are misfiled. Broken cases with no label are counted apart.
fn score(report: &str, labels: &BTreeMap<String, String>) -> Result<(Score, Vec<String>), String> {
    let verdicts = verdicts_of_report(report)?;
    let causes = root_causes(&verdicts);
    let mut misfiled = 0;
    let mut unlabelled = 0;
    let mut lines = Vec::new();
    for c in &causes {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for id in &c.cases {
            match labels.get(id) {
                Some(label) => *votes.entry(label).or_default() += 1,
                None => unlabelled += 1,
            }
        }
        let top = votes.values().max().copied().unwrap_or(0);
        misfiled += votes.values().sum::<usize>() - top;
        lines.push(format!("    {} — {} cases", c.summary, c.cases.len()));
    }
    let injected = labels
        .values()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let score = Score {
        injected,
        problems: causes.len(),
        misfiled,
        unlabelled,
    };
    Ok((score, lines))
}

/// Runs mediaconf against a fake with `faults`; the JSON report.
async fn run_fake(faults: &[Fault]) -> Result<String, String> {
    let fake = FakeTarget::start_with(faults).await;
    let report = common::run_for_report(&["--profile", "client,guest,legacy"], &fake.url()).await;
    drop(fake);
    report
}

/// The recorded runs: `bench/rootcause/NAME.json` with `NAME.labels` (`case-id<TAB>cause`).
fn recorded() -> Vec<(String, String, BTreeMap<String, String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/rootcause");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let labels_path = path.with_extension("labels");
        let (Ok(report), Ok(labels)) = (
            std::fs::read_to_string(path),
            std::fs::read_to_string(&labels_path),
        ) else {
            eprintln!("skipping {}: no {}", path.display(), labels_path.display());
            continue;
        };
        let labels = labels
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(id, cause)| (id.trim().to_owned(), cause.trim().to_owned()))
            .collect();
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        out.push((name, report, labels));
    }
    out
}

fn print_row(name: &str, s: &Score, lines: &[String]) {
    println!(
        "| {name} | {} | {} | {} | {} |",
        s.injected, s.problems, s.misfiled, s.unlabelled
    );
    for l in lines {
        eprintln!("{l}");
    }
}

#[tokio::main]
async fn main() {
    println!(
        "| corpus entry | causes injected | problems listed | cases under the wrong cause | broken cases with no label |"
    );
    println!("|---|---|---|---|---|");
    let mut total = Score {
        injected: 0,
        problems: 0,
        misfiled: 0,
        unlabelled: 0,
    };
    let mut add = |s: &Score| {
        total.injected += s.injected;
        total.problems += s.problems;
        total.misfiled += s.misfiled;
        total.unlabelled += s.unlabelled;
    };
    for (name, causes) in scenarios() {
        let faults: Vec<Fault> = causes.iter().map(|(_, f, _)| *f).collect();
        let labels: BTreeMap<String, String> = causes
            .iter()
            .flat_map(|(cause, _, ids)| ids.iter().map(|id| (id.clone(), (*cause).to_owned())))
            .collect();
        eprintln!("{name}:");
        match run_fake(&faults).await.and_then(|r| score(&r, &labels)) {
            Ok((s, lines)) => {
                print_row(name, &s, &lines);
                add(&s);
            }
            Err(e) => println!("| {name} | error: {e} | | | |"),
        }
    }
    for (name, report, labels) in recorded() {
        eprintln!("{name} (recorded):");
        match score(&report, &labels) {
            Ok((s, lines)) => {
                print_row(&format!("{name} (recorded)"), &s, &lines);
                add(&s);
            }
            Err(e) => println!("| {name} | error: {e} | | | |"),
        }
    }
    println!(
        "| all | {} | {} | {} | {} |",
        total.injected, total.problems, total.misfiled, total.unlabelled
    );
}
