//! A `run --image IMAGE`: what the run's settings become (the container's URLs and server name,
//! the CA, the shared secret `complement`), the container started and waited for, and its log
//! kept beside the reports. The run itself is the usual one (`app::run_target`).

use std::path::PathBuf;
use std::time::Duration;

use super::image::{self, Container, ImageError, ImageSpec};
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
/// `--federation-url`, a free `--peer-listen` port when left at its default (the container
/// takes 8448), and the shared secret `complement` when no account is given.
pub fn start(args: &mut RunArgs, image: &str) -> Result<ImageSession, ImageError> {
    let setup = |e: String| ImageError::Setup(e);
    let scratch = tempfile::Builder::new()
        .prefix("mediaconf-image-")
        .tempdir()
        .map_err(|e| setup(format!("cannot create a scratch directory: {e}")))?;
    let runtime =
        super::runtime::detect(args.container_runtime.as_deref(), scratch.path()).map_err(setup)?;
    let env = image::parse_env(&args.image_env).map_err(setup)?;
    let (ca, _) = crate::peer::server::load_or_create_ca(&args.peer.peer_ca_out)
        .map_err(|e| setup(e.to_string()))?;
    eprintln!(
        "image      starting {image} with {} (SERVER_NAME={}, CA {})",
        runtime.program,
        image::SERVER_NAME,
        args.peer.peer_ca_out.display()
    );
    let spec = ImageSpec {
        image: image.to_owned(),
        env,
        startup: Duration::from_secs(args.image_startup),
    };
    let container = image::start(&runtime, &spec, &ca)?;
    fill_args(args);
    Ok(ImageSession {
        container,
        ca_pem: ca.cert_pem,
        log_path: log_path(args),
        _scratch: scratch,
    })
}

fn fill_args(args: &mut RunArgs) {
    let mut set = |name: &str| {
        args.given.insert(name.to_owned());
    };
    set("target");
    set("server_name");
    set("federation_url");
    args.target = Some(image::CLIENT_URL.to_owned());
    args.server_name = Some(image::SERVER_NAME.to_owned());
    args.federation_url = Some(image::FEDERATION_URL.to_owned());
    if args.peer.peer_listen.port() == 8448 {
        args.peer.peer_listen.set_port(0);
        args.given.insert("peer_listen".to_owned());
    }
    let has_account = args.registration_shared_secret.is_some()
        || args.registration_token.is_some()
        || args.user_token.is_some();
    if !has_account {
        args.registration_shared_secret = Some("complement".to_owned());
        args.given.insert("registration_shared_secret".to_owned());
    }
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
