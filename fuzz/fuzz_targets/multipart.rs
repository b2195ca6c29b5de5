//! The strict multipart parser: the first line of the input is the Content-Type header value,
//! the rest the body. It must never panic, and `media()` must agree with the parts it found.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let content_type = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or_default();
    let parsed = mediaconf::multipart::parse_media_response(&content_type, body);
    if let Some(media) = parsed.media() {
        assert!(parsed.parts.len() >= 2, "media() without two parts");
        let _ = media.metadata.len();
    }
    let _ = parsed.is_conformant();
    for v in &parsed.violations {
        let _ = v.to_string();
    }
});
