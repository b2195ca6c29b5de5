//! The one-way data flow, checked on the sources: the suite model and loader never import from
//! the checks (the model owns the vocabulary, checks read it), and reporters never see HTTP
//! types or the runner's recorded exchanges (they are fed verdicts and events only).

use std::path::Path;

fn sources(dir: &str) -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.display().to_string(), text));
        }
    }
    assert!(!out.is_empty(), "no sources in {}", dir.display());
    out
}

fn offenders(dir: &str, forbidden: &[&str]) -> Vec<String> {
    sources(dir)
        .into_iter()
        .flat_map(|(file, text)| {
            forbidden
                .iter()
                .filter(|f| text.contains(*f))
                .map(|f| format!("{file} uses {f}"))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn the_suite_never_imports_the_checks() {
    let found = offenders("src/suite", &["crate::check", "super::super::check"]);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn reporters_never_see_http_types() {
    let found = offenders(
        "src/report",
        &[
            "reqwest",
            "crate::exchange",
            "crate::client",
            "axum",
            "hyper",
        ],
    );
    assert!(found.is_empty(), "{}", found.join("\n"));
}
