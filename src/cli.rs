//! Command-line flags (clap). Only shapes and simple validation live here; `app` turns them into
//! a run configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::report::human::ColorChoice;

/// Conformance tester for the media repository of Matrix homeservers.
#[derive(Debug, Parser)]
#[command(name = "mediaconf", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments (exiting on errors, as clap does), recording which `run`
    /// arguments were given rather than left at their defaults.
    pub fn parse_recorded() -> Self {
        let matches = <Self as clap::CommandFactory>::command().get_matches();
        Self::from_recorded(&matches).unwrap_or_else(|e| e.exit())
    }

    /// [`Cli::parse_recorded`] over the given arguments (the first is the program name).
    pub fn try_parse_recorded_from<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = <Self as clap::CommandFactory>::command().try_get_matches_from(args)?;
        Self::from_recorded(&matches)
    }

    /// The parsed command line from clap's matches, with [`RunArgs::given`] filled.
    pub(crate) fn from_recorded(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        use clap::parser::ValueSource;
        let mut cli = <Self as clap::FromArgMatches>::from_arg_matches(matches)?;
        if let (Command::Run(args), Some(("run", m))) = (&mut cli.command, matches.subcommand()) {
            args.given = m
                .ids()
                .filter(|id| {
                    matches!(
                        m.value_source(id.as_str()),
                        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
                    )
                })
                .map(|id| id.as_str().to_string())
                .collect();
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run suites against a homeserver. Settings come from the flags, then the environment, then
    /// the config file (`./mediaconf.toml` or `--config FILE`), then the defaults shown here.
    Run(Box<RunArgs>),
    /// List the cases (id, level, spec versions, reference, title).
    List(ListArgs),
    /// Create the ed25519 signing key file the tester signs federation requests with.
    Keygen(KeygenArgs),
    /// Compare two JSON reports (`run --json`): newly failing, newly passing, other outcome
    /// changes, cases added or removed. Exits 1 when something regressed.
    Diff(DiffArgs),
    /// Compare implementations side by side from their JSON reports (`run --json`): a column
    /// per implementation, a row per case, the disagreements first. Writes `--html` and
    /// `--markdown`; prints the Markdown when neither is given.
    Matrix(MatrixArgs),
    /// Check suite files without a target: every error with file:line:column; exit 2 on errors.
    Lint(LintArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to stdout, e.g. `mediaconf man > mediaconf.1`.
    Man,
    /// Send one signed federation request with our key (serving our key server meanwhile),
    /// print the exchange and dissect a multipart body: the reproduction of a federation case.
    Request(RequestArgs),
    /// Run the mock remote homeserver on its own, for testing federation by hand: prints an
    /// mxc:// URI per scenario to paste into a client, logs every request it receives.
    Peer(PeerServeArgs),
    /// Write a commented example config file (`mediaconf.toml`) holding what `run` would
    /// otherwise take as flags; secrets only by environment variable name.
    Init(InitArgs),
}

#[derive(Debug, Clone, Args)]
pub struct MatrixArgs {
    /// The JSON reports, one per implementation: `REPORT.json` or `LABEL=REPORT.json` (the
    /// column is named by the label, else by the implementation's name and version in the
    /// report).
    #[arg(required = true, num_args = 1.., value_name = "[LABEL=]REPORT")]
    pub reports: Vec<String>,
    /// Write the self-contained HTML page here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write the Markdown here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct InitArgs {
    /// Where to write the example.
    #[arg(long, default_value = crate::settings::FILE_NAME, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing file.
    #[arg(long)]
    pub force: bool,
}

/// The config file, shared by `run` and `list`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// Config file with run settings (default: ./mediaconf.toml when it exists). Each key is a
    /// `run` flag's name; flags and MEDIACONF_* variables override it; secrets only by variable
    /// name (`registration-token-env = "VAR"`). `mediaconf init` writes an example.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read no config file, not even ./mediaconf.toml.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
}

#[derive(Debug, Clone, Args)]
pub struct PeerServeArgs {
    /// Where the peer listens (HTTPS).
    #[arg(long, default_value = "127.0.0.1:8448", value_name = "ADDR")]
    pub listen: std::net::SocketAddr,
    /// The peer's server name as homeservers reach it (default: `localhost:PORT` for a
    /// loopback listen address, else the listen address).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    /// Where the plain-HTTP CDN for Location scenarios listens (default: a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub cdn_listen: std::net::SocketAddr,
    /// The host name in the CDN's Location URLs (default: the CDN's listen address), e.g.
    /// host.containers.internal for a homeserver in a container that reaches this host so.
    #[arg(long, value_name = "NAME")]
    pub cdn_host: Option<String>,
    /// Serve every file of this directory as inline media (`mxc://NAME/fixture_<file>`).
    #[arg(long, value_name = "DIR")]
    pub fixtures: Option<PathBuf>,
    /// Also append each request as one JSON object per line to this file.
    #[arg(long, value_name = "FILE")]
    pub log_json: Option<PathBuf>,
    /// The peer's signing key (created with mode 0600 if missing).
    #[arg(long, default_value = DEFAULT_SIGNING_KEY, value_name = "FILE")]
    pub signing_key: PathBuf,
    /// Where the CA certificate is written (homeservers must trust it, or not verify).
    #[arg(long, default_value = "mediaconf-peer-ca.pem", value_name = "FILE")]
    pub ca_out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RequestArgs {
    /// The target's federation API base URL, e.g. https://127.0.0.1:8448
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// The target's server name, signed as `destination` (default: the URL's host:port).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    #[command(flatten)]
    pub peer: PeerArgs,
    /// Timeout of the request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Accept any TLS certificate from the target (a test set-up with a self-signed one).
    #[arg(long)]
    pub insecure: bool,
    /// Spell the X-Matrix header this way (as the F-25, F-26 and F-30 cases do), e.g.
    /// `lowercase-scheme`, `unquoted-colon`, `missing-destination`.
    #[arg(long, value_name = "NAME")]
    pub auth_variant: Option<String>,
    /// HTTP method, e.g. GET.
    pub method: String,
    /// Path and query, e.g. /_matrix/federation/v1/media/download/MEDIAID
    pub path: String,
}

#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Directories of *.toml suites to check (together with the embedded suites they may use).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The earlier report (e.g. from main).
    pub old: PathBuf,
    /// The later report (e.g. from a branch).
    pub new: PathBuf,
    /// Print Markdown (for a CI step summary or a pull-request comment) instead of text.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Where to write the key (Synapse's format, mode 0600).
    #[arg(long, default_value = DEFAULT_SIGNING_KEY, value_name = "FILE")]
    pub out: PathBuf,
    /// Replace an existing key file.
    #[arg(long)]
    pub force: bool,
    /// Also create the key server's CA here (kept and reused by `run --peer-ca-out FILE`), so a
    /// target can be configured to trust it before the first run.
    #[arg(long, value_name = "FILE")]
    pub peer_ca_out: Option<PathBuf>,
}

/// The tester's own server (its signing key and HTTPS key server), shared by `run` and `request`.
#[derive(Debug, Clone, Args)]
pub struct PeerArgs {
    /// Signing key for federation requests (created with mode 0600 if missing).
    #[arg(long, default_value = DEFAULT_SIGNING_KEY, value_name = "FILE")]
    pub signing_key: PathBuf,
    /// Where the tester's key server listens (HTTPS).
    #[arg(long, default_value = "127.0.0.1:8448", value_name = "ADDR")]
    pub peer_listen: std::net::SocketAddr,
    /// The tester's server name as the target reaches it (default: `localhost:PORT` for a
    /// loopback listen address, else the listen address).
    #[arg(long, value_name = "NAME")]
    pub peer_server_name: Option<String>,
    /// Where the key server's CA certificate is written (give it to the target to trust); it is
    /// kept and reused across runs.
    #[arg(long, default_value = "mediaconf-peer-ca.pem", value_name = "FILE")]
    pub peer_ca_out: PathBuf,
    /// Where the mock peer's plain-HTTP CDN listens (the target follows `Location` parts there;
    /// port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub peer_cdn_listen: std::net::SocketAddr,
}

/// Default signing key file, in the working directory.
pub const DEFAULT_SIGNING_KEY: &str = "mediaconf-signing.key";

/// Suite selection shared by `run` and `list`.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// Extra directory of *.toml suites (repeatable); the embedded suites are always loaded.
    #[arg(long = "suite", value_name = "DIR")]
    pub suites: Vec<PathBuf>,
    /// Profiles to run, comma-separated (default: all): client, guest, legacy, federation, …
    #[arg(long, value_delimiter = ',', value_name = "P,...")]
    pub profile: Vec<String>,
    /// Only cases whose id matches this glob (`*` any text, `?` one character), e.g. `F-2*` or
    /// `C-19.*`; repeatable or comma-separated. Other cases are reported as skipped by selection.
    #[arg(long = "case", value_name = "PATTERN", value_delimiter = ',')]
    pub cases: Vec<String>,
    /// Leave out cases whose id matches this glob; repeatable or comma-separated.
    #[arg(long = "skip", value_name = "PATTERN", value_delimiter = ',')]
    pub skips: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Client-server API base URL of the homeserver, e.g. http://127.0.0.1:8008 (required here,
    /// in MEDIACONF_TARGET or as `target` in the config file, unless --image is given).
    #[arg(long, env = "MEDIACONF_TARGET", value_name = "URL")]
    pub target: Option<String>,
    /// Test a homeserver's Complement image instead of --target: mediaconf starts a container
    /// of it (Podman or Docker) with its CA mounted as /complement/ca and SERVER_NAME
    /// localhost:PORT (see --image-network), registers with the shared secret `complement`
    /// (or open registration), runs, keeps the container's log beside the reports and removes
    /// the container.
    /// Repeat it to compare implementations: each image is run in turn, its reports get the
    /// image's name as a suffix, and `matrix.html` and `matrix.md` are written beside the JSON
    /// report.
    #[arg(long, value_name = "IMAGE", conflicts_with = "target")]
    pub image: Vec<String>,
    /// A variable for the --image container, NAME=VALUE (repeatable).
    #[arg(long, value_name = "NAME=VALUE", requires = "image")]
    pub image_env: Vec<String>,
    /// The container runtime for --image: podman or docker (default: the one whose local images
    /// have the image when both are installed, else podman when installed, else docker when its
    /// engine answers).
    #[arg(long, value_name = "RUNTIME", requires = "image")]
    pub container_runtime: Option<String>,
    /// How the --image container is networked. `published`: its ports 8008 and 8448 on free
    /// loopback ports of this host, and this host's loopback reached from inside as
    /// host.containers.internal (Podman with slirp4netns). `host`: the host's network, the
    /// container on 8008 and 8448 themselves (Docker on Linux; Podman without slirp4netns).
    /// `auto` (default): `published` where it works, else `host`.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = ["auto", "published", "host"], requires = "image")]
    pub image_network: String,
    /// How long the --image server may take to answer /_matrix/client/versions, in seconds.
    #[arg(long, default_value_t = 180, value_name = "SECS", requires = "image")]
    pub image_startup: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Ids of the arguments given on the command line or in the environment (filled by
    /// [`Cli::parse_recorded`]): the others are at their defaults and the config file fills them.
    #[arg(skip)]
    pub given: std::collections::BTreeSet<String>,
    /// The homeserver's server name (default: taken from the registered user's id).
    #[arg(long, value_name = "NAME")]
    pub server_name: Option<String>,
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Judge the target as an implementation of this spec version instead of what it advertises.
    #[arg(long, value_name = "vX.Y")]
    pub spec: Option<String>,
    /// Write a JUnit XML report.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write a JSON report.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a Markdown summary (e.g. to $GITHUB_STEP_SUMMARY).
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a self-contained HTML report (summary, conformance matrix, every exchange).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Known failures (TOML `[[expected]]` or plain `ID  reason` lines).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Exit 1 when a baseline entry unexpectedly passes.
    #[arg(long)]
    pub strict_baseline: bool,
    /// SHOULD and GAP failures (warnings) fail the run too: exit 1 (MUST-only is the default).
    #[arg(long)]
    pub strict: bool,
    /// Cases run in parallel (8 measured fastest against Synapse on 2 cores: bench/run.sh).
    #[arg(long, default_value_t = 8, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,
    /// Timeout of each request, in seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
    /// Deadline of the whole run, in seconds.
    #[arg(long, default_value_t = 900, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub deadline: u64,
    /// Largest response body read, in MiB (longer bodies are cut and reported as such).
    #[arg(long, default_value_t = 64, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub max_body_mib: u64,
    /// Register with this registration token (m.login.registration_token). A value may begin
    /// with `-` (random secrets often do).
    #[arg(
        long,
        env = "MEDIACONF_REGISTRATION_TOKEN",
        hide_env_values = true,
        value_name = "T",
        allow_hyphen_values = true
    )]
    pub registration_token: Option<String>,
    /// Register through Synapse's shared-secret admin API.
    #[arg(
        long,
        env = "MEDIACONF_REGISTRATION_SHARED_SECRET",
        hide_env_values = true,
        value_name = "S",
        allow_hyphen_values = true
    )]
    pub registration_shared_secret: Option<String>,
    /// Use this existing account's access token instead of registering.
    #[arg(
        long,
        env = "MEDIACONF_USER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        allow_hyphen_values = true
    )]
    pub user_token: Option<String>,
    #[command(flatten)]
    pub peer: PeerArgs,
    /// Base URL of the target's federation API (default: found by server discovery from the
    /// target's server name: .well-known/matrix/server, SRV _matrix-fed._tcp, port 8448).
    #[arg(long, value_name = "URL")]
    pub federation_url: Option<String>,
    /// Accept any TLS certificate from the target, client and federation API (a test set-up
    /// with a self-signed certificate). Without it, certificates are verified as a real
    /// homeserver would: valid for the server name, from a trusted CA.
    #[arg(long)]
    pub insecure: bool,
    /// Where the page for URL-preview cases is served (plain HTTP; name it in the target's
    /// preview allow-list). Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub preview_listen: std::net::SocketAddr,
    /// Accept that these did not run (profiles or needs, comma-separated: e.g. federation,
    /// guest, previews, other-user, logged-out, or all). Without it, a run in which requested
    /// cases were skipped or blocked by a set-up problem exits 2.
    #[arg(long, value_delimiter = ',', value_name = "P,...")]
    pub allow_skipped: Vec<String>,
    /// Color: auto (a terminal and no NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Skip cases that wait on purpose (`slow` in the suite, e.g. C-22's 60 s timeout cap); they
    /// stay in every report as skipped with the reason.
    #[arg(long)]
    pub quick: bool,
    /// Print only failures, warnings and the summary.
    #[arg(long, short)]
    pub quiet: bool,
}
