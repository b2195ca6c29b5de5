//! The suite loader: any text gives a suite or located errors, never a panic, and every error
//! renders.
#![no_main]
use mediaconf::suite::{SourceFile, build_suite};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    let file = SourceFile {
        name: "fuzz.toml".into(),
        text,
        dir: None,
    };
    if let Err(errors) = build_suite(&[file], &|_, _| None) {
        let _ = errors.to_string();
    }
});
