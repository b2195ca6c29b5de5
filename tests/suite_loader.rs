//! Suite loading: the embedded suites are valid and complete, and every kind of mistake in a
//! suite file is reported at the right file:line:column with a useful message.

use mediaconf::suite::{SourceFile, build_suite, embedded, load_suite};

const HEADER: &str =
    "profile = \"t\"\n[media.png]\nfixture = \"x.png\"\ncontent-type = \"image/png\"\n";

fn errors(text: &str) -> Vec<(usize, usize, String)> {
    let files = [SourceFile {
        name: "t.toml".into(),
        text: text.into(),
        dir: None,
    }];
    match build_suite(&files, &|name, _| {
        (name == "x.png").then(|| embedded::fixture("image-640x480.png").unwrap().to_vec())
    }) {
        Ok(_) => Vec::new(),
        Err(e) => {
            e.0.into_iter()
                .map(|e| (e.line, e.column, e.message))
                .collect()
        }
    }
}

fn case(body: &str) -> String {
    format!(
        "{HEADER}[[case]]\nid = \"X-01\"\ntitle = \"t\"\nlevel = \"MUST\"\nspec = \"s\"\nsince = \"v1.11\"\n{body}"
    )
}

/// (what, suite text, expected line, expected column, message fragment)
fn table() -> Vec<(&'static str, String, usize, usize, &'static str)> {
    vec![
        (
            "unknown key lists the allowed ones",
            case("[case.request]\npath = \"/a\"\n[case.expect]\nstauts = 200\n"),
            14,
            1,
            "unknown field `stauts`, expected one of `status`",
        ),
        (
            "unknown level",
            case("").replace("\"MUST\"", "\"MUSTT\""),
            8,
            9,
            "unknown variant `MUSTT`, expected one of `MUST`, `SHOULD`",
        ),
        (
            "bad spec version",
            case("[case.request]\npath = \"/a\"\n").replace("v1.11", "1.11"),
            10,
            9,
            "`1.11` is not a spec version",
        ),
        (
            "until before since",
            case("until = \"v1.2\"\n[case.request]\npath = \"/a\"\n"),
            11,
            9,
            "is before `since",
        ),
        (
            "unknown media in a path",
            case("[case.request]\npath = \"/d/{media.gif.id}\"\n"),
            12,
            8,
            "no media named `gif` (defined: png)",
        ),
        (
            "unknown variable",
            case("[case.request]\npath = \"/d/{sever_name}\"\n"),
            12,
            8,
            "unknown variable `{sever_name}` (known: server_name",
        ),
        (
            "unclosed brace",
            case("[case.request]\npath = \"/d/{server_name\"\n"),
            12,
            8,
            "unclosed `{`",
        ),
        ("no request", case(""), 6, 6, "has no request"),
        (
            "both forms",
            case("[case.request]\npath = \"/a\"\n[[case.step]]\nrequest = { path = \"/b\" }\n"),
            6,
            6,
            "both `[case.request]` and `[[case.step]]`",
        ),
        (
            "path without slash",
            case("[case.request]\npath = \"a\"\n"),
            12,
            8,
            "must start with `/`",
        ),
        (
            "lower-case method",
            case("[case.request]\nmethod = \"get\"\npath = \"/a\"\n"),
            13,
            8,
            "upper-case HTTP method",
        ),
        (
            "bad auth mode",
            case("[case.request]\npath = \"/a\"\nauth = \"admin\"\n"),
            13,
            8,
            "unknown variant `admin`",
        ),
        (
            "two body kinds",
            case("[case.request]\npath = \"/a\"\nbody = { text = \"x\", media = \"png\" }\n"),
            12,
            8,
            "exactly one of `json`, `text`, `media`, `zeros`",
        ),
        (
            "bad disposition type",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\ndisposition = { type = \"inlined\" }\n",
            ),
            12,
            8,
            "must be `inline` or `attachment`",
        ),
        (
            "bad image type",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\nimage = { types = [\"image/bmp\"] }\n",
            ),
            12,
            8,
            "image type `image/bmp`",
        ),
        (
            "bad aspect",
            case("[case.request]\npath = \"/a\"\n[case.expect]\nimage = { aspect = \"wide\" }\n"),
            12,
            8,
            "must look like `4:3`",
        ),
        (
            "bad regex",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\nheaders = { X = { matches = \"(\" } }\n",
            ),
            12,
            8,
            "invalid regex",
        ),
        (
            "a status both allowed and not exercised",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\nstatus = [200, 400]\nnot-exercised-on = [400]\n",
            ),
            12,
            8,
            "status 400 is both allowed (`status`) and `not-exercised-on`",
        ),
        (
            "bad status class",
            case("[case.request]\npath = \"/a\"\n[case.expect]\nstatus-class = \"4XX\"\n"),
            12,
            8,
            "status-class `4XX`",
        ),
        (
            "status of the wrong type",
            case("[case.request]\npath = \"/a\"\n[case.expect]\nstatus = \"ok\"\n"),
            14,
            10,
            "expected a value or a list of values",
        ),
        (
            "explicit Authorization with user auth",
            case("[case.request]\npath = \"/a\"\nheaders = { Authorization = \"Bearer x\" }\n"),
            12,
            8,
            "needs `auth = \"none\"`",
        ),
        (
            "capture in a background step",
            case(
                "[[case.step]]\nbackground = true\nrequest = { path = \"/a\" }\ncapture.x = { json = \"/a\" }\n",
            ),
            13,
            20,
            "cannot `capture`",
        ),
        (
            "capture used before it exists",
            case(
                "[[case.step]]\nrequest = { path = \"/a/{id}\" }\n[[case.step]]\nrequest = { path = \"/b\" }\ncapture.id = { json = \"/x\" }\n",
            ),
            12,
            20,
            "unknown variable `{id}`",
        ),
        (
            "missing fixture",
            format!("{}[media.gif]\nfixture = \"nope.gif\"\n", HEADER),
            5,
            1,
            "fixture `nope.gif` not found",
        ),
        (
            "duplicate id",
            format!(
                "{}\n{}",
                case("[case.request]\npath = \"/a\"\n"),
                "[[case]]\nid = \"X-01\"\ntitle = \"t\"\nlevel = \"MUST\"\nspec = \"s\"\nsince = \"v1.11\"\n[case.request]\npath = \"/a\"\n"
            ),
            15,
            6,
            "duplicate case id `X-01` (first defined at t.toml:6)",
        ),
        (
            "federation case without a request",
            case("api = \"federation\"\n"),
            6,
            6,
            "has no request",
        ),
        (
            "bad image type inside multipart",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\nmultipart = { image = { types = [\"image/bmp\"] } }\n",
            ),
            12,
            8,
            "image type `image/bmp`",
        ),
        (
            "bad multipart rule",
            case(
                "[case.request]\npath = \"/a\"\n[case.expect]\nmultipart = { rules = [\"framin\"] }\n",
            ),
            12,
            8,
            "multipart rule `framin` is not one of framing",
        ),
        (
            "key rotation outside a serial case",
            case(
                "[[case.step]]\npeer = \"rotate-key\"\nrequest = { path = \"/a\", auth = \"x-matrix\" }\n",
            ),
            13,
            20,
            "mark the case `serial = true`",
        ),
        (
            "xmatrix without x-matrix auth",
            case("[case.request]\npath = \"/a\"\nxmatrix = { key = \"old\" }\n"),
            12,
            8,
            "`xmatrix` needs `auth = \"x-matrix\"`",
        ),
        (
            "unknown X-Matrix variant",
            case(
                "[case.request]\npath = \"/a\"\nauth = \"x-matrix\"\nxmatrix = { variant = \"fancy\" }\n",
            ),
            12,
            8,
            "unknown X-Matrix variant `fancy` (known: canonical",
        ),
        (
            "invalid TOML",
            "profile = \"t\"\n[[case]\n".to_string(),
            2,
            8,
            "unclosed array table",
        ),
    ]
}

#[test]
fn every_mistake_is_located_and_explained() {
    for (what, text, line, column, fragment) in table() {
        let errs = errors(&text);
        assert!(
            errs.iter()
                .any(|(l, c, m)| *l == line && *c == column && m.contains(fragment)),
            "{what}: expected {line}:{column} containing {fragment:?}, got {errs:#?}"
        );
    }
}

#[test]
fn rendered_error_points_at_the_source() {
    let text = case("[case.request]\npath = \"/a\"\n[case.expect]\nstauts = 200\n");
    let files = [SourceFile {
        name: "suites/x.toml".into(),
        text,
        dir: None,
    }];
    let err = build_suite(&files, &|_, _| Some(vec![])).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("  --> suites/x.toml:14:1"), "{shown}");
    assert!(shown.contains("14 | stauts = 200"), "{shown}");
    assert!(shown.contains("   | ^^^^^^"), "{shown}");
}

#[test]
fn embedded_suites_load_and_cover_every_file() {
    let suite = load_suite(&[]).expect("embedded suites are valid");
    assert!(suite.cases.len() >= 200, "{} cases", suite.cases.len());
    let on_disk: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/suites"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    for name in on_disk {
        assert!(
            embedded::SUITES.iter().any(|(n, _)| *n == name),
            "suites/{name} is not embedded in src/suite/embedded.rs"
        );
    }
    let fixtures: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md") && !n.ends_with(".py"))
        .collect();
    for name in fixtures {
        assert!(
            embedded::fixture(&name).is_some(),
            "fixtures/{name} is not embedded"
        );
    }
    // Every case id is a checklist id, possibly with a suffix; the opt-in probes of the
    // checklist's §5.3 (unstable prefixes, MSC1902), which have no numbered ids, are named
    // after their MSC.
    let id = regex::Regex::new(r"^[A-K]-\d{2}(\.[a-z0-9-]+)*$").unwrap();
    let probe = regex::Regex::new(r"^MSC\d{4}(\.[a-z0-9-]+)+$").unwrap();
    for c in &suite.cases {
        let ok = if c.opt_in {
            probe.is_match(&c.id)
        } else {
            id.is_match(&c.id)
        };
        assert!(ok, "case id {} is not a checklist id", c.id);
    }
}

#[test]
fn extra_suite_directories_are_loaded_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.toml"),
        "profile = \"mine\"\n[[case]]\nid = \"X-99\"\ntitle = \"t\"\nlevel = \"INFO\"\nspec = \"s\"\nsince = \"v1.1\"\n[case.request]\npath = \"/_matrix/client/versions\"\nauth = \"none\"\n",
    )
    .unwrap();
    let suite = load_suite(&[dir.path().to_path_buf()]).unwrap();
    assert!(
        suite
            .cases
            .iter()
            .any(|c| c.id == "X-99" && c.profile == "mine")
    );
    let empty = tempfile::tempdir().unwrap();
    let err = load_suite(&[empty.path().to_path_buf()]).unwrap_err();
    assert!(err.to_string().contains("no *.toml suite files"), "{err}");
}
