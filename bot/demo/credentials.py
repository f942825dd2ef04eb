"""Demo mode's throwaway WeCom callback credentials: made once, kept in the data folder, shared by every process.

Only demo mode (no WeCom credential in the environment, ``bot.config.load_settings``) comes here: ``serve``
starts the web workers, the worker and the long-connection holder as separate processes, and ``chat``
talks to them from another, so the credentials they check signatures with live in one file (mode 0600)
rather than in any one process.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Callable, Mapping
from pathlib import Path

FILE_NAME = "demo-credentials.json"


def load_or_create(data_dir: Path, valid: Callable[[Mapping[str, str]], bool] = lambda _creds: True) -> dict[str, str]:
    """The kept credentials, or new ones written atomically; a file ``valid`` rejects (corrupt) is replaced."""
    path = data_dir / FILE_NAME
    if path.exists():
        try:
            creds = json.loads(path.read_text())
        except ValueError:
            creds = None  # regenerate a corrupt file
        if isinstance(creds, dict) and valid(creds):
            return creds
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = {
        "token": _random_token(),
        "aes_key": _random_aes_key(),
        "aibot_token": _random_token(),
        "aibot_aes_key": _random_aes_key(),
        "secret_key": secrets.token_hex(32),
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(creds, indent=2))
    tmp.chmod(0o600)
    tmp.replace(path)
    return creds


def _random_token(n: int = 32) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(n))


def _random_aes_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()[:43]
