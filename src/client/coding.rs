//! Content codings (RFC 9110 §8.4) a target applies although every request says
//! `Accept-Encoding: identity`: `gzip` and `deflate` are decoded as they stream, into the same
//! capped recorder, so a compression bomb stops at the body cap like any long body; other
//! codings cannot be read and say so.

use std::io::Write;

use super::body::BodyRecorder;

/// What every request sends: no content coding, please.
pub const ACCEPT_ENCODING: &str = "identity";

/// Feeds the recorder; reports "stop" as an error so the decoder stops writing.
struct Sink {
    recorder: BodyRecorder,
    full: bool,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.full {
            return Err(std::io::Error::other(CAP_REACHED));
        }
        if !self.recorder.push(buf) {
            self.full = true;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const CAP_REACHED: &str = "body cap reached";

enum Kind {
    Identity(Sink),
    Gzip(Box<flate2::write::GzDecoder<Sink>>),
    Zlib(Box<flate2::write::ZlibDecoder<Sink>>),
}

/// A body as it arrives, decoded when it carries a coding mediaconf reads.
pub struct DecodingRecorder {
    kind: Kind,
    coding: String,
}

impl DecodingRecorder {
    /// `content_encoding`: the response's `Content-Encoding` value, if any. `Err` names a
    /// coding that cannot be decoded.
    pub fn new(recorder: BodyRecorder, content_encoding: Option<&str>) -> Result<Self, String> {
        let coding = content_encoding.unwrap_or("").trim().to_ascii_lowercase();
        let sink = Sink {
            recorder,
            full: false,
        };
        let kind = match coding.as_str() {
            "" | "identity" => Kind::Identity(sink),
            "gzip" | "x-gzip" => Kind::Gzip(Box::new(flate2::write::GzDecoder::new(sink))),
            "deflate" => Kind::Zlib(Box::new(flate2::write::ZlibDecoder::new(sink))),
            other => {
                return Err(format!(
                    "the answer is `Content-Encoding: {other}`, which mediaconf does not decode, although the request said `Accept-Encoding: {ACCEPT_ENCODING}` (RFC 9110 §12.5.3)"
                ));
            }
        };
        Ok(DecodingRecorder { kind, coding })
    }

    /// Takes the next raw chunk; `Ok(false)` once the decoded body passed the cap.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, String> {
        let result = match &mut self.kind {
            Kind::Identity(sink) => {
                let _ = sink.write(chunk);
                return Ok(!sink.full);
            }
            Kind::Gzip(d) => d.write_all(chunk),
            Kind::Zlib(d) => d.write_all(chunk),
        };
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.to_string() == CAP_REACHED => Ok(false),
            Err(e) => Err(decode_error(&self.coding, &e)),
        }
    }

    /// The decoded body's recorder, once the raw body ended (or was cut).
    pub fn finish(self, complete: bool) -> Result<BodyRecorder, String> {
        let coding = self.coding;
        let fail = |e: std::io::Error| decode_error(&coding, &e);
        // A body cut at the cap ends mid-stream: keep what was decoded, without the checks
        // `finish` makes on a complete stream.
        let cut = |sink: &mut Sink| {
            std::mem::replace(
                sink,
                Sink {
                    recorder: BodyRecorder::new(0, 0),
                    full: true,
                },
            )
        };
        let sink = match self.kind {
            Kind::Identity(sink) => sink,
            Kind::Gzip(d) if complete => d.finish().map_err(fail)?,
            Kind::Zlib(d) if complete => d.finish().map_err(fail)?,
            Kind::Gzip(mut d) => {
                let _ = d.flush();
                cut(d.get_mut())
            }
            Kind::Zlib(mut d) => {
                let _ = d.flush();
                cut(d.get_mut())
            }
        };
        let mut recorder = sink.recorder;
        if sink.full {
            recorder.mark_truncated();
        }
        Ok(recorder)
    }
}

fn decode_error(coding: &str, e: &std::io::Error) -> String {
    format!(
        "the `Content-Encoding: {coding}` body does not decode ({e}); the request said `Accept-Encoding: {ACCEPT_ENCODING}`"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_is_decoded_and_hashed_as_decoded() {
        let mut d =
            DecodingRecorder::new(BodyRecorder::new(1 << 20, 1 << 20), Some("gzip")).unwrap();
        let coded = gzip(b"hello world");
        for chunk in coded.chunks(3) {
            assert!(d.push(chunk).unwrap());
        }
        let body = d.finish(true).unwrap().finish();
        assert_eq!(body.kept, b"hello world");
        assert!(!body.truncated);
    }

    #[test]
    fn a_bomb_stops_at_the_cap() {
        let coded = gzip(&vec![0u8; 50 << 20]);
        let mut d = DecodingRecorder::new(BodyRecorder::new(1 << 20, 1024), Some("gzip")).unwrap();
        let mut reading = true;
        for chunk in coded.chunks(8192) {
            reading = d.push(chunk).unwrap();
            if !reading {
                break;
            }
        }
        assert!(!reading, "the cap stops the decoding");
        let body = d.finish(false).unwrap().finish();
        assert_eq!(body.len, 1 << 20);
        assert!(body.truncated);
        assert_eq!(body.kept.len(), 1024);
    }

    #[test]
    fn undecodable_and_unknown_codings_are_named() {
        let mut d = DecodingRecorder::new(BodyRecorder::new(100, 100), Some("gzip")).unwrap();
        let e = d.push(b"definitely not gzip").unwrap_err();
        assert!(e.contains("does not decode"), "{e}");
        let e = DecodingRecorder::new(BodyRecorder::new(1, 1), Some("br"))
            .err()
            .unwrap();
        assert!(e.contains("Content-Encoding: br"), "{e}");
    }
}
