# scripts/container-env.sh: sourced by the scripts that call Podman. What Podman needs on these
# machines, in one place (the same as src/container/runtime.rs): runc, not crun, which refuses
# this kernel's hybrid cgroups; cgroupfs as cgroup manager; and a containers.conf without
# default ulimits, since raising RLIMIT_NOFILE is not permitted here.
PODMAN_FLAGS=(--runtime runc --cgroup-manager cgroupfs)
if [[ -z ${CONTAINERS_CONF:-} ]]; then
  _conf_dir=${TMPDIR:-/tmp}/mediaconf-containers
  mkdir -p "$_conf_dir"
  printf '[containers]\ndefault_ulimits = []\n' >"$_conf_dir/containers.conf"
  export CONTAINERS_CONF=$_conf_dir/containers.conf
fi
