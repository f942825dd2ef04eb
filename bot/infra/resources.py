"""Where the templates and data files are: the checkout, or the installed package.

templates/ and data/ stay at the top of the repository (support staff edit them there); a wheel
carries copies under ``bot/_resources/`` (setup.py's build step), so a plain ``pip install .``
works from any directory. A checkout (recognised by its pyproject.toml) always wins, so an
editable install and ``PYTHONPATH=.`` read the files being edited.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]  # bot/infra/resources.py -> the checkout
PACKAGED = "_resources"


def in_checkout() -> bool:
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "templates").is_dir()


def resource_dir(name: str) -> Path:
    """``templates`` or ``data`` (or a path below them, e.g. ``data/knowledge``) as a real directory."""
    if in_checkout():
        return CHECKOUT / name
    return Path(str(resources.files("bot").joinpath(PACKAGED, *name.split("/"))))


def default_data_dir() -> Path:
    """Runtime data (embedded Redis, demo credentials): ./var of the checkout, else of the working directory."""
    return CHECKOUT / "var" if in_checkout() else Path.cwd() / "var"
