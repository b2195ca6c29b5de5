//! Parsing suite files (TOML) and validating them into a `Suite`.
//!
//! `parse_suite_text` and `build_suite` are pure; only `load_suite` reads `--suite` directories.
//! Every problem is reported with its file:line:column, and all problems are collected before
//! giving up so a suite author sees them in one go.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::case::{Case, MediaDef, Suite};
use super::embedded;
use super::error::{SuiteError, SuiteErrors};
use super::model::{
    BodySpec, CaseSpec, ExpectSpec, Need, PeerExpect, RULE_GROUPS, RequestSpec, StepSpec,
    SuiteFile, XMatrixSpec, parse_aspect,
};
use crate::spec_version::SpecVersion;
use crate::template;

/// Template variables every run provides.
pub const BUILTIN_VARIABLES: &[&str] = &[
    "server_name",
    "preview_url",
    "preview_url_absolute",
    "preview_image_url",
    "now_ms",
    "unique",
    "user_id",
    "mock_server_name",
    "peer_media_id",
];

/// Parts of a media variable: `{media.NAME.id}` etc.
pub const MEDIA_FIELDS: &[&str] = &["id", "server", "mxc"];

/// Known image media types for `image.types`.
pub const IMAGE_TYPES: &[&str] = &[
    "image/png",
    "image/apng",
    "image/jpeg",
    "image/gif",
    "image/webp",
];

/// A suite file's name and text, plus the directory its relative fixtures live in.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    pub dir: Option<PathBuf>,
}

/// Parses one file's TOML into the raw model.
pub fn parse_suite_text(name: &str, text: &str) -> Result<SuiteFile, SuiteError> {
    toml::from_str::<SuiteFile>(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        SuiteError::at(name, text, e.span(), message)
    })
}

/// Loads the embedded suites, then every `*.toml` in each `--suite` directory (sorted by name).
pub fn load_suite(extra_dirs: &[PathBuf]) -> Result<Suite, SuiteErrors> {
    let mut files: Vec<SourceFile> = embedded::SUITES
        .iter()
        .map(|(name, text)| SourceFile {
            name: format!("suites/{name}"),
            text: text.to_string(),
            dir: None,
        })
        .collect();
    let mut errors = Vec::new();
    for dir in extra_dirs {
        match read_dir_sorted(dir) {
            Ok(paths) => {
                if paths.is_empty() {
                    errors.push(SuiteError::at(
                        &dir.display().to_string(),
                        "",
                        None,
                        "no *.toml suite files in this directory (check the --suite path)",
                    ));
                }
                for path in paths {
                    match std::fs::read_to_string(&path) {
                        Ok(text) => files.push(SourceFile {
                            name: path.display().to_string(),
                            text,
                            dir: Some(dir.clone()),
                        }),
                        Err(e) => errors.push(SuiteError::at(
                            &path.display().to_string(),
                            "",
                            None,
                            format!("cannot read: {e}"),
                        )),
                    }
                }
            }
            Err(e) => errors.push(SuiteError::at(
                &dir.display().to_string(),
                "",
                None,
                format!("cannot read suite directory: {e}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(SuiteErrors(errors));
    }
    build_suite(&files, &|name, dir| {
        embedded::fixture(name)
            .map(<[u8]>::to_vec)
            .or_else(|| dir.and_then(|d| std::fs::read(d.join(name)).ok()))
    })
}

fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    Ok(paths)
}

/// Reads a fixture by file name, given the directory of the suite file that names it.
pub type FixtureReader<'a> = &'a dyn Fn(&str, Option<&Path>) -> Option<Vec<u8>>;

/// Parses and validates all files together (media and ids are global across files).
pub fn build_suite(
    files: &[SourceFile],
    read_fixture: FixtureReader<'_>,
) -> Result<Suite, SuiteErrors> {
    let mut errors = Vec::new();
    let mut parsed = Vec::new();
    for file in files {
        match parse_suite_text(&file.name, &file.text) {
            Ok(s) => parsed.push((file, s)),
            Err(e) => errors.push(e),
        }
    }

    // Media first: cases in any file may use media defined in any file.
    let mut media: BTreeMap<String, MediaDef> = BTreeMap::new();
    for (file, suite) in &parsed {
        for (name, spec) in &suite.media {
            let err = |msg: String| SuiteError::at(&file.name, &file.text, Some(spec.span()), msg);
            let location = location_of(&file.name, &file.text, spec.span().start);
            if !valid_name(name) {
                errors.push(err(format!(
                    "media name `{name}` may only use letters, digits, `-` and `_`"
                )));
                continue;
            }
            let spec_value = spec.get_ref().clone();
            if let Some(existing) = media.get(name) {
                if existing.spec != spec_value {
                    errors.push(err(format!(
                        "media `{name}` is already defined differently at {}",
                        existing.location
                    )));
                }
                continue;
            }
            let bytes = match &spec_value.fixture {
                Some(fixture) => match read_fixture(fixture, file.dir.as_deref()) {
                    Some(b) => b,
                    None => {
                        let mut known: Vec<&str> =
                            embedded::FIXTURES.iter().map(|(n, _)| *n).collect();
                        known.push(super::generated::NOISE_PNG);
                        errors.push(err(format!(
                            "fixture `{fixture}` not found (embedded fixtures: {}; other files are read relative to the suite directory)",
                            known.join(", ")
                        )));
                        continue;
                    }
                },
                None if spec_value.pending => Vec::new(),
                None => {
                    errors.push(err(format!(
                        "media `{name}` needs a `fixture` (or `pending = true`)"
                    )));
                    continue;
                }
            };
            media.insert(
                name.clone(),
                MediaDef::new(name.clone(), spec_value, bytes, location),
            );
        }
    }

    let mut cases = Vec::new();
    let mut seen_ids: BTreeMap<String, String> = BTreeMap::new();
    for (file, suite) in &parsed {
        let mut lines = LineCounter::default();
        for spec in &suite.cases {
            let mut ctx = CaseValidation {
                file,
                lines: &mut lines,
                builtins_used: BTreeSet::new(),
                errors: &mut errors,
                media: &media,
            };
            if let Some(case) = ctx.validate_case(spec, &suite.profile, suite.opt_in) {
                if let Some(previous) = seen_ids.get(&case.id) {
                    ctx.error(
                        Some(spec.id.span()),
                        format!(
                            "duplicate case id `{}` (first defined at {previous})",
                            case.id
                        ),
                    );
                    continue;
                }
                seen_ids.insert(case.id.clone(), case.location.clone());
                cases.push(std::sync::Arc::new(case));
            }
        }
    }
    if errors.is_empty() {
        Ok(Suite { cases, media })
    } else {
        Err(SuiteErrors(errors))
    }
}

fn location_of(file: &str, text: &str, offset: usize) -> String {
    format!("{file}:{}", LineCounter::default().line_at(text, offset))
}

/// Line numbers of byte offsets in one text, counted forward from the previous offset asked
/// for: a file's cases are validated in order, so the file is scanned once, not once per case
/// (4,000 cases took a second to load when each counted from the start).
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    /// The 1-based line of `offset` in `text` (always the same text for one counter).
    fn line_at(&mut self, text: &str, offset: usize) -> usize {
        let offset = offset.min(text.len());
        if offset < self.offset {
            *self = LineCounter::default();
        }
        self.newlines += text.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.newlines + 1
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

struct CaseValidation<'a> {
    file: &'a SourceFile,
    lines: &'a mut LineCounter,
    builtins_used: BTreeSet<String>,
    errors: &'a mut Vec<SuiteError>,
    media: &'a BTreeMap<String, MediaDef>,
}

impl CaseValidation<'_> {
    fn error(&mut self, span: Option<std::ops::Range<usize>>, message: String) {
        self.errors.push(SuiteError::at(
            &self.file.name,
            &self.file.text,
            span,
            message,
        ));
    }

    fn version(&mut self, v: &Spanned<String>) -> Option<SpecVersion> {
        match v.get_ref().parse() {
            Ok(v) => Some(v),
            Err(e) => {
                self.error(Some(v.span()), format!("{e}"));
                None
            }
        }
    }

    fn validate_case(&mut self, spec: &CaseSpec, file_profile: &str, opt_in: bool) -> Option<Case> {
        let before = self.errors.len();
        let id = spec.id.get_ref().clone();
        self.validate_id(spec, &id);
        self.validate_cause_by_answer(spec, &id);
        let since = self.version(&spec.since);
        let until = spec.until.as_ref().and_then(|u| self.version(u));
        let slow = self.slow_of(spec);
        if let (Some(s), Some(u)) = (since, until)
            && u < s
        {
            let span = spec.until.as_ref().map(|u| u.span());
            self.error(
                span,
                format!("`until = \"{u}\"` is before `since = \"{s}\"`"),
            );
        }
        let steps = self.steps_of(spec, &id);
        let mut needs: BTreeSet<Need> = spec.needs.iter().copied().collect();
        let mut media_used = BTreeSet::new();
        let mut captured: BTreeSet<String> = BTreeSet::new();
        for step in &steps {
            self.validate_step(spec, step, &mut needs, &mut captured, &mut media_used);
        }
        self.needs_of_media(&media_used, &mut needs);
        self.validate_scenario(spec, &mut needs);
        self.validate_spec_url(spec);
        if self.errors.len() > before {
            return None;
        }
        let since = since?;
        Some(Case {
            id,
            title: spec.title.clone(),
            level: spec.level,
            spec_ref: spec.spec.clone(),
            spec_url: spec_url_of(spec, since, &steps),
            since,
            until,
            profile: spec
                .profile
                .clone()
                .unwrap_or_else(|| file_profile.to_string()),
            opt_in,
            api: spec.api,
            peer_scenario: spec.peer_scenario.clone(),
            needs,
            media: media_used,
            serial: spec.serial,
            manual: spec.manual.clone(),
            cause: spec.cause.clone(),
            cause_by_answer: spec
                .cause_by_answer
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            slow,
            steps,
            location: format!(
                "{}:{}",
                self.file.name,
                self.lines.line_at(&self.file.text, spec.id.span().start)
            ),
        })
    }

    fn validate_id(&mut self, spec: &CaseSpec, id: &str) {
        let id_ok = !id.is_empty()
            && id.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if !id_ok {
            self.error(
                Some(spec.id.span()),
                format!("case id `{id}` must look like `C-04` or `B-01.thumbnail`"),
            );
        }
    }

    /// Each `cause-by-answer` entry names a check (`status 2`, `errcode M_…`) and a cause.
    fn validate_cause_by_answer(&mut self, spec: &CaseSpec, id: &str) {
        for (answer, cause) in &spec.cause_by_answer {
            if answer.trim().is_empty() || cause.trim().is_empty() {
                self.error(
                    Some(spec.id.span()),
                    format!(
                        "case `{id}`: a `cause-by-answer` entry needs the start of an answer \
                         (e.g. \"status 200\") and a cause, got \"{answer}\" = \"{cause}\""
                    ),
                );
            }
        }
    }

    fn slow_of(&mut self, spec: &CaseSpec) -> Option<std::time::Duration> {
        let s = spec.slow.as_ref()?;
        let parsed = parse_wait(s.get_ref());
        if parsed.is_none() {
            self.error(
                Some(s.span()),
                format!(
                    "`slow = \"{}\"` is not a duration (write e.g. \"60s\", \"2s\" or \"500ms\")",
                    s.get_ref()
                ),
            );
        }
        parsed
    }

    /// The case's steps: `[[case.step]]`, or the one step of `[case.request]` and
    /// `[case.expect]`; a case with neither needs a scenario or `manual`.
    fn steps_of(&mut self, spec: &CaseSpec, id: &str) -> Vec<StepSpec> {
        let mut steps: Vec<StepSpec> = spec.steps.clone();
        match (&spec.request, spec.steps.is_empty()) {
            (Some(_), false) => self.error(
                Some(spec.id.span()),
                format!("case `{id}` has both `[case.request]` and `[[case.step]]` (use one form)"),
            ),
            (Some(request), true) => steps.push(StepSpec {
                name: None,
                peer: None,
                request: request.clone(),
                expect: spec.expect.clone().unwrap_or_default(),
                capture: BTreeMap::new(),
                delay_ms: 0,
                background: false,
                setup: false,
            }),
            (None, true) => {
                if spec.expect.is_some() {
                    self.error(
                        Some(spec.id.span()),
                        format!("case `{id}` has `[case.expect]` but no `[case.request]`"),
                    );
                }
                let seam = spec.manual.is_some() || spec.peer_scenario.is_some();
                if !seam {
                    self.error(
                        Some(spec.id.span()),
                        format!("case `{id}` has no request (add `[case.request]`, `[[case.step]]`, or `manual = \"why\"`)"),
                    );
                }
            }
            (None, false) => {
                if spec.expect.is_some() {
                    self.error(
                        Some(spec.id.span()),
                        format!("case `{id}`: put `expect` inside each `[[case.step]]`"),
                    );
                }
            }
        }
        steps
    }

    /// One step: what it needs, its X-Matrix options, request, expectations and captures.
    fn validate_step(
        &mut self,
        spec: &CaseSpec,
        step: &StepSpec,
        needs: &mut BTreeSet<Need>,
        captured: &mut BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let span = step.request.path.span();
        if let Some(n) = step.request.auth.need() {
            needs.insert(n);
        }
        if step.request.api.unwrap_or(spec.api) == super::model::Api::Federation {
            needs.insert(Need::FederationApi);
        }
        if let Some(x) = &step.request.xmatrix {
            self.validate_xmatrix(step, x, captured, media_used);
        }
        if step.peer.is_some() {
            needs.insert(Need::Federation);
        }
        if step.peer.is_some() && !spec.serial {
            self.error(
                Some(span.clone()),
                "a step with a `peer` action changes shared state: mark the case `serial = true`"
                    .to_string(),
            );
        }
        self.validate_request(&step.request, captured, media_used);
        self.validate_expect(&step.request, &step.expect, captured, media_used);
        if let Some(p) = &step.expect.peer {
            self.validate_expect_peer(spec, span.clone(), p, captured, media_used);
            // Judging the target's signatures needs its key, served by its federation API.
            if p.signed {
                needs.insert(Need::FederationApi);
            }
        }
        if step.background && !step.capture.is_empty() {
            self.error(
                Some(span.clone()),
                "a `background = true` step cannot `capture` (later steps do not wait for it)"
                    .to_string(),
            );
        }
        if step
            .request
            .headers
            .keys()
            .any(|k| k.eq_ignore_ascii_case("authorization"))
            && step.request.auth != super::model::AuthMode::None
        {
            self.error(
                Some(span),
                "an explicit `Authorization` header needs `auth = \"none\"` (otherwise two are sent)".to_string(),
            );
        }
        self.validate_captures(step, captured);
    }

    fn validate_xmatrix(
        &mut self,
        step: &StepSpec,
        x: &XMatrixSpec,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let span = step.request.path.span();
        if step.request.auth != super::model::AuthMode::XMatrix {
            self.error(
                Some(span.clone()),
                "`xmatrix` needs `auth = \"x-matrix\"`".to_string(),
            );
        }
        if let Some(v) = &x.variant
            && crate::run::signer::variant_by_name(v).is_none()
        {
            let names: Vec<&str> = crate::federation::xmatrix::HeaderVariant::ALL
                .iter()
                .map(|v| v.name())
                .collect();
            self.error(
                Some(span.clone()),
                format!(
                    "unknown X-Matrix variant `{v}` (known: {})",
                    names.join(", ")
                ),
            );
        }
        for t in [&x.destination, &x.sign_uri].into_iter().flatten() {
            self.check_template(span.clone(), t, captured, media_used);
        }
    }

    fn validate_expect_peer(
        &mut self,
        spec: &CaseSpec,
        span: std::ops::Range<usize>,
        p: &PeerExpect,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        if spec.peer_scenario.is_none() {
            self.error(
                Some(span.clone()),
                "`expect.peer` judges what the mock peer received for the case's peer media: add `peer-scenario = \"…\"` to the case".to_string(),
            );
        }
        let first = p.first.iter().flat_map(|f| f.0.iter());
        let patterns = first
            .chain(&p.requested)
            .chain(&p.not_requested)
            .chain(p.query.keys());
        for t in patterns {
            self.check_template(span.clone(), t, captured, media_used);
        }
    }

    /// Capture names and regexes; a foreground step's captures are usable by later steps.
    fn validate_captures(&mut self, step: &StepSpec, captured: &mut BTreeSet<String>) {
        for (name, cap) in &step.capture {
            if !valid_name(name) {
                self.error(
                    Some(step.request.path.span()),
                    format!("capture name `{name}` may only use letters, digits, `-` and `_`"),
                );
            }
            if let Some(re) = &cap.regex
                && let Err(e) = crate::pattern::compile(re)
            {
                self.error(
                    Some(step.request.path.span()),
                    format!("capture `{name}`: invalid regex: {e}"),
                );
            }
            if !step.background {
                captured.insert(name.clone());
            }
        }
    }

    /// Media owned by the second user need that account; any media needs the user.
    fn needs_of_media(&self, media_used: &BTreeSet<String>, needs: &mut BTreeSet<Need>) {
        for m in media_used {
            if let Some(def) = self.media.get(m)
                && def.spec.owner == super::model::Account::OtherUser
            {
                needs.insert(Need::OtherUser);
            }
        }
        if !media_used.is_empty() {
            needs.insert(Need::User);
        }
    }

    /// The peer scenario exists; `{peer_media_id}` needs one; the preview variables need the
    /// preview page.
    fn validate_scenario(&mut self, spec: &CaseSpec, needs: &mut BTreeSet<Need>) {
        if let Some(name) = &spec.peer_scenario {
            needs.insert(Need::MockPeer);
            if crate::peer::scenario::Scenario::from_name(name).is_none() {
                let known: Vec<&str> = crate::peer::scenario::Scenario::ALL
                    .iter()
                    .map(|s| s.name())
                    .collect();
                self.error(
                    Some(spec.id.span()),
                    format!(
                        "unknown peer-scenario `{name}` (known: {})",
                        known.join(", ")
                    ),
                );
            }
        } else if self.builtins_used.contains("peer_media_id") {
            self.error(
                Some(spec.id.span()),
                "`{peer_media_id}` is the media of a mock-peer scenario: add `peer-scenario = \"…\"` to the case".to_string(),
            );
        }
        if self.builtins_used.contains("preview_url")
            || self.builtins_used.contains("preview_url_absolute")
            || self.builtins_used.contains("preview_image_url")
        {
            needs.insert(Need::PreviewPage);
        }
    }

    fn validate_spec_url(&mut self, spec: &CaseSpec) {
        if let Some(u) = &spec.spec_url
            && !u.get_ref().starts_with("https://")
        {
            self.error(
                Some(u.span()),
                format!(
                    "`spec-url = \"{}\"` is not an https:// URL (e.g. https://spec.matrix.org/v1.11/client-server-api/#content-repository)",
                    u.get_ref()
                ),
            );
        }
    }

    fn check_template(
        &mut self,
        span: std::ops::Range<usize>,
        text: &str,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let vars = match template::variables(text) {
            Ok(v) => v,
            Err(e) => {
                self.error(Some(span), format!("in `{text}`: {e}"));
                return;
            }
        };
        for var in vars {
            if BUILTIN_VARIABLES.contains(&var.as_str()) {
                self.builtins_used.insert(var);
                continue;
            }
            if captured.contains(&var) {
                continue;
            }
            if let Some(rest) = var.strip_prefix("media.") {
                let (name, field) = rest.rsplit_once('.').unwrap_or((rest, ""));
                if !MEDIA_FIELDS.contains(&field) {
                    self.error(
                        Some(span.clone()),
                        format!(
                            "`{{{var}}}`: media variables end in one of {}",
                            MEDIA_FIELDS.join(", ")
                        ),
                    );
                } else if !self.media.contains_key(name) {
                    let known: Vec<&str> = self.media.keys().map(String::as_str).collect();
                    self.error(
                        Some(span.clone()),
                        format!(
                            "`{{{var}}}`: no media named `{name}` (defined: {})",
                            known.join(", ")
                        ),
                    );
                } else {
                    media_used.insert(name.to_string());
                }
                continue;
            }
            let mut known: Vec<String> = BUILTIN_VARIABLES.iter().map(|s| s.to_string()).collect();
            known.extend(captured.iter().cloned());
            known.push("media.NAME.{id,server,mxc}".to_string());
            self.error(
                Some(span.clone()),
                format!("unknown variable `{{{var}}}` (known: {})", known.join(", ")),
            );
        }
    }

    fn validate_request(
        &mut self,
        req: &RequestSpec,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let span = req.path.span();
        if !req.path.get_ref().starts_with('/') {
            self.error(
                Some(span.clone()),
                "request path must start with `/`".to_string(),
            );
        }
        if req.method.is_empty() || !req.method.chars().all(|c| c.is_ascii_uppercase()) {
            self.error(
                Some(span.clone()),
                format!(
                    "method `{}` must be an upper-case HTTP method such as GET",
                    req.method
                ),
            );
        }
        self.check_template(span.clone(), req.path.get_ref(), captured, media_used);
        for (k, v) in &req.query {
            self.check_template(span.clone(), k, captured, media_used);
            self.check_template(span.clone(), &v.0, captured, media_used);
        }
        for (k, v) in &req.headers {
            if k.is_empty()
                || !k
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
            {
                self.error(
                    Some(span.clone()),
                    format!("header name `{k}` is not a valid HTTP token"),
                );
            }
            self.check_template(span.clone(), v, captured, media_used);
        }
        if let Some(body) = &req.body {
            self.validate_body(span, body, captured, media_used);
        }
    }

    fn validate_body(
        &mut self,
        span: std::ops::Range<usize>,
        body: &BodySpec,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let set = [
            body.json.is_some(),
            body.text.is_some(),
            body.media.is_some(),
            body.zeros.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if set != 1 {
            self.error(
                Some(span.clone()),
                "request body needs exactly one of `json`, `text`, `media`, `zeros`".to_string(),
            );
        }
        if let Some(t) = &body.text {
            self.check_template(span.clone(), t, captured, media_used);
        }
        if let Some(json) = &body.json {
            let mut strings = Vec::new();
            collect_strings(json, &mut strings);
            for s in strings {
                self.check_template(span.clone(), &s, captured, media_used);
            }
        }
        if let Some(z) = &body.zeros {
            self.check_template(span.clone(), &z.0, captured, media_used);
        }
        if let Some(m) = &body.media {
            self.media_ref(span, m);
        }
    }

    /// Checks a reference to media whose fixture bytes (not an upload) are needed.
    fn media_ref(&mut self, span: std::ops::Range<usize>, name: &str) {
        if !self.media.contains_key(name) {
            let known: Vec<&str> = self.media.keys().map(String::as_str).collect();
            self.error(
                Some(span),
                format!("no media named `{name}` (defined: {})", known.join(", ")),
            );
        }
    }

    fn validate_image(&mut self, span: std::ops::Range<usize>, image: &super::model::ImageExpect) {
        for t in &image.types {
            if !IMAGE_TYPES.contains(&t.as_str()) {
                self.error(
                    Some(span.clone()),
                    format!("image type `{t}` is not one of {}", IMAGE_TYPES.join(", ")),
                );
            }
        }
        if let Some(a) = &image.aspect
            && parse_aspect(a).is_none()
        {
            self.error(
                Some(span.clone()),
                format!("aspect `{a}` must look like `4:3`"),
            );
        }
        if let Some(m) = &image.same_size_as {
            self.media_ref(span.clone(), m);
            if let Some(def) = self.media.get(m)
                && crate::imageinfo::decode_info(&def.bytes).is_err()
            {
                self.error(
                    Some(span.clone()),
                    format!("`same-size-as = \"{m}\"`: that media's fixture is not an image"),
                );
            }
        }
    }

    fn validate_disposition(
        &mut self,
        span: std::ops::Range<usize>,
        d: &super::model::DispositionExpect,
    ) {
        let Some(types) = &d.r#type else { return };
        for t in &types.0 {
            if t != "inline" && t != "attachment" {
                self.error(
                    Some(span.clone()),
                    format!("disposition type `{t}` must be `inline` or `attachment`"),
                );
            }
        }
    }

    fn validate_expect(
        &mut self,
        req: &RequestSpec,
        expect: &ExpectSpec,
        captured: &BTreeSet<String>,
        media_used: &mut BTreeSet<String>,
    ) {
        let span = req.path.span();
        let allowed = expect.status.iter().flat_map(|s| s.0.iter());
        if let Some(code) = allowed
            .into_iter()
            .find(|c| expect.not_exercised_on.contains(c))
        {
            self.error(
                Some(span.clone()),
                format!(
                    "status {code} is both allowed (`status`) and `not-exercised-on`: choose one"
                ),
            );
        }
        if let Some(classes) = &expect.status_class {
            for c in &classes.0 {
                let ok =
                    c.len() == 3 && c.ends_with("xx") && matches!(c.as_bytes()[0], b'1'..=b'5');
                if !ok {
                    self.error(
                        Some(span.clone()),
                        format!("status-class `{c}` must be one of 1xx, 2xx, 3xx, 4xx, 5xx"),
                    );
                }
            }
        }
        for h in expect.headers.values() {
            for t in [&h.equals, &h.contains, &h.not_contains, &h.matches]
                .into_iter()
                .flatten()
            {
                self.check_template(span.clone(), t, captured, media_used);
            }
        }
        if let Some(json) = &expect.json {
            for f in json.fields.values() {
                for t in [&f.matches, &f.not_matches, &f.not_equals]
                    .into_iter()
                    .flatten()
                {
                    self.check_template(span.clone(), t, captured, media_used);
                }
                if let Some(g) = &f.greater_than {
                    self.check_template(span.clone(), &g.0, captured, media_used);
                }
            }
        }
        if let Some(m) = &expect.body_equals {
            self.media_ref(span.clone(), m);
        }
        if let Some(image) = &expect.image {
            self.validate_image(span.clone(), image);
        }
        if let Some(m) = &expect.multipart {
            for r in &m.rules {
                if !RULE_GROUPS.contains(&r.as_str()) {
                    let groups = RULE_GROUPS.join(", ");
                    self.error(
                        Some(span.clone()),
                        format!("multipart rule `{r}` is not one of {groups}"),
                    );
                }
            }
            if let Some(c) = &m.content
                && c != "bytes"
                && c != "location"
            {
                self.error(
                    Some(span.clone()),
                    format!("multipart content `{c}` must be `bytes` or `location`"),
                );
            }
            if let Some(b) = &m.body_equals {
                self.media_ref(span.clone(), b);
            }
            if let Some(image) = &m.image {
                self.validate_image(span.clone(), image);
            }
            if let Some(d) = &m.disposition {
                self.validate_disposition(span.clone(), d);
            }
        }
        if let Some(k) = &expect.key_document {
            self.check_template(span.clone(), k, captured, media_used);
        }
        if let Some(d) = &expect.disposition {
            self.validate_disposition(span.clone(), d);
        }
        for (name, h) in &expect.headers {
            if let Some(re) = &h.matches
                && let Err(e) = crate::pattern::compile(re)
            {
                self.error(
                    Some(span.clone()),
                    format!("header `{name}`: invalid regex: {e}"),
                );
            }
            if h.present && h.absent {
                self.error(
                    Some(span.clone()),
                    format!("header `{name}` cannot be both `present` and `absent`"),
                );
            }
        }
        if let Some(json) = &expect.json {
            for (pointer, f) in &json.fields {
                if !pointer.starts_with('/') {
                    self.error(
                        Some(span.clone()),
                        format!("JSON field `{pointer}` must be a JSON pointer starting with `/`"),
                    );
                }
                if f.present && f.absent {
                    self.error(
                        Some(span.clone()),
                        format!("JSON field `{pointer}` cannot be both `present` and `absent`"),
                    );
                }
            }
        }
    }
}

/// `"4:3"` → 4/3.
/// `"60s"`, `"2s"`, `"500ms"` → a duration; anything else is `None`.
pub fn parse_wait(text: &str) -> Option<std::time::Duration> {
    let text = text.trim();
    if let Some(ms) = text.strip_suffix("ms") {
        return ms
            .trim()
            .parse::<u64>()
            .ok()
            .map(std::time::Duration::from_millis);
    }
    let secs = text.strip_suffix('s')?.trim().parse::<u64>().ok()?;
    Some(std::time::Duration::from_secs(secs))
}

fn collect_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            collect_strings(x, out)
        }),
        _ => {}
    }
}

/// `spec-url`, else the URL derived from the case's quote, version and requests.
fn spec_url_of(spec: &CaseSpec, since: SpecVersion, steps: &[StepSpec]) -> String {
    if let Some(u) = &spec.spec_url {
        return u.get_ref().clone();
    }
    let requests: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.request.method.as_str(), s.request.path.get_ref().as_str()))
        .collect();
    super::spec_url::derive_spec_url(&super::spec_url::SpecUrlInput {
        spec_ref: &spec.spec,
        since,
        api: spec.api,
        requests: &requests,
    })
}

#[cfg(test)]
mod tests {
    use super::LineCounter;

    #[test]
    fn line_counter_counts_forward_and_starts_over_when_asked_for_an_earlier_offset() {
        let text = "a\nbb\n\nccc\n";
        let mut lines = LineCounter::default();
        let asked = [0, 2, 3, 5, 6, 9, 10, 99, 1, 6];
        let got: Vec<usize> = asked.iter().map(|&o| lines.line_at(text, o)).collect();
        // Each the same as counting from the start.
        let expected: Vec<usize> = asked
            .iter()
            .map(|&o| {
                text.as_bytes()[..o.min(text.len())]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1
            })
            .collect();
        assert_eq!(got, expected);
        assert_eq!(got, [1, 2, 2, 3, 4, 4, 5, 5, 1, 4]);
    }
}
