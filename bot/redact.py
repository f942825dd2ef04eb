"""Hide secrets that users paste into the group (AppSecret, AESKey, upload keys).

People paste whole config screens and key files while asking for help; the bot must not log,
store or echo those. Public identifiers the bot needs to help (wx AppIDs, gh_ original ids,
error codes) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MASK = "[已隐藏]"

# A PEM private key block; unterminated blocks (truncated pastes) run to the end of the text.
_PEM_RE = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END[A-Z0-9 ]*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
# key=value / key: value / "key": "value" where the key names a secret.
_ASSIGN_RE = re.compile(
    r"""(?P<key>\b[A-Za-z_]*(?:secret|token|aes_?key|private_?key|password|passwd|pwd|ticket)[A-Za-z_]*
         |密钥|秘钥|密码)
        (?P<sep>["']?\s*[:=：]\s*["']?)
        (?P<value>[A-Za-z0-9_\-+/=.~@]{6,})""",
    re.IGNORECASE | re.VERBOSE,
)
_URL_RE = re.compile(r"https?://[^\s<>\"'，。]+", re.IGNORECASE)
_HEX32_RE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_ALNUM43_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9]{43}(?![A-Za-z0-9+/=])")
_BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")


def _looks_random(run: str) -> bool:
    """Random key material mixes upper case, lower case and digits; paths and words do not."""
    return any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)


def _has_letter_and_digit(run: str) -> bool:
    return any(c.isalpha() for c in run) and any(c.isdigit() for c in run)


def _mask_free_text(text: str) -> tuple[str, bool]:
    """Apply the shape-based rules (hex, AESKey, base64) to text outside URLs."""
    found = False

    def sub(pattern: re.Pattern[str], keep: Callable[[str], bool], chunk: str) -> str:
        def repl(match: re.Match[str]) -> str:
            nonlocal found
            if not keep(match.group(0)):
                return match.group(0)
            found = True
            return MASK

        return pattern.sub(repl, chunk)

    text = sub(_HEX32_RE, lambda run: True, text)
    text = sub(_ALNUM43_RE, _has_letter_and_digit, text)
    text = sub(_BASE64_RE, _looks_random, text)
    return text, found


def redact_secrets(text: str) -> tuple[str, bool]:
    """Return ``text`` with secret-looking parts replaced by ``[已隐藏]``, and whether any were."""
    found = False

    def pem(_match: re.Match[str]) -> str:
        nonlocal found
        found = True
        return MASK

    def assign(match: re.Match[str]) -> str:
        nonlocal found
        found = True
        return f"{match.group('key')}{match.group('sep')}{MASK}"

    text = _PEM_RE.sub(pem, text)
    text = _ASSIGN_RE.sub(assign, text)
    pieces: list[str] = []
    last = 0
    for url in _URL_RE.finditer(text):
        chunk, hit = _mask_free_text(text[last : url.start()])
        pieces.extend((chunk, url.group(0)))
        found = found or hit
        last = url.end()
    chunk, hit = _mask_free_text(text[last:])
    pieces.append(chunk)
    return "".join(pieces), found or hit
