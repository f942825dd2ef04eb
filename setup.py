"""Build step: copy templates/ and data/ into the wheel as bot/_resources/ (bot.infra.resources reads them).

The folders stay at the top of the repository, where support staff and the other engineers edit
them; everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
RESOURCES = ("templates", "data")


class BuildWithResources(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        for name in RESOURCES:
            target = Path(self.build_lib) / "bot" / "_resources" / name
            shutil.copytree(ROOT / name, target, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildWithResources})
