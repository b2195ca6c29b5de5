//! The builder: federation media response bodies, correct or with one deliberate fault.

/// The boundary used unless [`Builder::boundary`] sets another (32 lowercase hex digits, the
/// shape of Synapse's `uuid4().hex`).
pub const DEFAULT_BOUNDARY: &str = "5f1e9c2b7a3d48e6b0c4d2a19e8f7b63";

/// The `Location` URL that [`Fault::LocationWithBody`] puts into a bytes part.
pub const FAULT_LOCATION_URL: &str = "https://media.example.org/_media/fault";

/// One deliberate defect in a built response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// A correct response, byte for byte in Synapse's shape.
    None,
    /// No CRLF before the first delimiter: fine per RFC 2046, but the shape Dendrite sent.
    NoPreambleCrlf,
    /// The body ends after the media part's content: no `\r\n--B--\r\n`.
    NoCloseDelimiter,
    /// The body ends with `\r\n--B` (no `--`, no CRLF), as ruma-federation-api 0.16.1 writes it.
    CloseWithoutDashes,
    /// LF instead of CRLF everywhere in the framing and part headers.
    LfOnly,
    /// A third part (`text/plain`) after the media part.
    ThreeParts,
    /// Only the metadata part.
    OnlyJsonPart,
    /// The media part first, the metadata part second.
    FileFirst,
    /// The metadata part is labelled `text/plain`.
    JsonPartTextPlain,
    /// The metadata part is labelled `application/json; charset=utf-8`.
    JsonPartCharset,
    /// The metadata is `[]`.
    JsonArray,
    /// The metadata is not JSON.
    InvalidJson,
    /// The metadata part has no headers at all.
    NoJsonContentType,
    /// The media part has no `Content-Type` header.
    MissingFileContentType,
    /// The media part is a `Location` part with a non-empty body (a bytes part becomes
    /// `Location: FAULT_LOCATION_URL` with the bytes as its body).
    LocationWithBody,
    /// The response header quotes the boundary: `boundary="B"` (affects only `content_type()`).
    QuotedBoundary,
    /// The response header names one boundary and the body uses another.
    BoundaryMismatch,
}

impl Fault {
    /// Every fault, in declaration order.
    pub const ALL: &[Fault] = &[
        Fault::None,
        Fault::NoPreambleCrlf,
        Fault::NoCloseDelimiter,
        Fault::CloseWithoutDashes,
        Fault::LfOnly,
        Fault::ThreeParts,
        Fault::OnlyJsonPart,
        Fault::FileFirst,
        Fault::JsonPartTextPlain,
        Fault::JsonPartCharset,
        Fault::JsonArray,
        Fault::InvalidJson,
        Fault::NoJsonContentType,
        Fault::MissingFileContentType,
        Fault::LocationWithBody,
        Fault::QuotedBoundary,
        Fault::BoundaryMismatch,
    ];
}

/// How the part headers are written. Every style is valid (RFC 2046 parts carry RFC 5322
/// style headers: names are case-insensitive and their order is free).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartHeaders {
    /// `Content-Type` then `Content-Disposition`, names as usually spelled.
    #[default]
    Canonical,
    /// The media part's `Content-Disposition` before its `Content-Type`.
    DispositionFirst,
    /// Names in other letter case: `content-type` in the JSON part, upper case in the media part.
    OtherCase,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Second {
    Bytes {
        content_type: Option<String>,
        content_disposition: Option<String>,
        body: Vec<u8>,
    },
    Location(String),
}

type PartSpec = (Vec<(String, String)>, Vec<u8>);

/// Builds a `multipart/mixed` federation media response: boundary, metadata JSON text and
/// second part, plus at most one [`Fault`]. The boundary is used as given (not validated), so
/// invalid boundaries can be produced on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Builder {
    boundary: String,
    metadata: String,
    second: Second,
    fault: Fault,
    part_headers: PartHeaders,
}

impl Builder {
    fn new(second: Second) -> Self {
        Self {
            boundary: DEFAULT_BOUNDARY.to_owned(),
            metadata: "{}".to_owned(),
            second,
            fault: Fault::None,
            part_headers: PartHeaders::Canonical,
        }
    }

    /// A response whose second part carries `body` with the given headers (each omitted if `None`).
    pub fn bytes(
        content_type: Option<&str>,
        content_disposition: Option<&str>,
        body: &[u8],
    ) -> Self {
        Self::new(Second::Bytes {
            content_type: content_type.map(str::to_owned),
            content_disposition: content_disposition.map(str::to_owned),
            body: body.to_vec(),
        })
    }

    /// A response whose second part is `Location: url` with an empty body.
    pub fn location(url: &str) -> Self {
        Self::new(Second::Location(url.to_owned()))
    }

    pub fn boundary(mut self, b: &str) -> Self {
        b.clone_into(&mut self.boundary);
        self
    }

    /// The first part's body, verbatim (default `{}`).
    pub fn metadata(mut self, json_text: &str) -> Self {
        json_text.clone_into(&mut self.metadata);
        self
    }

    pub fn fault(mut self, f: Fault) -> Self {
        self.fault = f;
        self
    }

    /// How the part headers are written (valid in every style).
    pub fn part_headers(mut self, style: PartHeaders) -> Self {
        self.part_headers = style;
        self
    }

    /// Header names as the style spells them in the JSON part (`json`) or the media part.
    fn spelled(&self, headers: Vec<(&str, String)>, json: bool) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = headers
            .into_iter()
            .map(|(name, value)| {
                let name = match (self.part_headers, json) {
                    (PartHeaders::OtherCase, true) => name.to_ascii_lowercase(),
                    (PartHeaders::OtherCase, false) => name.to_ascii_uppercase(),
                    _ => name.to_owned(),
                };
                (name, value)
            })
            .collect();
        if self.part_headers == PartHeaders::DispositionFirst && !json {
            out.reverse();
        }
        out
    }

    /// The `Content-Type` header value for the response.
    pub fn content_type(&self) -> String {
        if self.fault == Fault::QuotedBoundary {
            let escaped = self.boundary.replace('\\', "\\\\").replace('"', "\\\"");
            format!("multipart/mixed; boundary=\"{escaped}\"")
        } else {
            format!("multipart/mixed; boundary={}", self.boundary)
        }
    }

    /// The boundary the body uses: the configured one, except under [`Fault::BoundaryMismatch`],
    /// where it is one of two constants of which the configured boundary is not a prefix (so
    /// `--boundary` never occurs in the body).
    fn body_boundary(&self) -> &str {
        if self.fault != Fault::BoundaryMismatch {
            return &self.boundary;
        }
        const ALTERNATIVES: [&str; 2] = [
            "0000mismatched0000boundary000000",
            "1111mismatched1111boundary111111",
        ];
        let [a, b] = ALTERNATIVES;
        if a.starts_with(self.boundary.as_str()) {
            b
        } else {
            a
        }
    }

    fn json_part(&self) -> PartSpec {
        let headers = match self.fault {
            Fault::JsonPartTextPlain => vec![("Content-Type", "text/plain".to_owned())],
            Fault::JsonPartCharset => {
                vec![("Content-Type", "application/json; charset=utf-8".to_owned())]
            }
            Fault::NoJsonContentType => Vec::new(),
            _ => vec![("Content-Type", "application/json".to_owned())],
        };
        let body = match self.fault {
            Fault::JsonArray => b"[]".to_vec(),
            Fault::InvalidJson => b"not json".to_vec(),
            _ => self.metadata.as_bytes().to_vec(),
        };
        (self.spelled(headers, true), body)
    }

    fn media_part(&self) -> PartSpec {
        match &self.second {
            Second::Bytes {
                content_type,
                content_disposition,
                body,
            } => {
                if self.fault == Fault::LocationWithBody {
                    let body = if body.is_empty() {
                        b"unexpected body".to_vec()
                    } else {
                        body.clone()
                    };
                    let headers = vec![("Location", FAULT_LOCATION_URL.to_owned())];
                    return (self.spelled(headers, false), body);
                }
                let mut headers = Vec::new();
                if let Some(ct) = content_type
                    && self.fault != Fault::MissingFileContentType
                {
                    headers.push(("Content-Type", ct.clone()));
                }
                if let Some(cd) = content_disposition {
                    headers.push(("Content-Disposition", cd.clone()));
                }
                (self.spelled(headers, false), body.clone())
            }
            Second::Location(url) => {
                let body = if self.fault == Fault::LocationWithBody {
                    b"this body should be empty".to_vec()
                } else {
                    Vec::new()
                };
                (self.spelled(vec![("Location", url.clone())], false), body)
            }
        }
    }

    /// The response body.
    pub fn build(&self) -> Vec<u8> {
        let nl: &[u8] = if self.fault == Fault::LfOnly {
            b"\n"
        } else {
            b"\r\n"
        };
        let boundary = self.body_boundary().as_bytes();
        let json = self.json_part();
        let media = self.media_part();
        let parts = match self.fault {
            Fault::OnlyJsonPart => vec![json],
            Fault::FileFirst => vec![media, json],
            Fault::ThreeParts => vec![
                json,
                media,
                (
                    vec![("Content-Type".to_owned(), "text/plain".to_owned())],
                    b"unexpected third part".to_vec(),
                ),
            ],
            _ => vec![json, media],
        };
        let size: usize = parts.iter().map(|(_, b)| b.len() + 200).sum();
        let mut out = Vec::with_capacity(size + 2 * boundary.len() + 16);
        if self.fault != Fault::NoPreambleCrlf {
            out.extend_from_slice(nl);
        }
        for (i, (headers, body)) in parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(nl);
            }
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary);
            out.extend_from_slice(nl);
            for (name, value) in headers {
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(nl);
            }
            out.extend_from_slice(nl);
            out.extend_from_slice(body);
        }
        match self.fault {
            Fault::NoCloseDelimiter => {}
            Fault::CloseWithoutDashes => {
                out.extend_from_slice(nl);
                out.extend_from_slice(b"--");
                out.extend_from_slice(boundary);
            }
            _ => {
                out.extend_from_slice(nl);
                out.extend_from_slice(b"--");
                out.extend_from_slice(boundary);
                out.extend_from_slice(b"--");
                out.extend_from_slice(nl);
            }
        }
        out
    }
}
