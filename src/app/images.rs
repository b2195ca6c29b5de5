//! `run --image`: one container per image, started and waited for, the usual run against it
//! ([`super::run`]), its log kept and printed around failed cases; several images in turn and
//! their comparison page.

use super::common::usage_error;
use super::comparison::write_comparison;
use super::run::ImageTrust;
use crate::cli::RunArgs;
use crate::exit_code::{EXIT_INTERRUPTED, EXIT_OK};

/// Several `--image`s: each run in turn (they share the host's ports), with its reports and
/// container log suffixed by the image's name; then the comparison page beside the JSON
/// reports. The exit code is the worst of the runs.
pub(super) async fn run_images(args: RunArgs, images: &[String]) -> i32 {
    let json = args
        .json
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("mediaconf-report.json"));
    let mut codes = Vec::new();
    let mut reports = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, image) in images.iter().enumerate() {
        let mut slug = crate::container::run::slug(image);
        if !used.insert(slug.clone()) {
            slug = format!("{slug}-{}", i + 1);
        }
        let mut one = args.clone();
        one.json = Some(crate::container::run::suffixed(&json, &slug));
        for p in [&mut one.junit, &mut one.html, &mut one.markdown]
            .into_iter()
            .flatten()
        {
            *p = crate::container::run::suffixed(p, &slug);
        }
        let report = one.json.clone().unwrap_or_default();
        codes.push(run_image(one, image).await);
        if codes.last() == Some(&EXIT_INTERRUPTED) {
            break;
        }
        reports.push((image.clone(), report));
    }
    write_image_matrix(&json, &reports);
    if codes.contains(&EXIT_INTERRUPTED) {
        EXIT_INTERRUPTED
    } else {
        codes.into_iter().max().unwrap_or(EXIT_OK)
    }
}

/// `matrix.html` and `matrix.md` beside `json`, from the runs' JSON reports that exist.
fn write_image_matrix(json: &std::path::Path, reports: &[(String, std::path::PathBuf)]) {
    let texts: Vec<(Option<String>, String, String)> = reports
        .iter()
        .filter_map(|(image, path)| {
            let text = std::fs::read_to_string(path).ok()?;
            Some((Some(image.clone()), path.display().to_string(), text))
        })
        .collect();
    let dir = json.parent().unwrap_or(std::path::Path::new(""));
    let (html, md) = (dir.join("matrix.html"), dir.join("matrix.md"));
    match write_comparison(&texts, Some(&html), Some(&md)) {
        Ok(_) => eprintln!(
            "image      comparison: {} and {}",
            html.display(),
            md.display()
        ),
        Err(e) => eprintln!("warning: no comparison page: {e}"),
    }
}

/// `run --image IMAGE`: starts the container, waits for it (a container that exits or never
/// answers is a preflight error with its last log lines, exit 2), runs, keeps its log and
/// removes it, whatever happened.
pub(super) async fn run_image(mut args: RunArgs, image: &str) -> i32 {
    let session = match crate::container::run::start(&mut args, image) {
        Ok(s) => s,
        Err(e) => return usage_error(&format!("--image: {e}")),
    };
    let interrupt = crate::signals::first();
    let ready = tokio::select! {
        r = session.wait_ready() => r,
        () = interrupt => {
            session.finish();
            eprintln!("interrupted while the container started");
            return EXIT_INTERRUPTED;
        }
    };
    if let Err(e) = ready {
        session.finish();
        return usage_error(&format!("--image: preflight: {e}"));
    }
    let addresses = &session.container.addresses;
    eprintln!("image      {image} answers on {}", addresses.client_url());
    let trust = ImageTrust {
        log: session.container.log_source(),
        ca_pem: session.ca_pem.clone(),
        reach_host: addresses.host_alias.clone(),
        container: crate::run::event::ContainerInfo {
            image: image.to_owned(),
            log: session.log_path.display().to_string(),
        },
    };
    let code = super::run::run_target(args, Some(trust)).await;
    session.finish();
    code
}
