//! Several runs side by side: `mediaconf matrix` over JSON reports, and the page several
//! `--image`s write.

use super::common::usage_error;
use crate::exit_code::EXIT_OK;

/// `mediaconf matrix`: reads the reports, writes the page and the Markdown.
pub(super) fn matrix(args: &crate::cli::MatrixArgs) -> i32 {
    let mut texts = Vec::new();
    for arg in &args.reports {
        let (label, path) = match arg.split_once('=') {
            Some((label, path)) if !label.is_empty() && !std::path::Path::new(arg).exists() => {
                (Some(label.to_owned()), path.to_owned())
            }
            _ => (None, arg.clone()),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => texts.push((label, path, text)),
            Err(e) => return usage_error(&format!("cannot read {path}: {e}")),
        }
    }
    let (m, markdown) =
        match write_comparison(&texts, args.html.as_deref(), args.markdown.as_deref()) {
            Ok(done) => done,
            Err(e) => return usage_error(&e),
        };
    if args.html.is_none() && args.markdown.is_none() {
        print!("{markdown}");
    }
    eprintln!(
        "matrix: {} implementations, {} disagreements",
        m.columns.len(),
        m.disagreeing.len()
    );
    EXIT_OK
}

/// The comparison of `reports` (label, source, JSON text): built, its page and Markdown written
/// where asked. Returns the matrix and its Markdown.
pub(super) fn write_comparison(
    reports: &[(Option<String>, String, String)],
    html: Option<&std::path::Path>,
    markdown: Option<&std::path::Path>,
) -> Result<(crate::matrix::Matrix, String), String> {
    let inputs: Vec<crate::matrix::Input<'_>> = reports
        .iter()
        .map(|(label, source, text)| crate::matrix::Input {
            text,
            source,
            label: label.as_deref(),
        })
        .collect();
    let m = crate::matrix::build(&inputs)?;
    let md = crate::report::sanitize(&crate::matrix::render_markdown(&m));
    for (path, text) in [
        (html, crate::report::matrix_html::render(&m)),
        (markdown, md.clone()),
    ] {
        if let Some(path) = path {
            crate::report::write_atomically(path, text.as_bytes())?;
        }
    }
    Ok((m, md))
}
