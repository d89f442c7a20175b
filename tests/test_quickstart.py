"""U11: the quickstart works on a stock Debian/Ubuntu python3, and the demo names the real sign-in URL."""
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest

from chat.cli import sign_in_url

ROOT = Path(__file__).resolve().parent.parent


def test_demo_prints_the_sign_in_url_of_the_configured_port(runner):
    result = runner.invoke(args=["demo"], env={"FLASK_RUN_PORT": "5123", "FLASK_RUN_HOST": ""})
    assert result.exit_code == 0, result.output
    assert "http://127.0.0.1:5123/login" in result.output and "5000" not in result.output


def test_sign_in_url():
    assert sign_in_url({}) == "http://127.0.0.1:5000/login"
    assert sign_in_url({"FLASK_RUN_HOST": "0.0.0.0", "FLASK_RUN_PORT": "8000"}) == "http://127.0.0.1:8000/login"
    assert sign_in_url({"FLASK_RUN_HOST": "::1"}) == "http://[::1]:5000/login"


def _make_dry_run(python):
    return subprocess.run(["make", "-n", "run", f"SYSTEM_PYTHON={python}"], cwd=ROOT, capture_output=True,
                          text=True, check=True, env={k: v for k, v in os.environ.items() if k != "PYTHON"}).stdout


@pytest.mark.skipif(not shutil.which("make"), reason="needs make")
def test_make_uses_a_python_that_installs_packages_as_it_is():
    out = _make_dry_run(shutil.which("python3") or "python3")
    managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
    if not managed:
        assert "-m venv" not in out and "-m pip install -q -e ." in out


@pytest.mark.skipif(not (shutil.which("make") and Path("/usr/bin/python3").exists()
                         and list(Path("/usr/lib").glob("python3*/EXTERNALLY-MANAGED"))),
                    reason="needs an externally managed system python3 (stock Debian/Ubuntu)")
def test_make_creates_and_uses_a_venv_on_an_externally_managed_python():
    out = _make_dry_run("/usr/bin/python3")
    assert "/usr/bin/python3 -m venv .venv" in out
    assert ".venv/bin/python -m pip install -q -e ." in out and ".venv/bin/python -m flask --app app run" in out
