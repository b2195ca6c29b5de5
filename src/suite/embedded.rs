//! The suites and fixtures compiled into the binary, so an installed `mediaconf` needs no checkout.

/// `(file name, text)` of every file in `suites/`.
pub const SUITES: &[(&str, &str)] = &[
    (
        "client-auth.toml",
        include_str!("../../suites/client-auth.toml"),
    ),
    (
        "client-download.toml",
        include_str!("../../suites/client-download.toml"),
    ),
    (
        "client-thumbnail.toml",
        include_str!("../../suites/client-thumbnail.toml"),
    ),
    (
        "client-config-preview.toml",
        include_str!("../../suites/client-config-preview.toml"),
    ),
    (
        "client-upload.toml",
        include_str!("../../suites/client-upload.toml"),
    ),
    ("legacy.toml", include_str!("../../suites/legacy.toml")),
    ("guest.toml", include_str!("../../suites/guest.toml")),
    (
        "federation.toml",
        include_str!("../../suites/federation.toml"),
    ),
    ("remote.toml", include_str!("../../suites/remote.toml")),
    ("msc1902.toml", include_str!("../../suites/msc1902.toml")),
    ("unstable.toml", include_str!("../../suites/unstable.toml")),
];

/// `(file name, bytes)` of every media fixture in `fixtures/`.
pub const FIXTURES: &[(&str, &[u8])] = &[
    (
        "image-640x480.png",
        include_bytes!("../../fixtures/image-640x480.png"),
    ),
    (
        "image-320x240.jpg",
        include_bytes!("../../fixtures/image-320x240.jpg"),
    ),
    (
        "animated-64x48.gif",
        include_bytes!("../../fixtures/animated-64x48.gif"),
    ),
    ("text.txt", include_bytes!("../../fixtures/text.txt")),
    ("page.html", include_bytes!("../../fixtures/page.html")),
    ("image.svg", include_bytes!("../../fixtures/image.svg")),
    ("data.json", include_bytes!("../../fixtures/data.json")),
    ("script.js", include_bytes!("../../fixtures/script.js")),
    ("doc.pdf", include_bytes!("../../fixtures/doc.pdf")),
    ("blob.bin", include_bytes!("../../fixtures/blob.bin")),
];

/// The embedded (or generated, [`super::generated`]) fixture with this file name.
pub fn fixture(name: &str) -> Option<&'static [u8]> {
    FIXTURES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .or_else(|| super::generated::fixture(name))
}
