//! A `run --image IMAGE`: what the run's settings become (the container's URLs and server name,
//! the CA, the shared secret `complement`), the container started and waited for, and its log
//! kept beside the reports. The run itself is the usual one (`app/run.rs`).

use std::path::PathBuf;
use std::time::Duration;

use super::image::{self, Addresses, Container, ImageError, ImageSpec};
use crate::cli::RunArgs;

/// A started container and what the run needs from it.
#[derive(Debug)]
pub struct ImageSession {
    pub container: Container,
    /// The CA the container signs its certificate with (PEM), trusted for the target.
    pub ca_pem: String,
    /// Where the container's log goes.
    pub log_path: PathBuf,
    _scratch: tempfile::TempDir,
}

/// Starts the container of `image` and fills `args` for it: `--target`, `--server-name`,
/// `--federation-url`, our key server's port and name (see [`fill_peer`]), and the shared
/// secret `complement` when no account is given.
pub fn start(args: &mut RunArgs, image: &str) -> Result<ImageSession, ImageError> {
    let setup = |e: String| ImageError::Setup(e);
    let scratch = tempfile::Builder::new()
        .prefix("mediaconf-image-")
        .tempdir()
        .map_err(|e| setup(format!("cannot create a scratch directory: {e}")))?;
    let runtime = super::runtime::detect(args.container_runtime.as_deref(), image, scratch.path())
        .map_err(setup)?;
    let network = runtime.network(&args.image_network).map_err(setup)?;
    let env = image::parse_env(&args.image_env).map_err(setup)?;
    let (ca, _) = crate::peer::server::load_or_create_ca(&args.peer.peer_ca_out)
        .map_err(|e| setup(e.to_string()))?;
    let spec = ImageSpec {
        image: image.to_owned(),
        env,
        startup: Duration::from_secs(args.image_startup),
    };
    let container = image::start(&runtime, network, &spec, &ca)?;
    let addresses = &container.addresses;
    eprintln!(
        "image      started {image} with {} (SERVER_NAME={}, {}, CA {})",
        runtime.program,
        addresses.server_name(),
        match &addresses.host_alias {
            Some(alias) => format!(
                "client API on {}, reaching this host as {alias}",
                addresses.client_url()
            ),
            None => "on the host's network".to_owned(),
        },
        args.peer.peer_ca_out.display()
    );
    fill_args(args, addresses).map_err(setup)?;
    Ok(ImageSession {
        container,
        ca_pem: ca.cert_pem,
        log_path: log_path(args),
        _scratch: scratch,
    })
}

fn fill_args(args: &mut RunArgs, addresses: &Addresses) -> Result<(), String> {
    for name in ["target", "server_name", "federation_url"] {
        args.given.insert(name.to_owned());
    }
    args.target = Some(addresses.client_url());
    args.server_name = Some(addresses.server_name());
    args.federation_url = Some(addresses.federation_url());
    fill_peer(args, addresses.host_alias.as_deref())?;
    let has_account = args.registration_shared_secret.is_some()
        || args.registration_token.is_some()
        || args.user_token.is_some();
    if !has_account {
        args.registration_shared_secret = Some("complement".to_owned());
        args.given.insert("registration_shared_secret".to_owned());
    }
    Ok(())
}

/// Our key server: a free port when left at the default 8448 (on the host's network the
/// container takes it), and, when the container reaches this host under `host_alias`, the
/// server name `ALIAS:PORT` (its certificate is issued for that name) unless one was given.
fn fill_peer(args: &mut RunArgs, host_alias: Option<&str>) -> Result<(), String> {
    let listen = &mut args.peer.peer_listen;
    if listen.port() == 8448 {
        listen.set_port(0);
        args.given.insert("peer_listen".to_owned());
    }
    let Some(alias) = host_alias else {
        return Ok(());
    };
    if args.peer.peer_server_name.is_some() {
        return Ok(());
    }
    *listen = crate::run::config::with_free_port(*listen)
        .map_err(|e| format!("no free port for the key server on {listen}: {e}"))?;
    args.peer.peer_server_name = Some(format!("{alias}:{}", listen.port()));
    args.given.insert("peer_server_name".to_owned());
    Ok(())
}

/// An image name as a file-name part: `localhost/mediaconf-synapse:1.163.2` →
/// `mediaconf-synapse-1.163.2`.
pub fn slug(image: &str) -> String {
    let name = image.rsplit('/').next().unwrap_or(image);
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `dir/report.json` → `dir/report-SLUG.json`.
pub fn suffixed(path: &std::path::Path, slug: &str) -> PathBuf {
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let name = match path.extension() {
        Some(ext) => format!("{stem}-{slug}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{slug}"),
    };
    path.with_file_name(name)
}

/// Beside the first report asked for, else in the working directory; named after the JSON
/// report when that was suffixed for one of several images.
fn log_path(args: &RunArgs) -> PathBuf {
    let report = [&args.json, &args.junit, &args.html, &args.markdown]
        .into_iter()
        .flatten()
        .next();
    let dir = report
        .and_then(|p| p.parent())
        .filter(|d| !d.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_default();
    let suffix = match (&args.json, args.image.len()) {
        (Some(json), n) if n > 1 => json
            .file_stem()
            .map(|s| format!("-{}", s.to_string_lossy()))
            .unwrap_or_default(),
        _ => String::new(),
    };
    dir.join(format!("mediaconf-container{suffix}.log"))
}

impl ImageSession {
    /// Waits for the server; on failure, the error has the container's last log lines.
    pub async fn wait_ready(&self) -> Result<(), ImageError> {
        self.container.wait_ready().await
    }

    /// Keeps the log and removes the container.
    pub fn finish(mut self) {
        match self.container.save_log(&self.log_path) {
            Ok(path) => eprintln!("image      container log: {}", path.display()),
            Err(e) => eprintln!("warning: {e}"),
        }
        self.container.remove();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};

    fn run_args(flags: &[&str]) -> RunArgs {
        let command = <Cli as clap::CommandFactory>::command()
            .mut_subcommand("run", |run| run.mut_args(|arg| arg.env(None)));
        let argv = ["mediaconf", "run", "--image", "x"].iter().chain(flags);
        let matches = command.try_get_matches_from(argv).unwrap();
        match Cli::from_recorded(&matches).unwrap().command {
            Command::Run(args) => *args,
            _ => unreachable!(),
        }
    }

    fn published() -> Addresses {
        Addresses {
            client_port: 41000,
            federation_port: 41001,
            host_alias: Some("host.containers.internal".into()),
        }
    }

    #[test]
    fn a_published_container_knows_our_key_server_under_the_alias_and_a_free_port() {
        let mut args = run_args(&[]);
        fill_args(&mut args, &published()).unwrap();
        assert_eq!(args.target.as_deref(), Some("http://127.0.0.1:41000"));
        assert_eq!(args.server_name.as_deref(), Some("localhost:41001"));
        assert_eq!(
            args.federation_url.as_deref(),
            Some("https://localhost:41001")
        );
        let port = args.peer.peer_listen.port();
        assert_ne!(port, 0);
        assert_ne!(port, 8448);
        assert_eq!(
            args.peer.peer_server_name,
            Some(format!("host.containers.internal:{port}"))
        );
        assert_eq!(
            args.registration_shared_secret.as_deref(),
            Some("complement")
        );

        let mut given = run_args(&[
            "--peer-listen",
            "127.0.0.1:9555",
            "--peer-server-name",
            "mine:9555",
            "--registration-shared-secret",
            "s",
        ]);
        fill_args(&mut given, &published()).unwrap();
        assert_eq!(given.peer.peer_listen.port(), 9555);
        assert_eq!(given.peer.peer_server_name.as_deref(), Some("mine:9555"));
        assert_eq!(given.registration_shared_secret.as_deref(), Some("s"));
    }

    #[test]
    fn on_the_host_network_our_key_server_leaves_8448_to_the_container() {
        let mut args = run_args(&[]);
        let host = Addresses {
            client_port: 8008,
            federation_port: 8448,
            host_alias: None,
        };
        fill_args(&mut args, &host).unwrap();
        assert_eq!(args.peer.peer_listen.port(), 0);
        assert_eq!(args.peer.peer_server_name, None);
        assert_eq!(args.server_name.as_deref(), Some("localhost:8448"));
    }

    #[test]
    fn image_names_become_file_name_parts() {
        assert_eq!(
            slug("localhost/mediaconf-synapse:1.163.2"),
            "mediaconf-synapse-1.163.2"
        );
        assert_eq!(slug("complement-conduit"), "complement-conduit");
        assert_eq!(
            suffixed(std::path::Path::new("r/report.json"), "a-1"),
            std::path::Path::new("r/report-a-1.json")
        );
        assert_eq!(
            suffixed(std::path::Path::new("report"), "b"),
            std::path::Path::new("report-b")
        );
    }
}
