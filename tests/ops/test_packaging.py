"""A plain ``pip install .`` works from any directory: templates and data are in the wheel."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import pytest

from tests.support.environment import make_env
from tests.support.servers import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (path,) = out.glob("*.whl")
    return path


def test_the_wheel_carries_templates_and_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("bot/_resources/templates/chat/zh/help.j2", "bot/_resources/templates/chat/en/help.j2",
                     "bot/_resources/templates/admin/base.html", "bot/_resources/data/understanding/intents.yaml",
                     "bot/_resources/data/guide/steps.yaml", "bot/_resources/data/knowledge/general.yaml",
                     "bot/_resources/data/language/english_words.txt", "bot/web/gunicorn_conf.py"):
        assert expected in names, expected


@pytest.mark.slow
def test_the_installed_bot_runs_from_any_directory(wheel, tmp_path):
    """Unpacked like pip installs it, away from the checkout: check passes, chat answers from the packaged files."""
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, **make_env(tmp_path), "PYTHONPATH": str(site)}
    check = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=elsewhere, env=env, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    chat = subprocess.run([sys.executable, "-m", "bot", "chat", "--user", f"pkg-{tmp_path.name}"], input="开始\n",
                          cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
    assert chat.returncode == 0, chat.stderr[-2000:]
    assert "第1步" in chat.stdout, chat.stdout
    show = "import bot.infra.resources as r; print(r.resource_dir('templates'))"
    where = subprocess.run([sys.executable, "-c", show],
                           cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert where.stdout.strip().startswith(str(site)), where.stdout
