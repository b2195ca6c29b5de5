//! Strict RFC 2046 `multipart/mixed` parser for Matrix federation media responses
//! (`/_matrix/federation/v1/media/download|thumbnail/{mediaId}`) that names each rule broken,
//! and a builder for correct and deliberately malformed bodies. Pure: no I/O.
//!
//! The spec requires exactly two parts: a metadata part (`Content-Type: application/json`,
//! a JSON object, currently `{}`) and a media part (the bytes with `Content-Type` /
//! `Content-Disposition`, or a `Location` header with an empty body).
//!
//! * [`parse_media_response`] collects every [`Violation`] (a broken MUST of the spec, RFC 2046
//!   or RFC 9110) and every [`Note`] (allowed, but discouraged or known to break a real
//!   implementation such as Synapse or ruma). Each has a precise lowercase `Display` sentence
//!   and a stable kebab-case `code()`. It never panics and runs in time linear in the body.
//! * [`boundary_from_content_type`] extracts and checks the boundary of a response header.
//! * [`Builder`] writes bodies byte for byte in Synapse's shape, or with one [`Fault`].
//!
//! Delimiter recognition follows RFC 2046 §5.1.1: a delimiter is `CRLF--boundary` (the first may
//! instead sit at the very start of the body), followed by `--` for the close delimiter and then
//! optional transport padding and CRLF (or the end of the body). A line that starts with
//! `--boundary` is a delimiter whatever follows; a mid-line `--boundary` counts as a delimiter
//! missing its CRLF only if what follows is valid for a delimiter line.

mod build;
mod parse;

pub use build::{Builder, DEFAULT_BOUNDARY, FAULT_LOCATION_URL, Fault, PartHeaders};
pub use parse::{
    BoundaryProblem, MAX_KEPT_PARTS, MAX_KEPT_VIOLATIONS, MediaContent, MediaParse, MediaParts,
    Note, Part, Violation, boundary_from_content_type, parse_media_response,
};

#[cfg(test)]
mod tests {
    use super::*;

    /// Synapse's exact body for an 11-byte `text/plain` file named `m.txt`, boundary `B`.
    const SYNAPSE: &[u8] = b"\r\n--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nContent-Type: text/plain\r\nContent-Disposition: inline; filename=m.txt\r\n\r\nhello world\r\n--B--\r\n";
    const CT_B: &str = "multipart/mixed; boundary=B";

    fn synapse_builder() -> Builder {
        Builder::bytes(
            Some("text/plain"),
            Some("inline; filename=m.txt"),
            b"hello world",
        )
    }

    fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
        v.sort_unstable();
        v
    }

    fn codes(ct: &str, body: &[u8]) -> (Vec<&'static str>, Vec<&'static str>) {
        let p = parse_media_response(ct, body);
        (sorted(p.violation_codes()), sorted(p.note_codes()))
    }

    fn hello_media() -> MediaContent {
        MediaContent::Bytes {
            content_type: Some("text/plain".to_owned()),
            content_disposition: Some("inline; filename=m.txt".to_owned()),
            body: b"hello world".to_vec(),
        }
    }

    #[test]
    fn synapse_body_parses_clean() {
        let p = parse_media_response(CT_B, SYNAPSE);
        assert_eq!(p.violations, vec![]);
        assert_eq!(p.notes, vec![]);
        assert!(p.is_conformant());
        assert_eq!(p.parts.len(), 2);
        assert_eq!(p.parts[0].header("CONTENT-TYPE"), Some("application/json"));
        let media = p.media().expect("media");
        assert!(media.metadata.is_empty());
        assert_eq!(media.content, hello_media());
    }

    #[test]
    fn builder_matches_synapse_bytes() {
        assert_eq!(synapse_builder().boundary("B").build(), SYNAPSE);
        assert_eq!(synapse_builder().boundary("B").content_type(), CT_B);
        let b = synapse_builder();
        assert_eq!(
            b.content_type(),
            format!("multipart/mixed; boundary={DEFAULT_BOUNDARY}")
        );
        let expected = String::from_utf8(SYNAPSE.to_vec())
            .expect("utf-8")
            .replace("--B", &format!("--{DEFAULT_BOUNDARY}"));
        assert_eq!(b.build(), expected.as_bytes());
        assert_eq!(DEFAULT_BOUNDARY.len(), 32);
        assert!(
            DEFAULT_BOUNDARY
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
    }

    #[test]
    fn location_part() {
        let url = "https://cdn.example.org/ab/c1/2345.txt";
        let b = Builder::location(url).metadata(r#"{"k":1}"#);
        let p = parse_media_response(&b.content_type(), &b.build());
        assert_eq!((p.violation_codes(), p.note_codes()), (vec![], vec![]));
        let media = p.media().expect("media");
        assert_eq!(
            media.content,
            MediaContent::Location {
                url: url.to_owned()
            }
        );
        assert_eq!(media.metadata.get("k"), Some(&serde_json::json!(1)));

        let raw = b"\r\n--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nLocation: /relative\r\nContent-Type: text/plain\r\n\r\nbody\r\n--B--\r\n";
        let (v, n) = codes(CT_B, raw);
        assert_eq!(v, Vec::<&str>::new());
        assert_eq!(
            n,
            [
                "location-not-absolute",
                "location-not-last-header",
                "location-with-body"
            ]
        );
    }

    #[test]
    fn content_type_boundary_forms() {
        let ok = |ct: &str, b: &str| {
            assert_eq!(boundary_from_content_type(ct), Ok(b.to_owned()), "{ct}")
        };
        ok("multipart/mixed; boundary=abc", "abc");
        ok("Multipart/MIXED;Boundary=abc", "abc");
        ok(r#"multipart/mixed; boundary="abc""#, "abc");
        ok(
            r#"multipart/mixed; boundary="a b:c/d=e?f(g)h,i""#,
            "a b:c/d=e?f(g)h,i",
        );
        ok("multipart/mixed; charset=utf-8; boundary=abc", "abc");
        ok("multipart/mixed; boundary=abc ; x=\"y z\";", "abc");
        ok(" multipart/mixed ;; boundary=abc ", "abc");
        ok(
            &format!("multipart/mixed; boundary={}", "a".repeat(70)),
            &"a".repeat(70),
        );

        let err = |ct: &str| boundary_from_content_type(ct).expect_err(ct);
        assert_eq!(
            err("text/plain; boundary=abc"),
            Violation::NotMultipartMixed {
                actual: "text/plain".to_owned()
            }
        );
        assert_eq!(
            err("multipart/form-data; boundary=abc").to_string(),
            "content type is `multipart/form-data`, spec requires `multipart/mixed`"
        );
        assert_eq!(err("multipart/mixed"), Violation::MissingBoundary);
        assert_eq!(err("multipart/mixed; charset=x").code(), "missing-boundary");
        let bad = |ct: &str| match err(ct) {
            Violation::InvalidBoundary { problem, .. } => problem,
            other => panic!("{ct}: {other:?}"),
        };
        assert_eq!(bad("multipart/mixed; boundary="), BoundaryProblem::Empty);
        assert_eq!(
            bad(r#"multipart/mixed; boundary="""#),
            BoundaryProblem::Empty
        );
        assert_eq!(
            bad(&format!("multipart/mixed; boundary={}", "a".repeat(71))),
            BoundaryProblem::TooLong(71)
        );
        assert_eq!(
            bad(r#"multipart/mixed; boundary="ab ""#),
            BoundaryProblem::EndsWithSpace
        );
        assert_eq!(
            bad(r#"multipart/mixed; boundary="a@b""#),
            BoundaryProblem::InvalidChar('@')
        );
        assert_eq!(
            bad("multipart/mixed; boundary=a*b"),
            BoundaryProblem::InvalidChar('*')
        );
        assert_eq!(
            bad("multipart/mixed; boundary=a:b"),
            BoundaryProblem::NeedsQuoting(':')
        );
        assert_eq!(
            err("multipart/mixed; boundary=a@b").to_string(),
            "invalid boundary `a@b`: character '@' is not allowed in a boundary (RFC 2046 bchars)"
        );
        for ct in [
            "",
            "multipart",
            "multipart/",
            "multipart/mixed boundary=abc",
            r#"multipart/mixed; boundary="abc"#,
            "multipart/mixed; boundary",
            "multipart/mixed; =abc",
            "multipart/mixed; boundary=abc; boundary=abd",
            "multipart/mixed; x=a@b; boundary=abc",
        ] {
            assert_eq!(err(ct).code(), "malformed-content-type", "{ct:?}");
        }
    }

    #[test]
    fn content_type_notes() {
        let body = synapse_builder().boundary("abc").build();
        let (v, n) = codes(r#"multipart/mixed; boundary="abc"; charset=x"#, &body);
        assert_eq!(v, Vec::<&str>::new());
        assert_eq!(n, ["boundary-quoted", "parameter-after-boundary"]);
        // A wrong type with a usable boundary still gets the body checked.
        let (v, _) = codes("multipart/related; boundary=abc", &body);
        assert_eq!(v, ["not-multipart-mixed"]);
    }

    #[test]
    fn preamble_and_epilogue_accepted() {
        let mut body = b"This is the preamble.\r\nIt has two lines.".to_vec();
        body.extend_from_slice(SYNAPSE);
        body.extend_from_slice(b"This is the epilogue. --B\r\n--B\r\nstill epilogue");
        let p = parse_media_response(CT_B, &body);
        assert_eq!((p.violation_codes(), p.note_codes()), (vec![], vec![]));
        assert_eq!(p.media().map(|m| m.content), Some(hello_media()));
        // No CRLF after the close delimiter at the end of the body is fine too.
        let p = parse_media_response(CT_B, SYNAPSE.strip_suffix(b"\r\n").expect("suffix"));
        assert!(p.is_conformant() && p.notes.is_empty());
    }

    #[test]
    fn missing_crlf_at_very_start_accepted() {
        let body = SYNAPSE.strip_prefix(b"\r\n").expect("prefix");
        let p = parse_media_response(CT_B, body);
        assert_eq!(p.violations, vec![]);
        assert_eq!(p.notes, vec![Note::BodyStartsWithDelimiter]);
        assert_eq!(p.media().map(|m| m.content), Some(hello_media()));
    }

    /// The expected (violation codes, note codes) of each fault on the Synapse-shaped bytes
    /// builder. No `_` arm: a new `Fault` does not compile without an expectation.
    fn expected(f: Fault) -> (&'static [&'static str], &'static [&'static str]) {
        match f {
            Fault::None => (&[], &[]),
            Fault::NoPreambleCrlf => (&[], &["body-starts-with-delimiter"]),
            Fault::NoCloseDelimiter => (&["body-ends-inside-part", "no-close-delimiter"], &[]),
            Fault::CloseWithoutDashes => (&["no-close-delimiter"], &[]),
            Fault::LfOnly => (&["lf-only-line-ending"], &[]),
            Fault::ThreeParts => (&["wrong-part-count"], &[]),
            Fault::OnlyJsonPart => (&["wrong-part-count"], &[]),
            Fault::FileFirst => (
                &["json-part-invalid-json", "json-part-wrong-content-type"],
                &[],
            ),
            Fault::JsonPartTextPlain => (&["json-part-wrong-content-type"], &[]),
            Fault::JsonPartCharset => (&[], &["json-content-type-not-exact"]),
            Fault::JsonArray => (&["json-part-not-object"], &[]),
            Fault::InvalidJson => (&["json-part-invalid-json"], &[]),
            Fault::NoJsonContentType => (&["json-part-missing-content-type"], &[]),
            Fault::MissingFileContentType => (&[], &["media-part-missing-content-type"]),
            Fault::LocationWithBody => (&[], &["location-with-body"]),
            Fault::QuotedBoundary => (&[], &["boundary-quoted"]),
            Fault::BoundaryMismatch => (&["no-opening-delimiter"], &[]),
        }
    }

    #[test]
    fn every_fault_yields_exactly_its_codes() {
        for &f in Fault::ALL {
            let b = synapse_builder().fault(f);
            let (v, n) = codes(&b.content_type(), &b.build());
            let (ev, en) = expected(f);
            assert_eq!((v.as_slice(), n.as_slice()), (ev, en), "{f:?}");
            // Every fault must be visible as a violation or a note.
            assert_eq!(f == Fault::None, ev.is_empty() && en.is_empty(), "{f:?}");
        }
        let mut seen = Fault::ALL.to_vec();
        seen.dedup();
        assert_eq!(seen.len(), Fault::ALL.len());
    }

    #[test]
    fn fault_messages() {
        let msg = |f: Fault| {
            let b = synapse_builder().boundary("B").fault(f);
            parse_media_response(&b.content_type(), &b.build())
                .violations
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            msg(Fault::CloseWithoutDashes),
            [
                "no close delimiter `--B--`: the body ends after 2 parts, at a delimiter without the closing `--`"
            ]
        );
        assert_eq!(
            msg(Fault::NoCloseDelimiter),
            [
                "the body ends inside part 2 (no delimiter follows its content)",
                "no close delimiter `--B--`: the body ends after 2 parts"
            ]
        );
        assert_eq!(
            msg(Fault::ThreeParts),
            ["3 body parts, spec requires exactly 2"]
        );
        assert_eq!(
            msg(Fault::OnlyJsonPart),
            ["1 body part, spec requires exactly 2"]
        );
        assert_eq!(
            msg(Fault::JsonArray),
            ["first part is a JSON array, spec requires an object"]
        );
        assert_eq!(
            msg(Fault::JsonPartTextPlain),
            ["first part content type is `text/plain`, spec requires `application/json`"]
        );
        assert_eq!(
            msg(Fault::LfOnly),
            [
                "bare LF line ending at byte 0: multipart framing and part headers must use CRLF (11 bare LF line endings)"
            ]
        );
        assert_eq!(
            msg(Fault::BoundaryMismatch),
            ["no opening delimiter `--B` found in the body"]
        );
        let b = synapse_builder().fault(Fault::JsonPartCharset);
        let p = parse_media_response(&b.content_type(), &b.build());
        assert!(
            p.notes[0]
                .to_string()
                .contains("`application/json; charset=utf-8`")
        );
    }

    #[test]
    fn framing_violations() {
        // multipart-stream's serializer: no CRLF before delimiters.
        let body = b"--B\r\nContent-Type: application/json\r\n\r\n{}--B\r\nContent-Type: text/plain\r\n\r\nhi--B--\r\n";
        let p = parse_media_response(CT_B, body);
        assert_eq!(
            p.violations,
            [
                Violation::MissingCrlfBeforeDelimiter { offset: 41 },
                Violation::MissingCrlfBeforeDelimiter { offset: 76 }
            ]
        );
        assert_eq!(p.media().map(|m| m.metadata.len()), Some(0));
        // Transport padding and junk after delimiters.
        let body = b"\r\n--B \t\r\nContent-Type: application/json\r\n\r\n{}\r\n--B junk\r\nContent-Type: text/plain\r\n\r\nhi\r\n--B-- \r\n";
        let p = parse_media_response(CT_B, body);
        assert_eq!(
            sorted(p.violation_codes()),
            [
                "junk-after-delimiter",
                "transport-padding",
                "transport-padding"
            ]
        );
        assert_eq!(
            p.violations[1].to_string(),
            r#"unexpected text " junk" after the delimiter at byte 47"#
        );
        // Synapse's zero-length-media bug: only the close delimiter.
        let (v, _) = codes(CT_B, b"\r\n--B--\r\n");
        assert_eq!(v, ["wrong-part-count"]);
        // A part header section without its empty line, and an invalid header name.
        let body = b"\r\n--B\r\nContent-Type: application/json\r\n--B\r\nBad Header: x\r\n\r\nhi\r\n--B--\r\n";
        let p = parse_media_response(CT_B, body);
        assert_eq!(
            p.violation_codes(),
            ["malformed-part-headers", "malformed-part-headers"]
        );
        assert_eq!(
            p.violations[0].to_string(),
            "part 1 has a malformed header section: the header section is not terminated by an empty line"
        );
        assert_eq!(p.parts.len(), 2);
        // Truncated inside the second part's headers.
        let body = b"\r\n--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\nContent-Ty";
        let (v, _) = codes(CT_B, body);
        assert_eq!(v, ["body-ends-inside-part", "no-close-delimiter"]);
        // No body at all.
        let (v, _) = codes(CT_B, b"");
        assert_eq!(v, ["no-opening-delimiter"]);
    }

    #[test]
    fn part_checks() {
        let with = |json_part: &str, media_part: &str| {
            let body = format!("\r\n--B\r\n{json_part}\r\n--B\r\n{media_part}\r\n--B--\r\n");
            codes(CT_B, body.as_bytes())
        };
        let none = Vec::<&str>::new();
        assert_eq!(
            with(
                "X-Extra: 1\r\nContent-Type: application/json\r\n\r\n{}",
                "\r\n"
            ),
            (vec!["media-part-empty"], vec!["json-part-header-order"])
        );
        assert_eq!(
            with(
                "Content-Type: Application/JSON\r\n\r\n\"s\"",
                "Content-Type: a/b\r\n\r\n"
            ),
            (
                vec!["json-part-not-object"],
                vec!["json-content-type-not-exact"]
            )
        );
        assert_eq!(
            with(
                "Content-Type: application/json\r\n\r\n",
                "Content-Disposition: inline\r\n\r\n"
            ),
            (
                vec!["json-part-invalid-json", "media-part-empty"],
                none.clone()
            )
        );
        assert_eq!(
            with(
                "Content-Type: application/json\r\n\r\n{}",
                "Location: https://x.example/m\r\n\r\n"
            ),
            (none.clone(), none.clone())
        );
        assert_eq!(
            with(
                "Content-Type: application/json\r\n\r\n{}",
                "Location: https://\r\n\r\n"
            ),
            (none.clone(), vec!["location-not-absolute"])
        );
        assert!(
            Violation::JsonPartNotObject { kind: "null value" }
                .to_string()
                .starts_with("first part")
        );
    }

    /// A tiny deterministic PRNG (xorshift64*), to avoid a dev-dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn check_invariants(ct: &str, body: &[u8]) {
        let p = parse_media_response(ct, body);
        for v in &p.violations {
            let s = v.to_string();
            assert!(!s.is_empty() && !s.starts_with(char::is_uppercase), "{s}");
            assert!(!v.code().is_empty());
        }
        for n in &p.notes {
            assert!(!n.to_string().starts_with(char::is_uppercase));
        }
        let _ = p.media();
        let _ = boundary_from_content_type(ct);
    }

    #[test]
    fn truncations_never_panic() {
        for &f in Fault::ALL {
            for builder in [
                synapse_builder().boundary("B"),
                Builder::location("https://x.example/m"),
            ] {
                let b = builder.fault(f);
                let (ct, body) = (b.content_type(), b.build());
                for n in 0..=body.len() {
                    check_invariants(&ct, &body[..n]);
                    check_invariants(&ct, &body[n..]);
                }
            }
        }
        // Every strict prefix of a valid body that cuts more than the final CRLF is non-conformant.
        for n in 0..SYNAPSE.len() - 2 {
            assert!(
                !parse_media_response(CT_B, &SYNAPSE[..n]).is_conformant(),
                "prefix {n}"
            );
        }
    }

    #[test]
    fn random_inputs_never_panic() {
        const TOKENS: &[&[u8]] = &[
            b"\r\n",
            b"\n",
            b"\r",
            b"--",
            b"B",
            b"--B",
            b"--B--",
            b" ",
            b"\t",
            b"x",
            b":",
            b"{}",
            b"[1]",
            b"Content-Type: application/json",
            b"Location: /x",
            b"\xff",
            b"\0",
            b"\"",
        ];
        const CTS: &[&str] = &[
            CT_B,
            "multipart/mixed; boundary=\"B\"",
            "multipart/mixed; boundary=\"B",
            "multipart/mixed; boundary=",
            "multipart/mixed;;boundary=B;",
            "text/plain",
            "",
            "multipart/mixed; boundary=\"\\",
            "mültipart/mixed; boundary=é",
            "multipart/mixed; boundary=B; q=\"é\\",
        ];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..4000 {
            let mut body = Vec::new();
            for _ in 0..rng.below(60) {
                body.extend_from_slice(TOKENS[rng.below(TOKENS.len())]);
            }
            check_invariants(CTS[rng.below(CTS.len())], &body);
            let raw: Vec<u8> = (0..rng.below(200)).map(|_| rng.next() as u8).collect();
            check_invariants(CT_B, &raw);
            let ct: String = (0..rng.below(40))
                .map(|_| char::from(rng.next() as u8))
                .collect();
            check_invariants(&ct, &body);
            check_invariants(&format!("multipart/mixed; boundary={ct}"), &raw);
        }
    }

    #[test]
    fn large_bodies_parse_in_linear_time() {
        // 10 MB of media.
        let mut rng = Rng(42);
        let media: Vec<u8> = (0..10_000_000).map(|_| rng.next() as u8).collect();
        let b = Builder::bytes(Some("application/octet-stream"), None, &media);
        let p = parse_media_response(&b.content_type(), &b.build());
        assert!(p.is_conformant());
        match p.media().map(|m| m.content) {
            Some(MediaContent::Bytes { body, .. }) => assert!(body == media),
            other => panic!("{other:?}"),
        }
        // Adversarial: many mid-line boundary candidates, then many tiny parts.
        let mut body =
            b"\r\n--B\r\nContent-Type: application/json\r\n\r\n{}\r\n--B\r\n\r\n".to_vec();
        body.extend(b"x--Bx".repeat(400_000));
        body.extend(b"\r\n--B\r\n\r\n".repeat(200_000));
        body.extend_from_slice(b"\r\n--B--\r\n");
        let p = parse_media_response(CT_B, &body);
        assert_eq!(p.violation_codes(), ["wrong-part-count"]);
        assert_eq!(p.part_count, 200_002);
        assert_eq!(
            p.parts.len(),
            MAX_KEPT_PARTS,
            "only the first parts are kept"
        );
    }
}
