//! Fixtures made by code instead of stored in `fixtures/`: a PNG of random pixels, a few MB
//! large, for the cases that race uploads and downloads of one media item (large enough that a
//! server writing it needs time, and incompressible, so every byte is on the wire).

use std::io::Write;
use std::sync::OnceLock;

/// The file name suites use for the noise image.
pub const NOISE_PNG: &str = "noise-1024x1024.png";
/// Its size in pixels.
pub const NOISE_SIDE: u32 = 1024;

/// The generated fixture of that name, if there is one.
pub fn fixture(name: &str) -> Option<&'static [u8]> {
    static NOISE: OnceLock<Vec<u8>> = OnceLock::new();
    (name == NOISE_PNG).then(|| {
        NOISE
            .get_or_init(|| noise_png(NOISE_SIDE, NOISE_SIDE))
            .as_slice()
    })
}

/// An RGB PNG of `width` × `height` pseudo-random pixels (the same bytes on every call).
pub fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let row_len = width as usize * 3;
    let mut raw = Vec::with_capacity((row_len + 1) * height as usize);
    for _ in 0..height {
        raw.extend_from_slice(&[0]); // filter type None
        for chunk in 0..row_len.div_ceil(8) {
            let bytes = next().to_le_bytes();
            let take = (row_len - chunk * 8).min(8);
            raw.extend_from_slice(&bytes[..take]);
        }
    }
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(&raw)
        .expect("writing to a Vec cannot fail");
    let idat = encoder.finish().expect("writing to a Vec cannot fail");
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (b"IHDR", &ihdr[..]),
        (b"IDAT", &idat[..]),
        (b"IEND", &[][..]),
    ] {
        png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(u32::MAX).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        png.extend_from_slice(kind);
        png.extend_from_slice(data);
        png.extend_from_slice(&crc.sum().to_be_bytes());
    }
    png
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::imageinfo::{ImageFormat, decode_info};

    #[test]
    fn the_noise_png_is_a_few_megabytes_of_valid_png() {
        let png = fixture(NOISE_PNG).expect("generated");
        assert!(
            png.len() > 3_000_000 && png.len() < 3_300_000,
            "{}",
            png.len()
        );
        let info = decode_info(png).expect("decodes");
        assert_eq!(
            (info.format, info.width, info.height),
            (ImageFormat::Png, 1024, 1024)
        );
        assert_eq!(noise_png(4, 4), noise_png(4, 4));
        assert!(fixture("other.png").is_none());
    }

    #[test]
    fn the_zlib_stream_inflates_to_the_rows() {
        let png = noise_png(3, 2);
        let idat_start = 8 + 25 + 8;
        let len = u32::from_be_bytes(png[33..37].try_into().unwrap()) as usize;
        let mut out = Vec::new();
        let mut decoder = flate2::read::ZlibDecoder::new(&png[idat_start..idat_start + len]);
        std::io::Read::read_to_end(&mut decoder, &mut out).unwrap();
        assert_eq!(out.len(), 2 * (1 + 9));
        assert_eq!((out[0], out[10]), (0, 0));
    }
}
