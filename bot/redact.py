"""Hide secrets that users paste into the group (AppSecret, AESKey, upload keys, tokens, API keys).

People paste whole config screens and key files while asking for help; the bot must not log,
store or echo those. Public identifiers the bot needs to help (wx AppIDs, gh_ original ids, CorpIDs,
CloudBase env ids, error codes, URLs without credentials) are left alone.

Shapes masked (``scripts/secret_masking.py`` measures each over random samples, and the false
positives over ordinary messages): 32-hex AppSecrets; 43-character EncodingAESKeys and WeCom app
Secrets (base64url, with ``-`` and ``_``); callback Tokens and Tencent Cloud SecretKeys (random
mixed-case alphanumerics); webhook keys (UUIDs) and the ``key=`` of webhook URLs; access tokens and
tickets (long random base64url runs); Tencent Cloud SecretIds (``AKID…``); PEM private keys and
upload-key contents (base64); and any ``secret=`` / ``token:`` / ``密钥：`` assignment.
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
# Credentials inside a URL: a query parameter that names one, or the password of user:password@.
_URL_CRED_RE = re.compile(
    r"(?P<head>[?&;](?:key|[a-z_]*token|[a-z_]*secret|[a-z_]*ticket|password|passwd|pwd|sign|signature"
    r"|[a-z_]*auth_code|secretid|secretkey)=)(?P<value>[^&#\s]+)", re.IGNORECASE)
_URL_USERINFO_RE = re.compile(r"(?P<head>^https?://[^/@:\s]+:)(?P<value>[^/@\s]+)(?=@)", re.IGNORECASE)
_UUID_RE = re.compile(r"(?<![0-9A-Za-z-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                      r"(?![0-9A-Za-z-])")
_AKID_RE = re.compile(r"(?<![A-Za-z0-9])AKID[A-Za-z0-9]{12,60}(?![A-Za-z0-9])")
# A run of token characters (base64url, plus the "@" of "ticket@@@..."), judged by _looks_generated.
_RUN_RE = re.compile(r"(?<![A-Za-z0-9_\-@])[A-Za-z0-9_\-@]{20,}(?![A-Za-z0-9_\-@])")
# Words, acronyms, short numbers and separators: how identifiers people write are built. Random key
# material almost never splits this way (a lone capital between digits, five digits in a row...).
_WORDY_RE = re.compile(r"(?>[A-Z]?[a-z]{2,}+|[A-Z]{2,}+(?![a-z])|[0-9]{1,4}+|[_\-@])++")
_HEX32_RE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_ALNUM43_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9]{43}(?![A-Za-z0-9+/=])")
_BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")


def _looks_random(run: str) -> bool:
    """Random key material mixes upper case, lower case and digits; paths and words do not."""
    return any(c.isupper() for c in run) and any(c.islower() for c in run) and any(c.isdigit() for c in run)


def _has_letter_and_digit(run: str) -> bool:
    return any(c.isalpha() for c in run) and any(c.isdigit() for c in run)


def _looks_generated(run: str) -> bool:
    """A token, secret or access token rather than an identifier someone wrote.

    Upper and lower case both (lower-case-and-digit ids such as CloudBase env ids stay readable;
    hex secrets have their own rule), digits too unless the run is long, many distinct characters,
    and not built of words (``getAuthorizerAccessToken``).
    """
    upper = any("A" <= c <= "Z" for c in run)
    lower = any("a" <= c <= "z" for c in run)
    digit = any(c.isdigit() for c in run)
    if not (upper and lower and (digit or len(run) >= 40)):
        return False
    if len(set(run)) < min(0.55 * len(run), 30):
        return False
    return not _WORDY_RE.fullmatch(run)


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

    text = sub(_UUID_RE, lambda run: True, text)
    text = sub(_AKID_RE, lambda run: True, text)
    text = sub(_HEX32_RE, lambda run: True, text)
    text = sub(_ALNUM43_RE, _has_letter_and_digit, text)
    text = sub(_BASE64_RE, _looks_random, text)
    text = sub(_RUN_RE, _looks_generated, text)
    return text, found


def _mask_url(url: str) -> tuple[str, bool]:
    """A URL stays readable; only the credentials in it go (``?key=`` of a webhook, ``user:pass@``)."""
    found = False

    def repl(match: re.Match[str]) -> str:
        nonlocal found
        if match.group("value") == MASK:
            return match.group(0)
        found = True
        return match.group("head") + MASK

    url = _URL_CRED_RE.sub(repl, url)
    url = _URL_USERINFO_RE.sub(repl, url)
    return url, found


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
        masked_url, url_hit = _mask_url(url.group(0))
        pieces.extend((chunk, masked_url))
        found = found or hit or url_hit
        last = url.end()
    chunk, hit = _mask_free_text(text[last:])
    pieces.append(chunk)
    return "".join(pieces), found or hit
