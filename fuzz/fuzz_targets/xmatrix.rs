//! The X-Matrix header parser: never panics; what it accepts renders back to a header that
//! parses to the same parameters.
#![no_main]
use mediaconf::federation::xmatrix::{XMatrixAuth, parse_header};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(parsed) = parse_header(text) {
        let again = XMatrixAuth {
            origin: parsed.origin.clone(),
            destination: parsed.destination.clone(),
            key: parsed.key.clone(),
            sig: parsed.sig.clone(),
        }
        .to_header_value();
        let reparsed = parse_header(&again).expect("a rendered header parses");
        assert_eq!(reparsed.origin, parsed.origin);
        assert_eq!(reparsed.destination, parsed.destination);
        assert_eq!(reparsed.key, parsed.key);
        assert_eq!(reparsed.sig, parsed.sig);
    }
});
