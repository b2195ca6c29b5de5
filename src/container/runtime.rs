//! Which container runtime runs `--image`, and how it is called. Everything Podman needs on this
//! kind of machine is here, in one place (the shell scripts use scripts/container-env.sh, which
//! says the same): `--runtime runc` where runc is installed (crun refuses a kernel with hybrid
//! cgroups), `--cgroup-manager cgroupfs`, and a `containers.conf` with `default_ulimits = []`
//! (raising `RLIMIT_NOFILE` is not permitted in some sandboxes), unless `CONTAINERS_CONF` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A container runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// `podman` or `docker`.
    pub program: String,
    /// Flags before the subcommand.
    pub flags: Vec<String>,
    /// `CONTAINERS_CONF` for Podman (a file mediaconf wrote), if the environment sets none.
    pub containers_conf: Option<PathBuf>,
}

/// The runtime asked for by `--container-runtime`, or else the one that has `image` among its
/// local images when both Podman and Docker (with an engine that answers) are here — an image
/// made by `docker build` is not in Podman's store, and the other way round — else Podman when
/// it is on PATH, else Docker.
pub fn detect(requested: Option<&str>, image: &str, scratch: &Path) -> Result<Runtime, String> {
    let found = |program: &str| which(program).is_some();
    if requested.is_none() && found("podman") && found("docker") && docker_engine_answers() {
        let podman = podman_fitted("podman".to_owned(), scratch);
        let docker = podman_fitted("docker".to_owned(), scratch);
        return Ok(if !podman.has_image(image) && docker.has_image(image) {
            docker
        } else {
            podman
        });
    }
    let program = match requested {
        Some(p @ ("podman" | "docker")) if found(p) => p.to_owned(),
        Some(p @ ("podman" | "docker")) => {
            return Err(format!("--container-runtime {p}: `{p}` is not on PATH"));
        }
        Some(other) => {
            return Err(format!(
                "--container-runtime {other}: expected `podman` or `docker`"
            ));
        }
        None if found("podman") => "podman".to_owned(),
        None if found("docker") && docker_engine_answers() => "docker".to_owned(),
        None => {
            return Err(
                "no container runtime: install Podman (Debian: apt-get install podman runc) or \
                 start a Docker engine"
                    .to_owned(),
            );
        }
    };
    Ok(podman_fitted(program, scratch))
}

fn podman_fitted(program: String, scratch: &Path) -> Runtime {
    if program != "podman" {
        return Runtime {
            program,
            flags: Vec::new(),
            containers_conf: None,
        };
    }
    let mut flags = Vec::new();
    if which("runc").is_some() {
        flags.extend(["--runtime".to_owned(), "runc".to_owned()]);
    }
    flags.extend(["--cgroup-manager".to_owned(), "cgroupfs".to_owned()]);
    let containers_conf = if std::env::var_os("CONTAINERS_CONF").is_some() {
        None
    } else {
        let path = scratch.join("containers.conf");
        std::fs::write(&path, "[containers]\ndefault_ulimits = []\n")
            .ok()
            .map(|()| path)
    };
    Runtime {
        program,
        flags,
        containers_conf,
    }
}

impl Runtime {
    /// A command of this runtime: the program, its global flags, its environment.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.flags);
        if let Some(conf) = &self.containers_conf {
            cmd.env("CONTAINERS_CONF", conf);
        }
        cmd
    }

    /// Whether `image` is among this runtime's local images.
    pub fn has_image(&self, image: &str) -> bool {
        self.command()
            .args(["image", "inspect", image])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The host name a container uses for the host (`host.containers.internal` for Podman).
    pub fn host_alias(&self) -> &'static str {
        if self.program == "podman" {
            "host.containers.internal"
        } else {
            "host.docker.internal"
        }
    }
}

/// How a container is networked (`--image-network`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    /// Its ports published on free loopback ports of this host; this host's loopback reached
    /// from inside at [`SLIRP_HOST_LOOPBACK`] (Podman's slirp4netns with `allow_host_loopback`),
    /// so every server mediaconf starts stays on loopback.
    Published,
    /// The host's network: the container listens on 8008 and 8448 itself and shares loopback.
    Host,
}

/// The address at which slirp4netns lets a container reach the host's `127.0.0.1`.
pub const SLIRP_HOST_LOOPBACK: &str = "10.0.2.2";

impl Runtime {
    /// The network for `--image-network MODE` (`auto`, `published`, `host`): `auto` is
    /// `published` for Podman with slirp4netns installed, else `host` (Docker on Linux reaches
    /// the host's loopback only on the host's network).
    pub fn network(&self, mode: &str) -> Result<Network, String> {
        let slirp = self.program == "podman" && slirp4netns_installed();
        match mode {
            "host" => Ok(Network::Host),
            "published" if slirp => Ok(Network::Published),
            "published" if self.program == "podman" => Err(
                "--image-network published needs slirp4netns (Debian: apt-get install slirp4netns)"
                    .to_owned(),
            ),
            "published" => Err(format!(
                "--image-network published works with Podman only; with {} use --image-network host",
                self.program
            )),
            "auto" if slirp => Ok(Network::Published),
            "auto" => Ok(Network::Host),
            other => Err(format!(
                "--image-network {other}: expected auto, published or host"
            )),
        }
    }
}

/// Podman looks for slirp4netns on PATH and in its helper directories.
fn slirp4netns_installed() -> bool {
    which("slirp4netns").is_some()
        || [
            "/usr/libexec/podman",
            "/usr/lib/podman",
            "/usr/local/libexec/podman",
            "/usr/local/lib/podman",
        ]
        .iter()
        .any(|dir| Path::new(dir).join("slirp4netns").is_file())
}

fn docker_engine_answers() -> bool {
    Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_runtime_is_refused_with_the_choices() {
        let dir = tempfile::tempdir().unwrap();
        let err = detect(Some("lxc"), "x", dir.path()).unwrap_err();
        assert!(err.contains("expected `podman` or `docker`"), "{err}");
    }

    #[test]
    fn podman_gets_cgroupfs_and_a_containers_conf_without_ulimits() {
        let dir = tempfile::tempdir().unwrap();
        let rt = podman_fitted("podman".into(), dir.path());
        assert!(
            rt.flags
                .windows(2)
                .any(|w| w == ["--cgroup-manager", "cgroupfs"])
        );
        if std::env::var_os("CONTAINERS_CONF").is_none() {
            let conf = std::fs::read_to_string(rt.containers_conf.unwrap()).unwrap();
            assert!(conf.contains("default_ulimits = []"));
        }
        let docker = podman_fitted("docker".into(), dir.path());
        assert!(docker.flags.is_empty() && docker.containers_conf.is_none());
        assert_eq!(docker.host_alias(), "host.docker.internal");
    }

    #[test]
    fn docker_runs_on_the_host_network_and_refuses_published() {
        let dir = tempfile::tempdir().unwrap();
        let docker = podman_fitted("docker".into(), dir.path());
        assert_eq!(docker.network("auto"), Ok(Network::Host));
        assert_eq!(docker.network("host"), Ok(Network::Host));
        assert!(
            docker
                .network("published")
                .unwrap_err()
                .contains("Podman only")
        );
        assert!(
            docker
                .network("bridge")
                .unwrap_err()
                .contains("expected auto")
        );
        let podman = podman_fitted("podman".into(), dir.path());
        let expected = if slirp4netns_installed() {
            Network::Published
        } else {
            Network::Host
        };
        assert_eq!(podman.network("auto"), Ok(expected));
    }
}
