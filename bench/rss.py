#!/usr/bin/env python3
"""mediaconf's memory benchmark: peak RSS of whole runs while the target answers 1 GiB to
every media request (examples/flood_target.rs), next to the same run against the instant
target (examples/instant_target.rs), for several --jobs values, with the default body cap.

Run through bench/rss.sh, which builds the binaries. Prints a Markdown table; asserts nothing.
"""

import os
import platform
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "release")


def start_target(name):
    proc = subprocess.Popen(
        [os.path.join(BIN, "examples", name)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("URL "):
        proc.kill()
        sys.exit(f"{name} did not start: {line!r}")
    return proc, line[4:]


def stop_target(proc):
    proc.stdin.close()
    out = proc.stdout.read()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for line in out.splitlines():
        if line.startswith("FLOODED "):
            return int(line.split()[1])
    return None


def run(url, jobs, workdir):
    """One whole run; returns (peak RSS MiB, wall s, exit code, cases)."""
    report = os.path.join(workdir, f"r{jobs}.json")
    args = [
        os.path.join(BIN, "mediaconf"), "run", "--target", url, "--federation-url", url,
        "--jobs", str(jobs), "--timeout", "20", "--quiet", "--color", "never",
        "--json", report,
        "--peer-listen", "127.0.0.1:0",
        "--signing-key", os.path.join(workdir, "k.key"),
        "--peer-ca-out", os.path.join(workdir, "ca.pem"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIACONF_")}
    started = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.stderr.read()
    code = os.waitstatus_to_exitcode(status)
    cases = "?"
    try:
        import json
        with open(report) as f:
            cases = len(json.load(f)["cases"])
    except Exception:
        pass
    return usage.ru_maxrss / 1024, wall, code, cases


def main():
    jobs_list = [int(j) for j in (sys.argv[1:] or ["1", "4", "8"])]
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for name, what in [("instant_target", "instant target (no flood)"),
                           ("flood_target", "1 GiB on every media request")]:
            for jobs in jobs_list:
                proc, url = start_target(name)
                try:
                    rss, wall, code, cases = run(url, jobs, workdir)
                finally:
                    flooded = stop_target(proc)
                rows.append((what, jobs, rss, wall, code, cases, flooded))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.release()}, python {platform.python_version()}")
    print("default limits: --max-body-mib 64, 2 MiB kept per body, 8 parts kept per multipart body")
    print()
    print("| target | --jobs | peak RSS | wall | exit | cases | requests answered 1 GiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for what, jobs, rss, wall, code, cases, flooded in rows:
        print(f"| {what} | {jobs} | {rss:.1f} MiB | {wall:.1f} s | {code} | {cases} | "
              f"{'-' if flooded is None else flooded} |")


if __name__ == "__main__":
    main()
