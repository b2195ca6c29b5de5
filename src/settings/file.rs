//! The config file (`mediaconf.toml`): what a CI job would otherwise pass to `mediaconf run` as
//! flags. Each key is a `run` flag's name without the dashes; secrets are never values, only
//! the names of the environment variables that hold them (`registration-token-env = "VAR"`).
//!
//! [`parse_config`] is pure (text in, typed values or a located error out); [`load_config`] and
//! [`find_config`] read files. Whether a flag overrides a value is decided in `resolve`.

use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::error::{ConfigError, ConfigErrorKind};
use crate::spec_version::SpecVersion;

/// The file `run` and `list` read from the current directory when there is no `--config`.
pub const FILE_NAME: &str = "mediaconf.toml";

/// Every key a config file may hold, in the order the example lists them.
pub const KEYS: &[&str] = &[
    "target",
    "server-name",
    "federation-url",
    "insecure",
    "spec",
    "profile",
    "suite",
    "case",
    "skip",
    "quick",
    "strict",
    "baseline",
    "strict-baseline",
    "allow-skipped",
    "junit",
    "json",
    "markdown",
    "html",
    "jobs",
    "timeout",
    "deadline",
    "max-body-mib",
    "registration-token-env",
    "registration-shared-secret-env",
    "user-token-env",
    "signing-key",
    "peer-listen",
    "peer-server-name",
    "peer-ca-out",
    "peer-cdn-listen",
    "preview-listen",
];

/// Keys that would hold a secret's value, each with the key that names its variable instead.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("registration-token", "registration-token-env"),
    (
        "registration-shared-secret",
        "registration-shared-secret-env",
    ),
    ("user-token", "user-token-env"),
];

/// The limits and the ranges their flags accept.
const LIMITS: &[(&str, u64, u64)] = &[
    ("jobs", 1, 64),
    ("timeout", 1, 3600),
    ("deadline", 1, 86400),
    ("max-body-mib", 1, 4096),
];

/// Which account secret a `*-env` key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    RegistrationToken,
    RegistrationSharedSecret,
    UserToken,
}

impl SecretKind {
    /// The config key that names this secret's variable.
    pub fn key(self) -> &'static str {
        match self {
            SecretKind::RegistrationToken => "registration-token-env",
            SecretKind::RegistrationSharedSecret => "registration-shared-secret-env",
            SecretKind::UserToken => "user-token-env",
        }
    }
}

/// A `*-env` key: which secret, the variable that holds it, and where the file says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEnv {
    pub kind: SecretKind,
    pub variable: String,
    /// `file:line:column` of the value.
    pub at: String,
}

/// A parsed config file. Relative paths in it are already joined to the file's directory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigFile {
    /// The file as given or found.
    pub path: PathBuf,
    pub target: Option<String>,
    pub server_name: Option<String>,
    pub federation_url: Option<String>,
    pub insecure: Option<bool>,
    pub spec: Option<SpecVersion>,
    pub profile: Vec<String>,
    pub suite: Vec<PathBuf>,
    pub case: Vec<String>,
    pub skip: Vec<String>,
    pub quick: Option<bool>,
    pub strict: Option<bool>,
    pub baseline: Option<PathBuf>,
    pub strict_baseline: Option<bool>,
    pub allow_skipped: Vec<String>,
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub jobs: Option<u16>,
    pub timeout: Option<u64>,
    pub deadline: Option<u64>,
    pub max_body_mib: Option<u64>,
    /// At most one of the three `*-env` keys.
    pub secret: Option<SecretEnv>,
    pub signing_key: Option<PathBuf>,
    pub peer_listen: Option<SocketAddr>,
    pub peer_server_name: Option<String>,
    pub peer_ca_out: Option<PathBuf>,
    pub peer_cdn_listen: Option<SocketAddr>,
    pub preview_listen: Option<SocketAddr>,
}

/// The file as serde sees it; spans are kept where a value is checked after parsing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct RawConfig {
    target: Option<Spanned<String>>,
    server_name: Option<String>,
    federation_url: Option<Spanned<String>>,
    insecure: Option<bool>,
    spec: Option<Spanned<String>>,
    #[serde(default)]
    profile: Vec<String>,
    #[serde(default)]
    suite: Vec<PathBuf>,
    #[serde(default)]
    case: Vec<String>,
    #[serde(default)]
    skip: Vec<String>,
    quick: Option<bool>,
    strict: Option<bool>,
    baseline: Option<PathBuf>,
    strict_baseline: Option<bool>,
    #[serde(default)]
    allow_skipped: Vec<String>,
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
    html: Option<PathBuf>,
    jobs: Option<Spanned<u64>>,
    timeout: Option<Spanned<u64>>,
    deadline: Option<Spanned<u64>>,
    max_body_mib: Option<Spanned<u64>>,
    registration_token_env: Option<Spanned<String>>,
    registration_shared_secret_env: Option<Spanned<String>>,
    user_token_env: Option<Spanned<String>>,
    signing_key: Option<PathBuf>,
    peer_listen: Option<SocketAddr>,
    peer_server_name: Option<String>,
    peer_ca_out: Option<PathBuf>,
    peer_cdn_listen: Option<SocketAddr>,
    preview_listen: Option<SocketAddr>,
}

/// Parses a config file's text. `name` is how errors name the file; relative paths are joined
/// to `name`'s directory.
pub fn parse_config(name: &Path, text: &str) -> Result<ConfigFile, ConfigError> {
    let file = name.display().to_string();
    let at = |span: Range<usize>, kind| ConfigError::at(&file, text, span, kind);
    let table = toml::de::DeTable::parse(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        let error = at(e.span().unwrap_or(0..0), ConfigErrorKind::Syntax(message));
        // A broken line that sets a secret is reported as such, so it is never printed.
        match secret_key_of(&error.source_line) {
            Some((key, env_key)) => ConfigError {
                kind: ConfigErrorKind::SecretValue { key, env_key },
                ..error
            },
            None => error,
        }
    })?;
    check_keys(
        table
            .get_ref()
            .iter()
            .map(|(k, _)| (k.get_ref().as_ref(), k.span())),
    )
    .map_err(|(span, kind)| at(span, kind))?;
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let message = e.message().trim().replace('\n', " ");
        at(e.span().unwrap_or(0..0), ConfigErrorKind::Syntax(message))
    })?;
    let dir = name.parent().unwrap_or(Path::new(""));
    let locate = |span: Range<usize>| at(span, ConfigErrorKind::Syntax(String::new())).location();
    let mut config = build(raw, dir, &locate).map_err(|(span, kind)| at(span, kind))?;
    config.path = name.to_path_buf();
    Ok(config)
}

/// Reads and parses one config file.
pub fn load_config(path: &Path) -> Result<ConfigFile, ConfigError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ConfigErrorKind::NotFound
        } else {
            ConfigErrorKind::Read(e.to_string())
        };
        ConfigError::file(&name, kind)
    })?;
    parse_config(path, &text)
}

/// The config file of a command: `--config FILE` (which must exist), else `./mediaconf.toml`
/// when there is one, else none.
pub fn find_config(given: Option<&Path>) -> Result<Option<ConfigFile>, ConfigError> {
    match given {
        Some(path) => load_config(path).map(Some),
        None if Path::new(FILE_NAME).is_file() => load_config(Path::new(FILE_NAME)).map(Some),
        None => Ok(None),
    }
}

/// The first key (in file order) that is a secret value or unknown.
fn check_keys<'a>(
    keys: impl Iterator<Item = (&'a str, Range<usize>)>,
) -> Result<(), (Range<usize>, ConfigErrorKind)> {
    let mut keys: Vec<_> = keys.collect();
    keys.sort_by_key(|(_, span)| span.start);
    for (key, span) in keys {
        if KEYS.contains(&key) {
            continue;
        }
        if let Some((key, env_key)) = secret_key_of(key) {
            return Err((span, ConfigErrorKind::SecretValue { key, env_key }));
        }
        let kebab = key.to_ascii_lowercase().replace('_', "-");
        let suggestion = KEYS
            .iter()
            .copied()
            .find(|k| *k == kebab)
            .or_else(|| closest_key(&kebab));
        let kind = ConfigErrorKind::UnknownKey {
            key: key.to_string(),
            suggestion,
        };
        return Err((span, kind));
    }
    Ok(())
}

/// The secret key a line sets (`user-token = …`), with the key that names its variable.
fn secret_key_of(line: &str) -> Option<(String, &'static str)> {
    let key = line.split('=').next()?.trim().trim_matches(['"', '\'']);
    let kebab = key.to_ascii_lowercase().replace('_', "-");
    SECRET_KEYS
        .iter()
        .find(|(k, _)| *k == kebab)
        .map(|(_, env_key)| (key.to_string(), *env_key))
}

/// A known key at most two edits from `key`, for "did you mean".
fn closest_key(key: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

type Located<T> = Result<T, (Range<usize>, ConfigErrorKind)>;

/// Checks what serde cannot (URLs, versions, ranges, variable names) and joins relative paths.
/// `locate` turns a span into `file:line:column`.
fn build(
    raw: RawConfig,
    dir: &Path,
    locate: &dyn Fn(Range<usize>) -> String,
) -> Located<ConfigFile> {
    let invalid = |key, span: Range<usize>, message: String| {
        (span, ConfigErrorKind::Invalid { key, message })
    };
    let url = |key, value: Option<Spanned<String>>| -> Located<Option<String>> {
        value
            .map(|v| {
                check_http_url(v.get_ref())
                    .map(|()| v.get_ref().trim_end_matches('/').to_string())
                    .map_err(|m| invalid(key, v.span(), m))
            })
            .transpose()
    };
    let limit = |key: &'static str, value: Option<Spanned<u64>>| -> Located<Option<u64>> {
        let Some(v) = value else { return Ok(None) };
        let (_, low, high) =
            LIMITS
                .iter()
                .find(|(k, ..)| *k == key)
                .copied()
                .unwrap_or((key, 1, u64::MAX));
        if (low..=high).contains(v.get_ref()) {
            Ok(Some(*v.get_ref()))
        } else {
            Err(invalid(
                key,
                v.span(),
                format!("{} is not in {low}..={high}", v.get_ref()),
            ))
        }
    };
    let path = |p: PathBuf| if p.is_relative() { dir.join(p) } else { p };
    let spec = raw
        .spec
        .map(|s| {
            s.get_ref()
                .parse::<SpecVersion>()
                .map_err(|e| invalid("spec", s.span(), e.to_string()))
        })
        .transpose()?;
    let mut secret = None;
    for (kind, value) in [
        (SecretKind::RegistrationToken, raw.registration_token_env),
        (
            SecretKind::RegistrationSharedSecret,
            raw.registration_shared_secret_env,
        ),
        (SecretKind::UserToken, raw.user_token_env),
    ] {
        let Some(v) = value else { continue };
        if !is_variable_name(v.get_ref()) {
            let message = format!(
                "`{}` is not an environment variable name (letters, digits and `_`; the file names the variable, never holds the secret)",
                v.get_ref()
            );
            return Err(invalid(kind.key(), v.span(), message));
        }
        if let Some(SecretEnv { kind: first, .. }) = &secret {
            let message = format!(
                "give only one of registration-token-env, registration-shared-secret-env and user-token-env (`{}` is given too)",
                first.key()
            );
            return Err(invalid(kind.key(), v.span(), message));
        }
        secret = Some(SecretEnv {
            kind,
            variable: v.get_ref().clone(),
            at: locate(v.span()),
        });
    }
    Ok(ConfigFile {
        path: PathBuf::new(),
        target: url("target", raw.target)?,
        server_name: raw.server_name,
        federation_url: url("federation-url", raw.federation_url)?,
        insecure: raw.insecure,
        spec,
        profile: raw.profile,
        suite: raw.suite.into_iter().map(path).collect(),
        case: raw.case,
        skip: raw.skip,
        quick: raw.quick,
        strict: raw.strict,
        baseline: raw.baseline.map(path),
        strict_baseline: raw.strict_baseline,
        allow_skipped: raw.allow_skipped,
        junit: raw.junit.map(path),
        json: raw.json.map(path),
        markdown: raw.markdown.map(path),
        html: raw.html.map(path),
        jobs: limit("jobs", raw.jobs)?.map(|n| u16::try_from(n).unwrap_or(u16::MAX)),
        timeout: limit("timeout", raw.timeout)?,
        deadline: limit("deadline", raw.deadline)?,
        max_body_mib: limit("max-body-mib", raw.max_body_mib)?,
        secret,
        signing_key: raw.signing_key.map(path),
        peer_listen: raw.peer_listen,
        peer_server_name: raw.peer_server_name,
        peer_ca_out: raw.peer_ca_out.map(path),
        peer_cdn_listen: raw.peer_cdn_listen,
        preview_listen: raw.preview_listen,
    })
}

/// `[A-Za-z_][A-Za-z0-9_]*`.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `Err(why)` unless `value` is an http(s) URL.
pub fn check_http_url(value: &str) -> Result<(), String> {
    match url::Url::parse(value.trim_end_matches('/')) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(format!(
            "`{value}` is not an http(s) URL (e.g. http://127.0.0.1:8008)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
        parse_config(Path::new("ci/mediaconf.toml"), text)
    }

    fn error(text: &str) -> (ConfigErrorKind, usize, usize) {
        let e = parse(text).unwrap_err();
        (e.kind, e.line, e.column)
    }

    #[test]
    fn values_are_typed_and_paths_joined_to_the_file_directory() {
        let c = parse(
            "target = \"http://hs:8008/\"\nprofile = [\"client\"]\njobs = 4\njunit = \"out/r.xml\"\n\
             baseline = \"/etc/b.toml\"\npeer-listen = \"127.0.0.1:9\"\nspec = \"v1.12\"\n\
             registration-token-env = \"SYNAPSE_TOKEN\"\n",
        )
        .unwrap();
        assert_eq!(c.target.as_deref(), Some("http://hs:8008"));
        assert_eq!(c.profile, ["client"]);
        assert_eq!(c.jobs, Some(4));
        assert_eq!(c.junit, Some(PathBuf::from("ci/out/r.xml")));
        assert_eq!(c.baseline, Some(PathBuf::from("/etc/b.toml")));
        assert_eq!(c.peer_listen, Some("127.0.0.1:9".parse().unwrap()));
        assert_eq!(c.spec, Some(SpecVersion::new(1, 12)));
        let secret = c.secret.unwrap();
        assert_eq!(
            (secret.kind, secret.variable.as_str(), secret.at.as_str()),
            (
                SecretKind::RegistrationToken,
                "SYNAPSE_TOKEN",
                "ci/mediaconf.toml:8:26"
            )
        );
        assert_eq!(c.path, PathBuf::from("ci/mediaconf.toml"));
    }

    #[test]
    fn unknown_keys_are_located_with_a_suggestion() {
        let unknown = |key: &str, suggestion| ConfigErrorKind::UnknownKey {
            key: key.into(),
            suggestion,
        };
        assert_eq!(
            error("target = \"http://a\"\n\njbos = 3\n"),
            (unknown("jbos", Some("jobs")), 3, 1)
        );
        assert_eq!(
            error("max_body_mib = 3"),
            (unknown("max_body_mib", Some("max-body-mib")), 1, 1)
        );
        assert_eq!(error("colour = 1"), (unknown("colour", None), 1, 1));
        assert_eq!(error("[peer]\nlisten = 1"), (unknown("peer", None), 1, 2));
    }

    #[test]
    fn secret_values_are_refused() {
        for (text, key, env_key) in [
            (
                "registration-token = \"x\"",
                "registration-token",
                "registration-token-env",
            ),
            ("user_token = \"x\"", "user_token", "user-token-env"),
            (
                "registration-shared-secret = \"x\"",
                "registration-shared-secret",
                "registration-shared-secret-env",
            ),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(
                e.kind,
                ConfigErrorKind::SecretValue {
                    key: key.into(),
                    env_key
                }
            );
            assert!(
                e.to_string()
                    .contains(&format!("`{env_key} = \"VARIABLE\"`")),
                "{e}"
            );
        }
        let broken = parse("target = \"http://a\"\nuser-token = \"syt_x").unwrap_err();
        assert!(
            matches!(broken.kind, ConfigErrorKind::SecretValue { .. }),
            "{broken:?}"
        );
        assert!(!broken.to_string().contains("syt_x"), "{broken}");
    }

    #[test]
    fn values_are_checked_where_they_stand() {
        let invalid = |e: (ConfigErrorKind, usize, usize)| match e.0 {
            ConfigErrorKind::Invalid { key, .. } => (key, e.1, e.2),
            other => panic!("{other:?}"),
        };
        assert_eq!(invalid(error("jobs = 65")), ("jobs", 1, 8));
        assert_eq!(invalid(error("timeout = 0")), ("timeout", 1, 11));
        assert_eq!(invalid(error("target = \"ftp://x\"")), ("target", 1, 10));
        assert_eq!(invalid(error("spec = \"1.x\"")), ("spec", 1, 8));
        assert_eq!(
            invalid(error("user-token-env = \"syt_secretvalue-123\"")),
            ("user-token-env", 1, 18)
        );
        assert_eq!(
            invalid(error(
                "user-token-env = \"A\"\nregistration-token-env = \"B\""
            )),
            ("user-token-env", 1, 18)
        );
        let (kind, line, _) = error("jobs = \"4\"");
        assert!(matches!(kind, ConfigErrorKind::Syntax(m) if m.contains("expected")),);
        assert_eq!(line, 1);
        assert!(matches!(error("target = ").0, ConfigErrorKind::Syntax(_)));
    }

    #[test]
    fn the_limits_match_the_flags() {
        for (key, low, high) in LIMITS {
            let flag = format!("--{key}");
            let run = |n: u64| {
                crate::cli::Cli::try_parse_recorded_from([
                    "mediaconf",
                    "run",
                    flag.as_str(),
                    &n.to_string(),
                ])
                .is_ok()
            };
            assert!(
                run(*low) && run(*high) && !run(low - 1) && !run(high + 1),
                "{key}"
            );
            assert!(parse(&format!("{key} = {high}")).is_ok());
            assert!(parse(&format!("{key} = {}", high + 1)).is_err());
        }
    }
}
