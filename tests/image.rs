//! `mediaconf run --image`: the Complement-contract image of Synapse that
//! tests/images/synapse/build.sh makes (scripts/test.sh builds it when missing), run the way an
//! implementer runs theirs. Needs Podman (scripts/deps.sh installs it); runs when
//! `MEDIACONF_E2E=1`, like the other end-to-end tests.
//!
//! - every profile runs through `--image` alone (no `--insecure`, no set-up), and the outcomes
//!   equal those of the loopback Synapse (scripts/synapse.sh) but for the listed differences,
//!   each explained;
//! - an image whose server never answers fails in preflight, within the deadline, with its log
//!   lines, and leaves no container;
//! - two images give a report each and the comparison page; a failed case shows the container's
//!   log lines of its seconds;
//! - SIGTERM in the middle of a run still removes the container.

mod synapse_support;

mod harness;

use harness::mediaconf;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use synapse_support::{Synapse, e2e_enabled, repo};

const IMAGE: &str = "localhost/mediaconf-synapse:1.163.2";
const SECRET: &str = "mediaconf-test-registration-shared-secret";

/// Podman as mediaconf calls it (src/container/runtime.rs: the flags this machine needs).
fn podman(args: &[&str]) -> std::process::Output {
    let scratch = std::env::temp_dir().join("mediaconf-test-podman");
    std::fs::create_dir_all(&scratch).unwrap();
    mediaconf::container::runtime::detect(Some("podman"), IMAGE, &scratch)
        .expect("podman on PATH (scripts/deps.sh installs it)")
        .command()
        .args(args)
        .output()
        .expect("run podman")
}

fn image_ready(test: &str) -> bool {
    if !e2e_enabled(test) {
        return false;
    }
    let out = podman(&["image", "exists", IMAGE]);
    assert!(
        out.status.success(),
        "{IMAGE} is missing: build it with tests/images/synapse/build.sh (scripts/test.sh does)"
    );
    true
}

/// The containers mediaconf started that are still there.
fn our_containers() -> String {
    let out = podman(&["ps", "--all", "--quiet", "--filter", "label=mediaconf=1"]);
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// `mediaconf run FLAGS` with a fresh CA and signing key in `dir` and no config file.
fn mediaconf_run(dir: &std::path::Path, flags: &[&str]) -> (i32, String, String) {
    let ca = dir.join("ca.pem");
    let key = dir.join("k.key");
    let mut args = vec!["run"];
    args.extend_from_slice(flags);
    args.extend([
        "--no-config",
        "--peer-ca-out",
        ca.to_str().unwrap(),
        "--signing-key",
        key.to_str().unwrap(),
    ]);
    mediaconf(&args)
}

fn outcomes(path: &std::path::Path) -> BTreeMap<String, String> {
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Cases whose outcome may differ between the image and the loopback Synapse, and why.
const EXPLAINED: &[(&str, &str)] = &[];

/// One test, its parts in order: the host-network part uses the host's ports 8008 and 8448,
/// and each part is a full server start on a two-core machine (nextest runs tests in parallel
/// processes).
#[test]
fn complement_images() {
    if !image_ready("complement_images") {
        return;
    }
    the_synapse_image_runs_every_profile_like_the_loopback_synapse();
    on_the_host_network_federation_and_remote_media_run_too();
    two_images_make_a_comparison_page();
    an_image_whose_server_never_answers_fails_in_preflight_and_leaves_nothing();
    a_missing_image_is_a_preflight_error_that_says_what_to_do();
    sigterm_during_a_run_removes_the_container();
}

fn the_synapse_image_runs_every_profile_like_the_loopback_synapse() {
    let dir = tempfile::tempdir().unwrap();
    let baseline = repo().join("baseline/synapse.toml");
    let baseline = baseline.to_str().unwrap();
    // The CA mediaconf_run gives both runs (the loopback Synapse is started trusting it).
    let ca = dir.path().join("ca.pem");
    let image_json = dir.path().join("image.json");
    let (code, stdout, stderr) = mediaconf_run(
        dir.path(),
        &[
            "--image",
            IMAGE,
            "--quick",
            "--baseline",
            baseline,
            "--json",
            image_json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("container log:"), "{stderr}");
    if published_network_available() {
        // Free loopback ports, and this host reached from inside under Podman's alias: the
        // remote cases' media came from our mock peer at host.containers.internal.
        assert!(
            stderr.contains("reaching this host as host.containers.internal"),
            "{stderr}"
        );
        assert!(
            !stderr.contains("answers on http://127.0.0.1:8008\n"),
            "{stderr}"
        );
    }
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&image_json).unwrap()).unwrap();
    assert_eq!(report["target"]["container"]["image"], IMAGE);
    let log = report["target"]["container"]["log"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        std::fs::read_to_string(&log).unwrap().contains("synapse"),
        "{log}"
    );
    assert!(dir.path().join("mediaconf-container.log").exists());
    assert!(our_containers().is_empty(), "a container was left behind");

    let synapse = Synapse::start_trusting("synapse-image-cmp", 28011, 28451, Some(&ca));
    let loopback_json = dir.path().join("loopback.json");
    let (code, stdout, stderr) = mediaconf_run(
        dir.path(),
        &[
            "--target",
            &synapse.url(),
            "--registration-shared-secret",
            SECRET,
            "--insecure",
            "--quick",
            "--peer-listen",
            "127.0.0.1:0",
            "--baseline",
            baseline,
            "--json",
            loopback_json.to_str().unwrap(),
        ],
    );
    drop(synapse);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (image, loopback) = (outcomes(&image_json), outcomes(&loopback_json));
    let explained: BTreeMap<&str, &str> = EXPLAINED.iter().copied().collect();
    let mut unexplained = Vec::new();
    for (id, outcome) in &loopback {
        let other = image.get(id).map_or("missing", String::as_str);
        if other != outcome && !explained.contains_key(id.as_str()) {
            unexplained.push(format!("{id}: loopback {outcome}, image {other}"));
        }
    }
    assert!(unexplained.is_empty(), "{}", unexplained.join("\n"));
}

fn a_missing_image_is_a_preflight_error_that_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, stderr) = mediaconf_run(
        dir.path(),
        &["--image", "localhost/mediaconf-no-such-image:0"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("podman has no local image localhost/mediaconf-no-such-image:0: build it"),
        "{stderr}"
    );
    assert!(our_containers().is_empty(), "a container was left behind");
}

/// Whether `--image-network auto` publishes ports here (Podman with slirp4netns).
fn published_network_available() -> bool {
    ["/usr/bin/slirp4netns", "/usr/libexec/podman/slirp4netns"]
        .iter()
        .any(|p| std::path::Path::new(p).exists())
}

/// `--image-network host` (what Docker on Linux uses): the container on the host's 8008 and
/// 8448, reaching our key server and mock peer on the shared loopback.
fn on_the_host_network_federation_and_remote_media_run_too() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("host.json");
    let (code, stdout, stderr) = mediaconf_run(
        dir.path(),
        &[
            "--image",
            IMAGE,
            "--image-network",
            "host",
            "--case",
            "C-01,F-01,G-01,G-02,G-05",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("on the host's network"), "{stderr}");
    let outcomes = outcomes(&json);
    for id in ["C-01", "F-01", "G-01", "G-02", "G-05"] {
        assert_eq!(
            outcomes.get(id).map(String::as_str),
            Some("passed"),
            "{id}: {stdout}"
        );
    }
    assert!(our_containers().is_empty(), "a container was left behind");
}

fn two_images_make_a_comparison_page() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let (code, stdout, stderr) = mediaconf_run(
        dir.path(),
        &[
            "--image",
            IMAGE,
            "--image",
            IMAGE,
            "--case",
            "C-01,G-08",
            "--json",
            json.to_str().unwrap(),
        ],
    );
    // G-08 is a real Synapse failure (no baseline here): exit 1, and the container's log lines
    // of the seconds it ran are printed under it.
    assert_eq!(code, 1, "{stderr}");
    let g08 = stdout.find("✘ G-08").expect("G-08 is reported");
    assert!(
        stdout[g08..].contains("container log, the seconds around it ("),
        "{stdout}"
    );
    for name in [
        "report-mediaconf-synapse-1.163.2.json",
        "report-mediaconf-synapse-1.163.2-2.json",
        "matrix.html",
        "matrix.md",
    ] {
        assert!(dir.path().join(name).exists(), "{name} missing: {stderr}");
    }
    let md = std::fs::read_to_string(dir.path().join("matrix.md")).unwrap();
    assert!(md.contains("| C-01 "), "{md}");
    assert!(our_containers().is_empty(), "a container was left behind");
}

fn an_image_whose_server_never_answers_fails_in_preflight_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let containerfile = dir.path().join("Containerfile");
    std::fs::write(
        &containerfile,
        format!(
            "FROM {IMAGE}\nENTRYPOINT [\"/bin/sh\", \"-c\", \"echo silent server starting; exec sleep 600\"]\n"
        ),
    )
    .unwrap();
    let out = podman(&[
        "build",
        "--tag",
        "localhost/mediaconf-silent:test",
        "--file",
        containerfile.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started = Instant::now();
    let (code, _, stderr) = mediaconf_run(
        dir.path(),
        &[
            "--image",
            "localhost/mediaconf-silent:test",
            "--image-startup",
            "6",
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains("did not answer GET /_matrix/client/versions within 6 s"),
        "{stderr}"
    );
    assert!(stderr.contains("| silent server starting"), "{stderr}");
    assert!(our_containers().is_empty(), "a container was left behind");
}

fn sigterm_during_a_run_removes_the_container() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediaconf"))
        .args(["run", "--image", IMAGE, "--no-config", "--peer-ca-out"])
        .arg(dir.path().join("ca.pem"))
        .arg("--signing-key")
        .arg(dir.path().join("k.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains(" answers on ") {
            break;
        }
    }
    std::thread::sleep(Duration::from_secs(2));
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{}", rest.join("\n"));
    assert!(our_containers().is_empty(), "a container was left behind");
}
