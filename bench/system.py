"""The machine: what it is, and whether its limits let a run hold the connections it needs.

Checks raise this process's open-file limit (children inherit it) and read the kernel settings that
decide how many loopback connections can be opened and accepted; each problem comes with the command
that fixes it. Nothing here changes a kernel setting.
"""
import os
import platform
import resource
import shutil
import subprocess
import sys

import psutil

from .workers import raise_nofile


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def machine():
    """What the figures came from."""
    cpu_model = None
    for line in (_read("/proc/cpuinfo") or "").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    versions = {}
    for tool, args in (("postgres", ["psql", "--version"]), ("redis", ["redis-server", "--version"]),
                       ("pgbench", ["pgbench", "--version"])):
        try:
            versions[tool] = subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            versions[tool] = None
    import gevent
    import gunicorn
    return {
        "cpus": os.cpu_count(), "cpu_model": cpu_model, "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(), "python": sys.version.split()[0], "gevent": gevent.__version__,
        "gunicorn": gunicorn.__version__, **versions,
    }


APP_PATHS = ("chat/", "app.py", "gunicorn.conf.py", "supabase/", "Procfile")


def code_version(root):
    """The commit measured, the tree of ``chat/`` in it, and the app files that differed from it (others
    work in the same tree, so a server started later may load different code)."""
    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.TimeoutExpired):
            return ""
    changed = [line[3:] for line in git("status", "--porcelain").splitlines() if line[3:].startswith(APP_PATHS)]
    return {"commit": git("rev-parse", "--short", "HEAD").strip(),
            "chat_tree": git("rev-parse", "--short", "HEAD:chat").strip(), "uncommitted_app_files": changed}


def check(connections_needed):
    """``(facts, problems, notes)``: limits as found/set, blocking problems, and advisories."""
    problems, notes = [], []
    before = resource.getrlimit(resource.RLIMIT_NOFILE)
    soft, hard = raise_nofile(max(65536, connections_needed * 2 + 1000))
    if soft < connections_needed + 1000:
        problems.append(
            f"open-file limit is {soft} (hard {hard}); a run needs {connections_needed + 1000}. "
            f"Raise it: `ulimit -n {connections_needed * 2 + 1000}` (as root, or in /etc/security/limits.conf).")
    somaxconn = int(_read("/proc/sys/net/core/somaxconn") or 0)
    if somaxconn < 1024:
        notes.append(f"net.core.somaxconn is {somaxconn}: listen backlogs are capped there, so a reconnect "
                     "storm waits on SYN retries. `sysctl -w net.core.somaxconn=4096`.")
    syn_backlog = int(_read("/proc/sys/net/ipv4/tcp_max_syn_backlog") or 0)
    port_range = tuple(int(x) for x in (_read("/proc/sys/net/ipv4/ip_local_port_range") or "0 0").split())
    ports = port_range[1] - port_range[0] + 1 if len(port_range) == 2 else 0
    if ports < connections_needed * 2:
        problems.append(
            f"net.ipv4.ip_local_port_range gives {ports} ephemeral ports; {connections_needed} streams plus "
            f"their reconnects need {connections_needed * 2}. "
            "`sysctl -w net.ipv4.ip_local_port_range='1024 65000'`.")
    tw_reuse = _read("/proc/sys/net/ipv4/tcp_tw_reuse")
    file_max = int(_read("/proc/sys/fs/file-max") or 0)
    if file_max and file_max < connections_needed * 3:
        problems.append(f"fs.file-max is {file_max}; `sysctl -w fs.file-max={connections_needed * 4}`.")
    for tool in ("redis-server", "redis-benchmark", "redis-cli", "pgbench"):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not on PATH: `apt-get install redis-server` / "
                            "`apt-get install postgresql-client`.")
    facts = {"nofile_before": list(before), "nofile": [soft, hard], "somaxconn": somaxconn,
             "tcp_max_syn_backlog": syn_backlog, "ip_local_port_range": list(port_range),
             "tcp_tw_reuse": tw_reuse, "file_max": file_max}
    return facts, problems, notes
