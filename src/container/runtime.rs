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

/// The runtime asked for by `--container-runtime`, or the first that works: Podman when it is
/// on PATH, else Docker when `docker info` reaches an engine.
pub fn detect(requested: Option<&str>, scratch: &Path) -> Result<Runtime, String> {
    let found = |program: &str| which(program).is_some();
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

    /// The host name a container uses for the host (`host.containers.internal` for Podman).
    pub fn host_alias(&self) -> &'static str {
        if self.program == "podman" {
            "host.containers.internal"
        } else {
            "host.docker.internal"
        }
    }
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
        let err = detect(Some("lxc"), dir.path()).unwrap_err();
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
}
