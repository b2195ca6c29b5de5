//! Image header decoding: tells the format, pixel dimensions and animation of image bytes (PNG, JPEG, GIF, WebP), for judging thumbnails and uploads; it does not decode pixels.
//!
//! Everything here is pure (no I/O, no dependencies beyond `thiserror`) and
//! bounds-checked: [`decode_info`] returns an error for any input it cannot
//! make sense of and never panics, whatever the bytes. The lints below hold the
//! non-test code to that.
//!
//! How much is checked, per format:
//! - PNG: signature, `IHDR` first, then every chunk up to `IEND` is walked
//!   (lengths bounds-checked, CRCs not verified); an `acTL` chunk before the
//!   first `IDAT` (APNG) gives the frame count.
//! - JPEG: segments are walked from `SOI` to the first `SOFn` marker, which
//!   gives the dimensions; the entropy-coded data is not read.
//! - GIF: logical screen size from the header; every block up to the trailer
//!   is walked, skipping color tables and sub-blocks, counting image
//!   descriptors (frames).
//! - WebP: the RIFF container; dimensions from the `VP8 ` frame header, the
//!   `VP8L` header or the `VP8X` canvas; for `VP8X` all chunks are walked,
//!   counting `ANMF` frames.

#![deny(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

/// An image format that [`sniff`] and [`decode_info`] recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl ImageFormat {
    /// The media type, e.g. "image/png".
    pub fn media_type(self) -> &'static str {
        match self {
            ImageFormat::Png => "image/png",
            ImageFormat::Jpeg => "image/jpeg",
            ImageFormat::Gif => "image/gif",
            ImageFormat::Webp => "image/webp",
        }
    }

    /// Short lowercase name, for error messages.
    fn name(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Gif => "gif",
            ImageFormat::Webp => "webp",
        }
    }
}

/// What [`decode_info`] found in an image's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// The format, from the magic bytes.
    pub format: ImageFormat,
    /// Width in pixels (GIF: the logical screen; WebP `VP8X`: the canvas).
    pub width: u32,
    /// Height in pixels (GIF: the logical screen; WebP `VP8X`: the canvas).
    pub height: u32,
    /// PNG: an `acTL` chunk with more than one frame; GIF: more than one
    /// image; WebP: the `VP8X` animation flag or an `ANIM` chunk; JPEG: never.
    pub animated: bool,
    /// Number of frames (1 for a still image). Always `Some` for the formats
    /// decoded here; `None` would mean the count is unknown.
    pub frames: Option<u32>,
}

/// Why [`decode_info`] could not read an image's headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// No bytes at all.
    #[error("empty input: no image data")]
    Empty,
    /// The magic bytes are not those of PNG, JPEG, GIF or WebP.
    #[error("not a known image format (first bytes: {first_bytes})")]
    UnknownFormat {
        /// Up to the first four bytes, as lowercase hex separated by spaces.
        first_bytes: String,
    },
    /// The data ends before the structure it started is complete.
    #[error("truncated {}: {what}", .format.name())]
    Truncated { format: ImageFormat, what: String },
    /// The data has the format's magic bytes but breaks its structure.
    #[error("invalid {}: {what}", .format.name())]
    Invalid { format: ImageFormat, what: String },
}

/// Tells the image format from the magic bytes at the start of `bytes`.
pub fn sniff(bytes: &[u8]) -> Option<ImageFormat> {
    if bytes.starts_with(&PNG_SIGNATURE) {
        Some(ImageFormat::Png)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(ImageFormat::Gif)
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP".as_slice()) {
        Some(ImageFormat::Webp)
    } else {
        None
    }
}

/// Reads the format, dimensions and animation of an image from its headers.
pub fn decode_info(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    match sniff(bytes) {
        Some(ImageFormat::Png) => decode_png(bytes),
        Some(ImageFormat::Jpeg) => decode_jpeg(bytes),
        Some(ImageFormat::Gif) => decode_gif(bytes),
        Some(ImageFormat::Webp) => decode_webp(bytes),
        None if bytes.is_empty() => Err(ImageError::Empty),
        None => Err(ImageError::UnknownFormat {
            first_bytes: bytes
                .iter()
                .take(4)
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" "),
        }),
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

fn truncated(format: ImageFormat, what: impl Into<String>) -> ImageError {
    ImageError::Truncated {
        format,
        what: what.into(),
    }
}

fn invalid(format: ImageFormat, what: impl Into<String>) -> ImageError {
    ImageError::Invalid {
        format,
        what: what.into(),
    }
}

/// A chunk or marker name for messages, with non-printable bytes escaped.
fn fourcc(name: [u8; 4]) -> String {
    name.escape_ascii().to_string()
}

/// A forward-only, bounds-checked reader: every read returns `None` instead of
/// going past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    fn pos(&self) -> usize {
        self.pos
    }

    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    fn is_at_end(&self) -> bool {
        self.remaining() == 0
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let slice = self.bytes.get(self.pos..end)?;
        self.pos = end;
        Some(slice)
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        self.take(n).map(|_| ())
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16_be(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }

    fn u16_le(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    fn u24_le(&mut self) -> Option<u32> {
        self.array::<3>()
            .map(|[a, b, c]| u32::from_le_bytes([a, b, c, 0]))
    }

    fn u32_be(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }

    fn u32_le(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

// ---------------------------------------------------------------------------
// PNG

/// The largest chunk length and image dimension that PNG allows (2^31 - 1).
const PNG_MAX: u32 = 0x7FFF_FFFF;

/// One PNG or RIFF chunk: its type (FourCC), data and offset in the file.
struct Chunk<'a> {
    name: [u8; 4],
    data: &'a [u8],
    offset: usize,
}

/// Reads the next chunk (length, type, data, CRC). `Ok(None)` at the end of data.
fn png_chunk<'a>(r: &mut Reader<'a>) -> Result<Option<Chunk<'a>>, ImageError> {
    const F: ImageFormat = ImageFormat::Png;
    if r.is_at_end() {
        return Ok(None);
    }
    let offset = r.pos();
    let (Some(len), Some(name)) = (r.u32_be(), r.array::<4>()) else {
        return Err(truncated(
            F,
            format!("chunk header at offset {offset} cut short"),
        ));
    };
    if len > PNG_MAX {
        return Err(invalid(
            F,
            format!(
                "chunk {} at offset {offset} has length {len}, over 2^31-1",
                fourcc(name)
            ),
        ));
    }
    let cut = |r: &Reader<'_>| {
        truncated(
            F,
            format!(
                "chunk {} at offset {offset} needs {len} data bytes and a CRC, {} bytes left",
                fourcc(name),
                r.remaining()
            ),
        )
    };
    let len = usize::try_from(len).map_err(|_| cut(r))?;
    let data = r.take(len).ok_or_else(|| cut(r))?;
    r.skip(4).ok_or_else(|| cut(r))?;
    Ok(Some(Chunk { name, data, offset }))
}

fn decode_png(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    const F: ImageFormat = ImageFormat::Png;
    let mut r = Reader::new(bytes);
    r.skip(PNG_SIGNATURE.len())
        .ok_or_else(|| truncated(F, "no signature"))?;

    // IHDR must come first.
    let ihdr = match png_chunk(&mut r) {
        Ok(Some(chunk)) => chunk,
        Ok(None) | Err(ImageError::Truncated { .. }) => {
            return Err(truncated(F, "no IHDR chunk"));
        }
        Err(e) => return Err(e),
    };
    if &ihdr.name != b"IHDR" {
        return Err(invalid(
            F,
            format!("first chunk is {}, not IHDR", fourcc(ihdr.name)),
        ));
    }
    if ihdr.data.len() != 13 {
        return Err(invalid(
            F,
            format!("IHDR has length {}, not 13", ihdr.data.len()),
        ));
    }
    let mut h = Reader::new(ihdr.data);
    let (Some(width), Some(height)) = (h.u32_be(), h.u32_be()) else {
        return Err(invalid(F, "IHDR too short"));
    };
    if width == 0 || height == 0 || width > PNG_MAX || height > PNG_MAX {
        return Err(invalid(
            F,
            format!("IHDR has dimensions {width}x{height}, outside 1..2^31-1"),
        ));
    }

    let mut seen_idat = false;
    let mut actl_frames: Option<u32> = None;
    loop {
        let Some(chunk) = png_chunk(&mut r)? else {
            let what = if seen_idat {
                "no IEND chunk"
            } else {
                "no IDAT chunk"
            };
            return Err(truncated(F, what));
        };
        match &chunk.name {
            b"IHDR" => {
                return Err(invalid(
                    F,
                    format!("second IHDR chunk at offset {}", chunk.offset),
                ));
            }
            // APNG: acTL only counts before the first IDAT; the first one wins.
            b"acTL" if !seen_idat && actl_frames.is_none() => {
                let mut a = Reader::new(chunk.data);
                let (Some(num_frames), Some(_num_plays), true) =
                    (a.u32_be(), a.u32_be(), a.is_at_end())
                else {
                    return Err(invalid(
                        F,
                        format!("acTL has length {}, not 8", chunk.data.len()),
                    ));
                };
                if num_frames == 0 {
                    return Err(invalid(F, "acTL says 0 frames"));
                }
                actl_frames = Some(num_frames);
            }
            b"IDAT" => seen_idat = true,
            b"IEND" => {
                if !seen_idat {
                    return Err(invalid(F, "IEND before any IDAT chunk"));
                }
                break;
            }
            _ => {}
        }
    }

    let frames = actl_frames.unwrap_or(1);
    Ok(ImageInfo {
        format: F,
        width,
        height,
        animated: frames > 1,
        frames: Some(frames),
    })
}

// ---------------------------------------------------------------------------
// JPEG

/// Start-of-frame markers SOF0..SOF15, less DHT (C4), JPG (C8) and DAC (CC).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC)
}

fn decode_jpeg(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    const F: ImageFormat = ImageFormat::Jpeg;
    let mut r = Reader::new(bytes);
    r.skip(2).ok_or_else(|| truncated(F, "no SOI marker"))?;
    let no_sof = || truncated(F, "no SOF marker");
    loop {
        let offset = r.pos();
        let first = r.u8().ok_or_else(no_sof)?;
        if first != 0xFF {
            return Err(invalid(
                F,
                format!("expected a marker at offset {offset}, found byte 0x{first:02x}"),
            ));
        }
        // Any number of 0xFF fill bytes may precede the marker code.
        let marker = loop {
            let b = r.u8().ok_or_else(no_sof)?;
            if b != 0xFF {
                break b;
            }
        };
        match marker {
            // TEM and RSTn stand alone, without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => {
                return Err(invalid(
                    F,
                    format!("stuffed byte 0xff00 at offset {offset} outside scan data"),
                ));
            }
            0xD8 => {
                return Err(invalid(F, format!("second SOI marker at offset {offset}")));
            }
            0xD9 => return Err(invalid(F, "EOI marker before any SOF marker")),
            0xDA => return Err(invalid(F, "SOS (scan data) before any SOF marker")),
            _ => {}
        }
        let seg_len = r.u16_be().ok_or_else(no_sof)?;
        let body_len = usize::from(seg_len).checked_sub(2).ok_or_else(|| {
            invalid(
                F,
                format!(
                    "segment 0xff{marker:02x} at offset {offset} has length {seg_len}, under 2"
                ),
            )
        })?;
        let body = r.take(body_len).ok_or_else(|| {
            truncated(
                F,
                format!(
                    "segment 0xff{marker:02x} at offset {offset} needs {body_len} bytes, {} left",
                    r.remaining()
                ),
            )
        })?;
        if is_sof(marker) {
            let mut s = Reader::new(body);
            let (Some(_precision), Some(height), Some(width)) = (s.u8(), s.u16_be(), s.u16_be())
            else {
                return Err(invalid(
                    F,
                    format!("SOF segment 0xff{marker:02x} has length {seg_len}, too short"),
                ));
            };
            if height == 0 {
                return Err(invalid(
                    F,
                    "SOF height is 0 (set later by a DNL marker), not supported",
                ));
            }
            if width == 0 {
                return Err(invalid(F, "SOF width is 0"));
            }
            return Ok(ImageInfo {
                format: F,
                width: u32::from(width),
                height: u32::from(height),
                animated: false,
                frames: Some(1),
            });
        }
    }
}

// ---------------------------------------------------------------------------
// GIF

/// Bytes in a GIF color table whose size field (low 3 bits of `packed`) is n:
/// 3 * 2^(n+1).
fn gif_color_table_len(packed: u8) -> usize {
    6usize << (packed & 0x07)
}

/// Skips data sub-blocks up to and including the zero-length terminator.
fn gif_skip_sub_blocks(r: &mut Reader<'_>) -> Option<()> {
    loop {
        let n = r.u8()?;
        if n == 0 {
            return Some(());
        }
        r.skip(usize::from(n))?;
    }
}

fn decode_gif(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    const F: ImageFormat = ImageFormat::Gif;
    let mut r = Reader::new(bytes);
    r.skip(6).ok_or_else(|| truncated(F, "no header"))?;
    let (Some(width), Some(height), Some(packed), Some(_bg_and_aspect)) =
        (r.u16_le(), r.u16_le(), r.u8(), r.array::<2>())
    else {
        return Err(truncated(F, "no logical screen descriptor"));
    };
    if width == 0 || height == 0 {
        return Err(invalid(F, format!("logical screen is {width}x{height}")));
    }
    if packed & 0x80 != 0 {
        r.skip(gif_color_table_len(packed))
            .ok_or_else(|| truncated(F, "global color table cut short"))?;
    }

    let mut frames: u32 = 0;
    loop {
        let offset = r.pos();
        let Some(block) = r.u8() else {
            return Err(truncated(F, format!("no trailer after {frames} image(s)")));
        };
        match block {
            // Image descriptor: left, top, width, height, packed; then an
            // optional local color table, the LZW minimum code size and the
            // image data sub-blocks.
            0x2C => {
                let cut = || truncated(F, format!("image at offset {offset} cut short"));
                r.skip(8).ok_or_else(cut)?;
                let local = r.u8().ok_or_else(cut)?;
                if local & 0x80 != 0 {
                    r.skip(gif_color_table_len(local)).ok_or_else(cut)?;
                }
                r.u8().ok_or_else(cut)?;
                gif_skip_sub_blocks(&mut r).ok_or_else(cut)?;
                frames = frames.saturating_add(1);
            }
            // Extension: label, then sub-blocks.
            0x21 => {
                let cut = || truncated(F, format!("extension at offset {offset} cut short"));
                r.u8().ok_or_else(cut)?;
                gif_skip_sub_blocks(&mut r).ok_or_else(cut)?;
            }
            0x3B => break,
            other => {
                return Err(invalid(
                    F,
                    format!("unknown block 0x{other:02x} at offset {offset}"),
                ));
            }
        }
    }
    if frames == 0 {
        return Err(invalid(F, "no image before the trailer"));
    }
    Ok(ImageInfo {
        format: F,
        width: u32::from(width),
        height: u32::from(height),
        animated: frames > 1,
        frames: Some(frames),
    })
}

// ---------------------------------------------------------------------------
// WebP

/// Reads the next RIFF chunk (FourCC, little-endian size, data, pad byte to an
/// even size; a missing pad at the very end is tolerated). `Ok(None)` at the
/// end of data.
fn riff_chunk<'a>(r: &mut Reader<'a>) -> Result<Option<Chunk<'a>>, ImageError> {
    const F: ImageFormat = ImageFormat::Webp;
    if r.is_at_end() {
        return Ok(None);
    }
    let offset = r.pos();
    let (Some(name), Some(size)) = (r.array::<4>(), r.u32_le()) else {
        return Err(truncated(
            F,
            format!("chunk header at offset {offset} cut short"),
        ));
    };
    let cut = |r: &Reader<'_>| {
        truncated(
            F,
            format!(
                "chunk {} at offset {offset} needs {size} bytes, {} left",
                fourcc(name),
                r.remaining()
            ),
        )
    };
    let len = usize::try_from(size).map_err(|_| cut(r))?;
    let data = r.take(len).ok_or_else(|| cut(r))?;
    if size % 2 == 1 && !r.is_at_end() {
        r.skip(1).ok_or_else(|| cut(r))?;
    }
    Ok(Some(Chunk { name, data, offset }))
}

/// Dimensions from a lossy `VP8 ` chunk: a key frame's 3-byte frame tag, the
/// start code 9d 01 2a, then 14-bit width and height (the top 2 bits scale).
fn webp_vp8_dims(data: &[u8]) -> Result<(u32, u32), ImageError> {
    const F: ImageFormat = ImageFormat::Webp;
    let mut d = Reader::new(data);
    let (Some(tag), Some(start), Some(w), Some(h)) =
        (d.array::<3>(), d.array::<3>(), d.u16_le(), d.u16_le())
    else {
        return Err(invalid(
            F,
            format!(
                "VP8 chunk has {} bytes, too short for a frame header",
                data.len()
            ),
        ));
    };
    if tag[0] & 0x01 != 0 {
        return Err(invalid(F, "VP8 frame is not a key frame"));
    }
    if start != [0x9D, 0x01, 0x2A] {
        return Err(invalid(F, "VP8 frame has no start code 9d 01 2a"));
    }
    let (width, height) = (u32::from(w & 0x3FFF), u32::from(h & 0x3FFF));
    if width == 0 || height == 0 {
        return Err(invalid(F, format!("VP8 frame is {width}x{height}")));
    }
    Ok((width, height))
}

/// Dimensions from a lossless `VP8L` chunk: signature 0x2f, then 14 bits of
/// width-1, 14 bits of height-1, 1 alpha bit and a 3-bit version (0).
fn webp_vp8l_dims(data: &[u8]) -> Result<(u32, u32), ImageError> {
    const F: ImageFormat = ImageFormat::Webp;
    let mut d = Reader::new(data);
    let (Some(signature), Some(bits)) = (d.u8(), d.u32_le()) else {
        return Err(invalid(
            F,
            format!(
                "VP8L chunk has {} bytes, too short for a header",
                data.len()
            ),
        ));
    };
    if signature != 0x2F {
        return Err(invalid(
            F,
            format!("VP8L signature is 0x{signature:02x}, not 0x2f"),
        ));
    }
    let version = bits >> 29;
    if version != 0 {
        return Err(invalid(F, format!("VP8L version is {version}, not 0")));
    }
    let width = (bits & 0x3FFF).saturating_add(1);
    let height = ((bits >> 14) & 0x3FFF).saturating_add(1);
    Ok((width, height))
}

fn decode_webp(bytes: &[u8]) -> Result<ImageInfo, ImageError> {
    const F: ImageFormat = ImageFormat::Webp;
    let mut header = Reader::new(bytes);
    let (Some(_riff), Some(riff_size), Some(_webp)) =
        (header.array::<4>(), header.u32_le(), header.array::<4>())
    else {
        return Err(truncated(F, "no RIFF header"));
    };
    // The RIFF size counts from after the size field; bytes past it are ignored.
    let end = usize::try_from(riff_size)
        .ok()
        .and_then(|size| size.checked_add(8))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| {
            truncated(
                F,
                format!(
                    "RIFF size {riff_size} needs {} bytes, only {} present",
                    u64::from(riff_size).saturating_add(8),
                    bytes.len()
                ),
            )
        })?;
    let body = bytes
        .get(12..end)
        .ok_or_else(|| invalid(F, format!("RIFF size {riff_size} is too small for WEBP")))?;
    let mut r = Reader::new(body);

    let still = |(width, height): (u32, u32)| ImageInfo {
        format: F,
        width,
        height,
        animated: false,
        frames: Some(1),
    };
    let Some(Chunk { name, data, .. }) = riff_chunk(&mut r)? else {
        return Err(truncated(F, "no chunk after the RIFF header"));
    };
    match &name {
        b"VP8 " => webp_vp8_dims(data).map(still),
        b"VP8L" => webp_vp8l_dims(data).map(still),
        b"VP8X" => {
            let mut d = Reader::new(data);
            let (Some(flags), Some(_reserved), Some(w), Some(h)) =
                (d.u8(), d.array::<3>(), d.u24_le(), d.u24_le())
            else {
                return Err(invalid(
                    F,
                    format!("VP8X chunk has {} bytes, not 10", data.len()),
                ));
            };
            // Canvas sizes are stored minus one, so they are never 0.
            let width = w.saturating_add(1);
            let height = h.saturating_add(1);

            let mut has_anim = false;
            let mut anmf_count: u32 = 0;
            let mut has_image = false;
            while let Some(chunk) = riff_chunk(&mut r)? {
                match &chunk.name {
                    b"ANIM" => has_anim = true,
                    b"ANMF" => anmf_count = anmf_count.saturating_add(1),
                    b"VP8 " | b"VP8L" => has_image = true,
                    _ => {}
                }
            }
            let animated = flags & 0x02 != 0 || has_anim;
            if animated {
                if anmf_count == 0 {
                    return Err(invalid(F, "animated VP8X image has no ANMF frame"));
                }
            } else if !has_image {
                return Err(invalid(F, "VP8X image has no VP8 or VP8L chunk"));
            }
            Ok(ImageInfo {
                format: F,
                width,
                height,
                animated,
                frames: Some(if animated { anmf_count } else { 1 }),
            })
        }
        _ => Err(invalid(
            F,
            format!("first chunk is {}, not VP8, VP8L or VP8X", fourcc(name)),
        )),
    }
}

#[cfg(test)]
#[allow(
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
mod tests {
    use super::*;

    const PNG: &[u8] = include_bytes!("../fixtures/image-640x480.png");
    const JPG: &[u8] = include_bytes!("../fixtures/image-320x240.jpg");
    const GIF: &[u8] = include_bytes!("../fixtures/animated-64x48.gif");
    const TEXT: &[u8] = include_bytes!("../fixtures/text.txt");
    const HTML: &[u8] = include_bytes!("../fixtures/page.html");
    const SVG: &[u8] = include_bytes!("../fixtures/image.svg");
    const JSON: &[u8] = include_bytes!("../fixtures/data.json");
    const JS: &[u8] = include_bytes!("../fixtures/script.js");
    const PDF: &[u8] = include_bytes!("../fixtures/doc.pdf");
    const BLOB: &[u8] = include_bytes!("../fixtures/blob.bin");

    // --- builders for hand-made images ---

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    fn png_chunk_bytes(name: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        let mut crc_input = name.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        out
    }

    fn ihdr(width: u32, height: u32) -> Vec<u8> {
        let mut d = width.to_be_bytes().to_vec();
        d.extend_from_slice(&height.to_be_bytes());
        d.extend_from_slice(&[8, 6, 0, 0, 0]); // 8-bit RGBA
        png_chunk_bytes(b"IHDR", &d)
    }

    fn actl(num_frames: u32) -> Vec<u8> {
        let mut d = num_frames.to_be_bytes().to_vec();
        d.extend_from_slice(&0u32.to_be_bytes()); // loop forever
        png_chunk_bytes(b"acTL", &d)
    }

    fn png_from(chunks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = PNG_SIGNATURE.to_vec();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    }

    /// An APNG with `frames` frames (frame data is not real; only headers are read).
    fn apng(width: u32, height: u32, frames: u32) -> Vec<u8> {
        png_from(&[
            ihdr(width, height),
            actl(frames),
            png_chunk_bytes(b"fcTL", &[0; 26]),
            png_chunk_bytes(b"IDAT", &[0x78, 0x9C, 0x03, 0x00]),
            png_chunk_bytes(b"fdAT", &[0, 0, 0, 1, 0x78, 0x9C]),
            png_chunk_bytes(b"IEND", &[]),
        ])
    }

    fn riff(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (name, data) in chunks {
            body.extend_from_slice(*name);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    fn vp8_data(width: u16, height: u16) -> Vec<u8> {
        // Key frame tag (bit 0 clear), start code, 14-bit sizes (+ scale bits).
        let mut d = vec![0x50, 0x02, 0x00, 0x9D, 0x01, 0x2A];
        d.extend_from_slice(&(width | 0x4000).to_le_bytes());
        d.extend_from_slice(&(height | 0x8000).to_le_bytes());
        d.extend_from_slice(&[0; 8]);
        d
    }

    fn vp8l_data(width: u32, height: u32) -> Vec<u8> {
        let bits = (width - 1) | ((height - 1) << 14) | (1 << 28); // alpha used, version 0
        let mut d = vec![0x2F];
        d.extend_from_slice(&bits.to_le_bytes());
        d.extend_from_slice(&[0; 4]);
        d
    }

    fn vp8x_data(flags: u8, width: u32, height: u32) -> Vec<u8> {
        let mut d = vec![flags, 0, 0, 0];
        d.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        d.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        d
    }

    fn animated_webp(width: u32, height: u32, frames: usize) -> Vec<u8> {
        let mut chunks: Vec<(&[u8; 4], Vec<u8>)> = vec![
            (b"VP8X", vp8x_data(0x12, width, height)), // animation + alpha
            (b"ANIM", vec![0xFF, 0xFF, 0xFF, 0xFF, 0, 0]),
        ];
        for _ in 0..frames {
            let mut anmf = vec![0; 16]; // x, y, w-1, h-1, duration, flags
            anmf.extend_from_slice(b"VP8L");
            let frame = vp8l_data(width, height);
            anmf.extend_from_slice(&(frame.len() as u32).to_le_bytes());
            anmf.extend_from_slice(&frame);
            chunks.push((b"ANMF", anmf));
        }
        riff(&chunks)
    }

    fn gif(width: u16, height: u16, frames: usize) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&[0xF0, 0, 0]); // global color table of 2 entries
        out.extend_from_slice(&[0, 0, 0, 0xFF, 0xFF, 0xFF]);
        // NETSCAPE2.0 loop extension
        out.extend_from_slice(b"\x21\xFF\x0BNETSCAPE2.0\x03\x01\x00\x00\x00");
        for _ in 0..frames {
            out.extend_from_slice(&[0x21, 0xF9, 4, 0, 10, 0, 0, 0]); // graphic control
            out.push(0x2C);
            out.extend_from_slice(&[0, 0, 0, 0]);
            out.extend_from_slice(&width.to_le_bytes());
            out.extend_from_slice(&height.to_le_bytes());
            out.push(0x81); // local color table of 4 entries
            out.extend_from_slice(&[0; 12]);
            out.extend_from_slice(&[2, 2, 0x44, 0x01, 0]); // LZW data
        }
        out.push(0x3B);
        out
    }

    fn jpeg_segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(body);
        out
    }

    fn sof_body(width: u16, height: u16) -> Vec<u8> {
        let mut b = vec![8];
        b.extend_from_slice(&height.to_be_bytes());
        b.extend_from_slice(&width.to_be_bytes());
        b.extend_from_slice(&[1, 1, 0x11, 0]);
        b
    }

    fn still(format: ImageFormat, width: u32, height: u32) -> ImageInfo {
        ImageInfo {
            format,
            width,
            height,
            animated: false,
            frames: Some(1),
        }
    }

    /// A small deterministic xorshift generator for the robustness tests.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    // --- fixtures ---

    #[test]
    fn png_fixture() {
        assert_eq!(sniff(PNG), Some(ImageFormat::Png));
        assert_eq!(decode_info(PNG), Ok(still(ImageFormat::Png, 640, 480)));
    }

    #[test]
    fn jpeg_fixture() {
        assert_eq!(sniff(JPG), Some(ImageFormat::Jpeg));
        assert_eq!(decode_info(JPG), Ok(still(ImageFormat::Jpeg, 320, 240)));
    }

    #[test]
    fn gif_fixture_is_animated_with_four_frames() {
        assert_eq!(sniff(GIF), Some(ImageFormat::Gif));
        assert_eq!(
            decode_info(GIF),
            Ok(ImageInfo {
                format: ImageFormat::Gif,
                width: 64,
                height: 48,
                animated: true,
                frames: Some(4),
            })
        );
    }

    #[test]
    fn text_fixtures_are_not_images() {
        assert_eq!(
            decode_info(TEXT).unwrap_err().to_string(),
            "not a known image format (first bytes: 6d 65 64 69)"
        );
        assert_eq!(
            decode_info(b"<html><title>x</title></html>")
                .unwrap_err()
                .to_string(),
            "not a known image format (first bytes: 3c 68 74 6d)"
        );
        for bytes in [TEXT, HTML, SVG, JSON, JS, PDF, BLOB] {
            assert_eq!(sniff(bytes), None);
            let err = decode_info(bytes).unwrap_err();
            assert!(matches!(err, ImageError::UnknownFormat { .. }), "{err:?}");
            assert!(err.to_string().starts_with("not a known image format"));
        }
        assert_eq!(
            decode_info(&[0x41]).unwrap_err().to_string(),
            "not a known image format (first bytes: 41)"
        );
        assert_eq!(decode_info(&[]), Err(ImageError::Empty));
    }

    #[test]
    fn media_types() {
        assert_eq!(ImageFormat::Png.media_type(), "image/png");
        assert_eq!(ImageFormat::Jpeg.media_type(), "image/jpeg");
        assert_eq!(ImageFormat::Gif.media_type(), "image/gif");
        assert_eq!(ImageFormat::Webp.media_type(), "image/webp");
    }

    // --- PNG ---

    #[test]
    fn apng_with_actl_is_animated() {
        assert_eq!(
            decode_info(&apng(100, 50, 3)),
            Ok(ImageInfo {
                format: ImageFormat::Png,
                width: 100,
                height: 50,
                animated: true,
                frames: Some(3),
            })
        );
    }

    #[test]
    fn apng_with_one_frame_is_not_animated() {
        assert_eq!(
            decode_info(&apng(7, 9, 1)),
            Ok(still(ImageFormat::Png, 7, 9))
        );
    }

    #[test]
    fn actl_after_idat_is_ignored() {
        let png = png_from(&[
            ihdr(10, 20),
            png_chunk_bytes(b"IDAT", &[0x78, 0x9C]),
            actl(5),
            png_chunk_bytes(b"IEND", &[]),
        ]);
        assert_eq!(decode_info(&png), Ok(still(ImageFormat::Png, 10, 20)));
    }

    #[test]
    fn png_errors() {
        assert_eq!(
            decode_info(&PNG_SIGNATURE).unwrap_err().to_string(),
            "truncated png: no IHDR chunk"
        );
        assert_eq!(
            decode_info(&PNG[..20]).unwrap_err().to_string(),
            "truncated png: no IHDR chunk"
        );
        let not_first = png_from(&[png_chunk_bytes(b"gAMA", &[0; 4]), ihdr(1, 1)]);
        assert_eq!(
            decode_info(&not_first).unwrap_err().to_string(),
            "invalid png: first chunk is gAMA, not IHDR"
        );
        let zero = png_from(&[ihdr(0, 5), png_chunk_bytes(b"IEND", &[])]);
        assert!(matches!(
            decode_info(&zero),
            Err(ImageError::Invalid { .. })
        ));
        let no_idat = png_from(&[ihdr(1, 1), png_chunk_bytes(b"IEND", &[])]);
        assert_eq!(
            decode_info(&no_idat).unwrap_err().to_string(),
            "invalid png: IEND before any IDAT chunk"
        );
        let no_iend = &PNG[..PNG.len() - 12];
        assert_eq!(
            decode_info(no_iend).unwrap_err().to_string(),
            "truncated png: no IEND chunk"
        );
        let huge = png_from(&[ihdr(1, 1), {
            let mut c = png_chunk_bytes(b"IDAT", &[]);
            c[..4].copy_from_slice(&u32::MAX.to_be_bytes());
            c
        }]);
        assert!(matches!(
            decode_info(&huge),
            Err(ImageError::Invalid { .. })
        ));
        let zero_frames = png_from(&[
            ihdr(1, 1),
            actl(0),
            png_chunk_bytes(b"IDAT", &[]),
            png_chunk_bytes(b"IEND", &[]),
        ]);
        assert_eq!(
            decode_info(&zero_frames).unwrap_err().to_string(),
            "invalid png: acTL says 0 frames"
        );
    }

    // --- JPEG ---

    #[test]
    fn jpeg_skips_dht_dac_and_finds_progressive_sof() {
        let mut jpg = vec![0xFF, 0xD8];
        jpg.extend(jpeg_segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"));
        // DHT, JPG and DAC are in the C0..CF range but are not SOF markers;
        // their bodies look like SOF bodies with other dimensions.
        jpg.extend(jpeg_segment(0xC4, &sof_body(1, 2)));
        jpg.extend(jpeg_segment(0xC8, &sof_body(3, 4)));
        jpg.extend(jpeg_segment(0xCC, &sof_body(5, 6)));
        jpg.extend([0xFF, 0xFF]); // fill bytes
        jpg.extend(jpeg_segment(0xC2, &sof_body(1024, 768)));
        jpg.extend([0xFF, 0xDA]);
        assert_eq!(decode_info(&jpg), Ok(still(ImageFormat::Jpeg, 1024, 768)));
    }

    #[test]
    fn jpeg_errors() {
        let mut eoi = vec![0xFF, 0xD8];
        eoi.extend(jpeg_segment(0xE0, b"JFIF\0"));
        eoi.extend([0xFF, 0xD9]);
        assert_eq!(
            decode_info(&eoi).unwrap_err().to_string(),
            "invalid jpeg: EOI marker before any SOF marker"
        );
        let mut sos = vec![0xFF, 0xD8];
        sos.extend(jpeg_segment(0xDA, &[0; 10]));
        assert!(matches!(decode_info(&sos), Err(ImageError::Invalid { .. })));
        assert_eq!(
            decode_info(&[0xFF, 0xD8, 0xFF]).unwrap_err().to_string(),
            "truncated jpeg: no SOF marker"
        );
        let mut dnl = vec![0xFF, 0xD8];
        dnl.extend(jpeg_segment(0xC0, &sof_body(10, 0)));
        assert!(matches!(decode_info(&dnl), Err(ImageError::Invalid { .. })));
        let mut short = vec![0xFF, 0xD8];
        short.extend([0xFF, 0xE1, 0x00, 0x01]);
        assert!(matches!(
            decode_info(&short),
            Err(ImageError::Invalid { .. })
        ));
        let mut junk = vec![0xFF, 0xD8];
        junk.extend(jpeg_segment(0xE0, b"JFIF\0"));
        junk.push(0x12);
        assert!(matches!(
            decode_info(&junk),
            Err(ImageError::Invalid { .. })
        ));
    }

    // --- GIF ---

    #[test]
    fn gif_single_frame_is_not_animated() {
        assert_eq!(
            decode_info(&gif(5, 3, 1)),
            Ok(still(ImageFormat::Gif, 5, 3))
        );
    }

    #[test]
    fn gif_counts_frames() {
        let info = decode_info(&gif(300, 200, 7)).unwrap();
        assert_eq!((info.width, info.height), (300, 200));
        assert!(info.animated);
        assert_eq!(info.frames, Some(7));
    }

    #[test]
    fn gif_errors() {
        assert_eq!(
            decode_info(&gif(5, 3, 0)).unwrap_err().to_string(),
            "invalid gif: no image before the trailer"
        );
        let mut bad_block = gif(5, 3, 1);
        let last = bad_block.len() - 1;
        bad_block[last] = 0x00;
        assert!(matches!(
            decode_info(&bad_block),
            Err(ImageError::Invalid { .. })
        ));
        let no_trailer = gif(5, 3, 2);
        assert_eq!(
            decode_info(&no_trailer[..no_trailer.len() - 1])
                .unwrap_err()
                .to_string(),
            "truncated gif: no trailer after 2 image(s)"
        );
    }

    // --- WebP ---

    #[test]
    fn webp_lossy_vp8() {
        let webp = riff(&[(b"VP8 ", vp8_data(400, 301))]);
        assert_eq!(sniff(&webp), Some(ImageFormat::Webp));
        assert_eq!(decode_info(&webp), Ok(still(ImageFormat::Webp, 400, 301)));
    }

    #[test]
    fn webp_lossless_vp8l() {
        let webp = riff(&[(b"VP8L", vp8l_data(16384, 3))]);
        assert_eq!(decode_info(&webp), Ok(still(ImageFormat::Webp, 16384, 3)));
    }

    #[test]
    fn webp_vp8x_animated() {
        assert_eq!(
            decode_info(&animated_webp(1000, 2000, 3)),
            Ok(ImageInfo {
                format: ImageFormat::Webp,
                width: 1000,
                height: 2000,
                animated: true,
                frames: Some(3),
            })
        );
    }

    #[test]
    fn webp_vp8x_still_and_anim_chunk_without_flag() {
        let webp = riff(&[
            (b"VP8X", vp8x_data(0x10, 70_000, 5)),
            (b"ALPH", vec![0; 3]),
            (b"VP8 ", vp8_data(70, 5)),
        ]);
        assert_eq!(decode_info(&webp), Ok(still(ImageFormat::Webp, 70_000, 5)));

        let webp = riff(&[
            (b"VP8X", vp8x_data(0x00, 8, 8)),
            (b"ANIM", vec![0; 6]),
            (b"ANMF", vec![0; 16]),
            (b"ANMF", vec![0; 16]),
        ]);
        let info = decode_info(&webp).unwrap();
        assert!(info.animated);
        assert_eq!(info.frames, Some(2));
    }

    #[test]
    fn webp_errors() {
        let mut not_key = vp8_data(4, 4);
        not_key[0] |= 1;
        assert_eq!(
            decode_info(&riff(&[(b"VP8 ", not_key)]))
                .unwrap_err()
                .to_string(),
            "invalid webp: VP8 frame is not a key frame"
        );
        let mut bad_sig = vp8l_data(4, 4);
        bad_sig[0] = 0x2E;
        assert!(matches!(
            decode_info(&riff(&[(b"VP8L", bad_sig)])),
            Err(ImageError::Invalid { .. })
        ));
        let mut long = riff(&[(b"VP8L", vp8l_data(4, 4))]);
        long[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            decode_info(&long),
            Err(ImageError::Truncated { .. })
        ));
        let mut short = riff(&[(b"VP8L", vp8l_data(4, 4))]);
        short[4..8].copy_from_slice(&2u32.to_le_bytes());
        assert!(matches!(
            decode_info(&short),
            Err(ImageError::Invalid { .. })
        ));
        assert!(decode_info(&riff(&[(b"ICCP", vec![0; 4])])).is_err());
        assert!(decode_info(&riff(&[(b"VP8X", vp8x_data(0x02, 4, 4))])).is_err());
    }

    // --- robustness ---

    fn samples() -> Vec<Vec<u8>> {
        vec![
            PNG.to_vec(),
            JPG.to_vec(),
            GIF.to_vec(),
            apng(3, 4, 2),
            gif(9, 9, 3),
            riff(&[(b"VP8 ", vp8_data(40, 30))]),
            riff(&[(b"VP8L", vp8l_data(40, 30))]),
            animated_webp(40, 30, 2),
        ]
    }

    #[test]
    fn every_prefix_is_handled() {
        for sample in samples() {
            let format = sniff(&sample).unwrap();
            assert!(decode_info(&sample).is_ok());
            for n in 0..sample.len() {
                let result = decode_info(&sample[..n]);
                // PNG, GIF and WebP are walked to their end, so any cut is seen.
                if format != ImageFormat::Jpeg {
                    assert!(result.is_err(), "{format:?} prefix {n} decoded: {result:?}");
                }
            }
        }
        // A JPEG cut before its SOF segment is complete is an error.
        let sof = JPG.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        for n in 0..sof + 10 {
            assert!(decode_info(&JPG[..n]).is_err(), "jpeg prefix {n}");
        }
    }

    #[test]
    fn random_garbage_never_panics() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let magics: [&[u8]; 6] = [
            &PNG_SIGNATURE,
            &[0xFF, 0xD8, 0xFF],
            b"GIF87a",
            b"GIF89a",
            b"RIFF\x10\x00\x00\x00WEBP",
            b"",
        ];
        for i in 0..20_000 {
            let len = rng.below(200);
            let mut bytes: Vec<u8> = magics[i % magics.len()].to_vec();
            bytes.extend((0..len).map(|_| rng.next() as u8));
            let _ = decode_info(&bytes);
        }
    }

    #[test]
    fn mutated_samples_never_panic() {
        let mut rng = Rng(0xDEAD_BEEF_CAFE_F00D);
        for sample in samples() {
            for _ in 0..1_000 {
                let mut bytes = sample.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len());
                    match rng.below(3) {
                        0 => bytes[at] = rng.next() as u8,
                        1 => bytes[at] = 0xFF,
                        _ => bytes[at] = 0x00,
                    }
                }
                if rng.below(4) == 0 {
                    let at = rng.below(bytes.len().saturating_sub(4));
                    bytes[at..at + 4].copy_from_slice(&[0xFF; 4]);
                }
                let _ = decode_info(&bytes);
            }
        }
    }
}
