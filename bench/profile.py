"""py-spy profiles of the app's gunicorn processes while a scenario runs (``--profile SECONDS``).

Profiling perturbs the figures, so it is opt-in; the profile of each scenario is written as collapsed
stacks (``profile-<scenario>.txt``, loadable by speedscope or flamegraph.pl) and summarized in the results:
the functions where the samples were (self) and those on the stack (inclusive).
"""
import contextlib
import os
import re
import shutil
import signal
import subprocess
from collections import Counter

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


@contextlib.contextmanager
def maybe(run, target, scenario):
    """Record ``target``'s processes with py-spy during the block, if the run asked for profiles."""
    if not run.profile_seconds or target.name != "app" or shutil.which("py-spy") is None:
        yield
        return
    path = os.path.join(run.out_dir, f"profile-{scenario}.txt")
    master = target.processes()[0].pid
    proc = subprocess.Popen(
        ["py-spy", "record", "--pid", str(master), "--subprocesses", "--nonblocking", "--rate", "100",
         "--duration", str(run.profile_seconds), "--format", "raw", "--output", path],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if os.path.exists(path):
            run.results.setdefault("profiles", {})[scenario] = summarize(path)
            run.log(f"  profile of {scenario} written to {path}")


_REPO = str(__import__("pathlib").Path(__file__).resolve().parent.parent) + "/"


def _short(frame):
    m = _FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    file = m.group("file")
    for marker in ("site-packages/", "/lib/python3", _REPO):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{m.group('func')} ({file})"


def summarize(path, top=25):
    """``{samples, self: [(frame, share)], inclusive: [(frame, share)]}`` of a collapsed-stack file."""
    own, inclusive, total = Counter(), Counter(), 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not stack or not count.isdigit():
                continue
            n = int(count)
            frames = [_short(fr) for fr in stack.split(";") if fr and not fr.startswith(("process ", "thread "))]
            if not frames:
                continue
            total += n
            own[frames[-1]] += n
            for fr in set(frames):
                inclusive[fr] += n
    share = (lambda c: [(fr, round(n / total, 4)) for fr, n in c.most_common(top)]) if total else (lambda c: [])
    return {"samples": total, "self": share(own), "inclusive": share(inclusive), "file": os.path.basename(path)}
