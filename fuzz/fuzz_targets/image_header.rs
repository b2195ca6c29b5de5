//! The image header decoder: never panics on any bytes, and a decoded format agrees with the
//! sniffed one.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let sniffed = mediaconf::imageinfo::sniff(data);
    if let Ok(info) = mediaconf::imageinfo::decode_info(data) {
        assert!(
            sniffed.is_some(),
            "decoded an image whose format was not sniffed"
        );
        let _ = format!("{info:?}");
    }
});
