//! Flags, the environment and the config file merged into the settings of one command.
//!
//! Precedence, for every setting: a flag on the command line, then its `MEDIACONF_*` variable
//! (both read by clap), then the config file, then the built-in default. A flag that clap set
//! to its default does not count as given (`RunArgs::given` says which were), so the file can
//! still set it. Account secrets come from flags or variables, or from the variable the file
//! names. This module loads what the settings point at (suites, baseline) but prints nothing:
//! warnings are returned.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::error::ConfigError;
use super::file::{ConfigFile, SecretKind, check_http_url};
use crate::baseline::{Baseline, load_baseline};
use crate::cli::{ListArgs, PeerArgs, RunArgs, SuiteArgs};
use crate::client::Registration;
use crate::plan::Selection;
use crate::redact::Redactor;
use crate::report::human::ColorChoice;
use crate::run::{AccountSource, FederationSettings, RunConfig};
use crate::spec_version::SpecVersion;
use crate::suite::{Suite, SuiteErrors, load_suite};

/// Where the reports of a run are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportPaths {
    pub junit: Option<PathBuf>,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
}

/// Everything `mediaconf run` needs: the run itself, and what happens around it.
pub struct RunSettings {
    pub config: RunConfig,
    pub suite: Suite,
    pub reports: ReportPaths,
    /// `--strict`: SHOULD/GAP warnings fail the run.
    pub strict: bool,
    /// `--strict-baseline`: an unexpected pass fails the run.
    pub strict_baseline: bool,
    /// `--allow-skipped` names, already checked.
    pub allow_skipped: Vec<String>,
    pub color: ColorChoice,
    pub quiet: bool,
    /// Problems that do not stop the run (stale baseline entries, patterns matching nothing).
    pub warnings: Vec<String>,
}

/// What `mediaconf list` needs.
pub struct ListSettings {
    pub suite: Suite,
    /// Empty: every profile.
    pub profiles: BTreeSet<String>,
    pub selection: Selection,
    pub warnings: Vec<String>,
}

/// Why the settings are unusable; each is a usage error (exit 2).
#[derive(Debug)]
pub enum ResolveError {
    Config(ConfigError),
    Suite(SuiteErrors),
    /// A flag or file value that does not work, with the fix.
    Usage(String),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::Config(e) => write!(f, "{e}"),
            ResolveError::Suite(e) => write!(
                f,
                "{e}\n\n{} suite error(s); see docs/suites.md for the format",
                e.0.len()
            ),
            ResolveError::Usage(message) => write!(f, "error: {message}"),
        }
    }
}

impl std::error::Error for ResolveError {}

/// The settings of `mediaconf list`.
pub fn resolve_list(
    args: &ListArgs,
    file: Option<&ConfigFile>,
) -> Result<ListSettings, ResolveError> {
    let part = resolve_suite(&args.suite, file)?;
    Ok(ListSettings {
        suite: part.suite,
        profiles: part.profiles,
        selection: part.selection,
        warnings: part.warnings,
    })
}

/// The settings of `mediaconf run`; `env` reads the variables the file names.
pub fn resolve_run(
    args: &RunArgs,
    file: Option<&ConfigFile>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<RunSettings, ResolveError> {
    let part = resolve_suite(&args.suite, file)?;
    let mut warnings = part.warnings;
    let default = ConfigFile::default();
    let f = file.unwrap_or(&default);
    let given = |id: &str| args.given.contains(id);
    let target = resolve_target(args.target.as_deref(), f)?;
    let spec_override = match &args.spec {
        Some(s) => Some(
            s.parse::<SpecVersion>()
                .map_err(|e| ResolveError::Usage(format!("--spec: {e}")))?,
        ),
        None => f.spec,
    };
    let baseline = match args.baseline.as_ref().or(f.baseline.as_ref()) {
        Some(path) => {
            load_baseline(path).map_err(|e| ResolveError::Usage(format!("baseline: {e}")))?
        }
        None => Baseline::default(),
    };
    let known_ids: BTreeSet<String> = part.suite.cases.iter().map(|c| c.id.clone()).collect();
    for id in baseline.unknown_ids(&known_ids) {
        warnings.push(format!(
            "baseline {} lists `{id}`, which is not a case id (stale or mistyped entry)",
            baseline.source
        ));
    }
    let allow_skipped = or_file(&args.allow_skipped, &f.allow_skipped);
    check_allow_skipped(&allow_skipped, &part.suite)?;
    let (account, secrets) = resolve_account(args, f, env)?;
    let peer = PeerArgs {
        signing_key: pick(given("signing_key"), &args.peer.signing_key, &f.signing_key),
        peer_listen: pick(given("peer_listen"), &args.peer.peer_listen, &f.peer_listen),
        peer_server_name: args
            .peer
            .peer_server_name
            .clone()
            .or_else(|| f.peer_server_name.clone()),
        peer_ca_out: pick(given("peer_ca_out"), &args.peer.peer_ca_out, &f.peer_ca_out),
        peer_cdn_listen: pick(
            given("peer_cdn_listen"),
            &args.peer.peer_cdn_listen,
            &f.peer_cdn_listen,
        ),
    };
    let federation_url = args
        .federation_url
        .clone()
        .or_else(|| f.federation_url.clone());
    let max_body_mib = pick(given("max_body_mib"), &args.max_body_mib, &f.max_body_mib);
    let config = RunConfig {
        target,
        server_name: args.server_name.clone().or_else(|| f.server_name.clone()),
        profiles: part.profiles,
        spec_override,
        account,
        jobs: usize::from(pick(given("jobs"), &args.jobs, &f.jobs)),
        timeout: Duration::from_secs(pick(given("timeout"), &args.timeout, &f.timeout)),
        deadline: Duration::from_secs(pick(given("deadline"), &args.deadline, &f.deadline)),
        max_body: usize::try_from(max_body_mib * 1024 * 1024).unwrap_or(usize::MAX),
        baseline,
        extra_suites: or_file(&args.suite.suites, &f.suite),
        secrets,
        federation: FederationSettings::from_args(&peer, federation_url),
        insecure: args.insecure || f.insecure == Some(true),
        target_ca_pem: None,
        preview_listen: pick(
            given("preview_listen"),
            &args.preview_listen,
            &f.preview_listen,
        ),
        quick: args.quick || f.quick == Some(true),
        selection: part.selection,
        redactor: Redactor::default(),
    };
    Ok(RunSettings {
        config,
        suite: part.suite,
        reports: ReportPaths {
            junit: args.junit.clone().or_else(|| f.junit.clone()),
            json: args.json.clone().or_else(|| f.json.clone()),
            markdown: args.markdown.clone().or_else(|| f.markdown.clone()),
            html: args.html.clone().or_else(|| f.html.clone()),
        },
        strict: args.strict || f.strict == Some(true),
        strict_baseline: args.strict_baseline || f.strict_baseline == Some(true),
        allow_skipped,
        color: args.color,
        quiet: args.quiet,
        warnings,
    })
}

/// The flag's value when it was given, else the file's, else the flag's default.
fn pick<T: Clone>(given: bool, flag: &T, file: &Option<T>) -> T {
    match file {
        Some(value) if !given => value.clone(),
        _ => flag.clone(),
    }
}

/// A list flag when given (non-empty), else the file's list.
fn or_file<T: Clone>(flag: &[T], file: &[T]) -> Vec<T> {
    if flag.is_empty() { file } else { flag }.to_vec()
}

/// `--target` / `MEDIACONF_TARGET`, else the file's `target`.
fn resolve_target(flag: Option<&str>, file: &ConfigFile) -> Result<String, ResolveError> {
    match (flag, &file.target) {
        (Some(t), _) => check_http_url(t)
            .map(|()| t.trim_end_matches('/').to_string())
            .map_err(|m| ResolveError::Usage(format!("--target {m}"))),
        (None, Some(t)) => Ok(t.clone()),
        (None, None) => Err(ResolveError::Usage(format!(
            "no target: pass --target URL, set MEDIACONF_TARGET, or set `target` in {} (`mediaconf init` writes one)",
            super::FILE_NAME
        ))),
    }
}

/// The main account and the secrets to redact: a flag or `MEDIACONF_*` variable wins over the
/// variable the file names; none of them means open registration.
fn resolve_account(
    args: &RunArgs,
    file: &ConfigFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(AccountSource, Vec<String>), ResolveError> {
    let given = [
        args.registration_token.is_some(),
        args.registration_shared_secret.is_some(),
        args.user_token.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(ResolveError::Usage(
            "give only one of --registration-token, --registration-shared-secret and --user-token"
                .to_string(),
        ));
    }
    let from_file = || -> Result<Option<(SecretKind, String)>, ResolveError> {
        let Some(secret) = &file.secret else {
            return Ok(None);
        };
        match env(&secret.variable).filter(|v| !v.is_empty()) {
            Some(value) => Ok(Some((secret.kind, value))),
            None => Err(ResolveError::Usage(format!(
                "{} names the environment variable {}, which is not set ({}: set it, or remove the key)",
                secret.kind.key(),
                secret.variable,
                secret.at
            ))),
        }
    };
    let chosen = if let Some(t) = &args.user_token {
        Some((SecretKind::UserToken, t.clone()))
    } else if let Some(t) = &args.registration_token {
        Some((SecretKind::RegistrationToken, t.clone()))
    } else if let Some(s) = &args.registration_shared_secret {
        Some((SecretKind::RegistrationSharedSecret, s.clone()))
    } else {
        from_file()?
    };
    Ok(match chosen {
        None => (AccountSource::Register(Registration::Open), Vec::new()),
        Some((kind, value)) => {
            let account = match kind {
                SecretKind::UserToken => AccountSource::ExistingToken(value.clone()),
                SecretKind::RegistrationToken => {
                    AccountSource::Register(Registration::Token(value.clone()))
                }
                SecretKind::RegistrationSharedSecret => {
                    AccountSource::Register(Registration::SharedSecret(value.clone()))
                }
            };
            (account, vec![value])
        }
    })
}

/// `--allow-skipped` takes profile names, need names and `all`.
fn check_allow_skipped(names: &[String], suite: &Suite) -> Result<(), ResolveError> {
    let mut allowed: BTreeSet<String> = suite.profiles();
    allowed.extend(
        crate::suite::model::Need::ALL
            .iter()
            .map(ToString::to_string),
    );
    allowed.insert("all".to_string());
    match names
        .iter()
        .map(|n| n.trim())
        .find(|n| !n.is_empty() && !allowed.contains(*n))
    {
        Some(bad) => {
            let known: Vec<&str> = allowed.iter().map(String::as_str).collect();
            Err(ResolveError::Usage(format!(
                "--allow-skipped: unknown name `{bad}` (known: {})",
                known.join(", ")
            )))
        }
        None => Ok(()),
    }
}

/// The suite (embedded plus extra directories), the profiles and the case selection, shared by
/// `run` and `list`.
struct SuitePart {
    suite: Suite,
    profiles: BTreeSet<String>,
    selection: Selection,
    warnings: Vec<String>,
}

fn resolve_suite(args: &SuiteArgs, file: Option<&ConfigFile>) -> Result<SuitePart, ResolveError> {
    let default = ConfigFile::default();
    let f = file.unwrap_or(&default);
    let suite = load_suite(&or_file(&args.suites, &f.suite)).map_err(ResolveError::Suite)?;
    let profiles: BTreeSet<String> = or_file(&args.profile, &f.profile)
        .iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect();
    let known = suite.profiles();
    let unknown: Vec<String> = profiles
        .iter()
        .filter(|p| !known.contains(*p))
        .map(|p| format!("`{p}`"))
        .collect();
    if !unknown.is_empty() {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(ResolveError::Usage(format!(
            "unknown profile {} (known: {})",
            unknown.join(", "),
            known.join(", ")
        )));
    }
    let selection = Selection {
        include: or_file(&args.cases, &f.case),
        exclude: or_file(&args.skips, &f.skip),
    };
    let ids: Vec<&str> = suite.cases.iter().map(|c| c.id.as_str()).collect();
    let warnings = selection
        .unmatched(&ids)
        .into_iter()
        .map(|p| format!("the pattern `{p}` matches no case id (see `mediaconf list`)"))
        .collect();
    Ok(SuitePart {
        suite,
        profiles,
        selection,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use std::path::Path;

    /// `mediaconf run FLAGS`, without reading `MEDIACONF_*` variables (a developer's shell
    /// may have them from `scripts/synapse.sh env`).
    fn run_args(flags: &[&str]) -> RunArgs {
        let command = <Cli as clap::CommandFactory>::command()
            .mut_subcommand("run", |run| run.mut_args(|arg| arg.env(None)));
        let argv = ["mediaconf", "run"].iter().chain(flags);
        let matches = command.try_get_matches_from(argv).unwrap();
        match Cli::from_recorded(&matches).unwrap().command {
            Command::Run(args) => *args,
            _ => unreachable!(),
        }
    }

    fn file(text: &str) -> ConfigFile {
        super::super::parse_config(Path::new("mediaconf.toml"), text).unwrap()
    }

    fn resolve(flags: &[&str], text: &str) -> Result<RunSettings, ResolveError> {
        let env = |name: &str| (name == "SYNAPSE_SECRET").then(|| "s3cret".to_string());
        resolve_run(&run_args(flags), Some(&file(text)), &env)
    }

    #[test]
    fn the_file_fills_what_the_flags_leave_at_their_defaults() {
        let s = resolve(
            &[],
            "target = \"http://hs:8008\"\njobs = 3\ntimeout = 5\npeer-listen = \"127.0.0.1:9\"\n\
             json = \"r.json\"\nstrict = true\nprofile = [\"client\"]\ncase = [\"C-01\"]",
        )
        .unwrap();
        assert_eq!(s.config.target, "http://hs:8008");
        assert_eq!(
            (s.config.jobs, s.config.timeout),
            (3, Duration::from_secs(5))
        );
        assert_eq!(s.config.deadline, Duration::from_secs(900), "the default");
        assert_eq!(s.config.federation.peer_listen.to_string(), "127.0.0.1:9");
        assert_eq!(s.reports.json, Some(PathBuf::from("r.json")));
        assert!(s.strict);
        assert_eq!(s.config.profiles, BTreeSet::from(["client".to_string()]));
        assert_eq!(s.config.selection.include, ["C-01"]);
    }

    /// `--jobs 8` is the default value, and still overrides the file because it was given.
    #[test]
    fn a_flag_overrides_the_file_even_at_its_default_value() {
        let s = resolve(
            &[
                "--jobs",
                "8",
                "--target",
                "http://other",
                "--json",
                "f.json",
            ],
            "target = \"http://hs:8008\"\njobs = 3\njson = \"r.json\"",
        )
        .unwrap();
        assert_eq!(s.config.jobs, 8);
        assert_eq!(s.config.target, "http://other");
        assert_eq!(s.reports.json, Some(PathBuf::from("f.json")));
    }

    /// Every flag with a clap default, given at that default, beats a file that sets it.
    #[test]
    fn every_defaulted_flag_counts_when_given() {
        let text = "target = \"http://hs\"\njobs = 2\ntimeout = 2\ndeadline = 2\nmax-body-mib = 2\n\
                    signing-key = \"f.key\"\npeer-listen = \"127.0.0.2:2\"\npeer-ca-out = \"f.pem\"\n\
                    peer-cdn-listen = \"127.0.0.2:3\"\npreview-listen = \"127.0.0.2:4\"";
        let from_file = resolve(&[], text).unwrap().config;
        let flags = [
            "--jobs",
            "8",
            "--timeout",
            "30",
            "--deadline",
            "900",
            "--max-body-mib",
            "64",
            "--signing-key",
            "mediaconf-signing.key",
            "--peer-listen",
            "127.0.0.1:8448",
            "--peer-ca-out",
            "mediaconf-peer-ca.pem",
            "--peer-cdn-listen",
            "127.0.0.1:0",
            "--preview-listen",
            "127.0.0.1:0",
        ];
        let from_flags = resolve(&flags, text).unwrap().config;
        let defaults = resolve_run(&run_args(&["--target", "http://hs"]), None, &|_| None)
            .unwrap()
            .config;
        for (config, jobs, peer) in [
            (&from_file, 2, "127.0.0.2:2"),
            (&from_flags, 8, "127.0.0.1:8448"),
        ] {
            assert_eq!(config.jobs, jobs);
            assert_eq!(config.federation.peer_listen.to_string(), peer);
        }
        let shape = |c: &RunConfig| {
            let f = &c.federation;
            format!(
                "{} {:?} {:?} {} {:?} {} {:?} {} {}",
                c.jobs,
                c.timeout,
                c.deadline,
                c.max_body,
                f.signing_key,
                f.peer_listen,
                f.ca_out,
                f.cdn_listen,
                c.preview_listen
            )
        };
        assert_eq!(shape(&from_flags), shape(&defaults));
        assert_eq!(
            shape(&from_file),
            "2 2s 2s 2097152 \"f.key\" 127.0.0.2:2 \"f.pem\" 127.0.0.2:3 127.0.0.2:4"
        );
    }

    #[test]
    fn secrets_come_from_the_variable_the_file_names() {
        let s = resolve(
            &[],
            "target = \"http://hs\"\nregistration-shared-secret-env = \"SYNAPSE_SECRET\"",
        )
        .unwrap();
        assert!(matches!(
            s.config.account,
            AccountSource::Register(Registration::SharedSecret(ref v)) if v == "s3cret"
        ));
        assert_eq!(s.config.secrets, ["s3cret"]);
        let flag = resolve(
            &["--user-token", "tok"],
            "target = \"http://hs\"\nregistration-shared-secret-env = \"SYNAPSE_SECRET\"",
        )
        .unwrap();
        assert!(matches!(flag.config.account, AccountSource::ExistingToken(ref t) if t == "tok"));
        let Err(ResolveError::Usage(unset)) =
            resolve(&[], "target = \"http://hs\"\nuser-token-env = \"NOT_SET\"")
        else {
            panic!("an unset variable is an error")
        };
        assert!(
            unset.contains("user-token-env names the environment variable NOT_SET, which is not set (mediaconf.toml:2:18"),
            "{unset}"
        );
    }

    #[test]
    fn a_target_is_required_from_somewhere() {
        let env = |_: &str| None;
        let Err(ResolveError::Usage(m)) = resolve_run(&run_args(&[]), None, &env) else {
            panic!("no target")
        };
        assert!(m.starts_with("no target: pass --target URL"), "{m}");
    }
}
