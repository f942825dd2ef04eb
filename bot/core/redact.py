"""Hide secrets that users paste into the group (AppSecret, AESKey, upload keys, tokens, API keys).

People paste whole config screens and key files while asking for help; the bot must not log,
store or echo those. Public identifiers the bot needs to help (wx AppIDs, gh_ original ids, CorpIDs,
CloudBase env ids, error codes, URLs without credentials) are left alone.

People paste in many ways: spaced in groups of four, split over two lines, in full-width characters,
with a non-breaking or zero-width space inside. So the text is first *normalised for matching* (NFKC
per character — full-width to ASCII —, zero-width characters dropped, a non-breaking space kept as a
break), the rules run on that, and every match is mapped back to the original characters and masked
whole (the original text is otherwise kept as it was).

Shapes masked (``scripts/secret_masking.py`` measures each over random samples, and the false
positives over ordinary messages): 32-hex AppSecrets; 43-character EncodingAESKeys and WeCom app
Secrets (base64url, with ``-`` and ``_``); callback Tokens and Tencent Cloud SecretKeys (random
mixed-case alphanumerics); webhook keys (UUIDs) and the ``key=`` of webhook URLs; access tokens and
tickets (long random base64url runs); JWTs; Tencent Cloud SecretIds (``AKID…``); PEM private keys and
upload-key contents (base64); the same tokens in groups of 2–8 or broken over a line; and whatever
follows ``密码/口令/密钥/password/secret/token … 是|为|:|=|is``.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Iterator

MASK = "[已隐藏]"

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e")
_HARD_SPACES = frozenset("\u00a0\u202f\u2007")  # a "space" inside a pasted token: treated as a line break
_BREAK = "\x1f"  # stands for a hard space in the normalised text
_HIDDEN = "\x01"  # fills what is already decided (masked, or a URL) so later rules do not see it

# A PEM private key block; unterminated blocks (truncated pastes) run to the end of the text.
_PEM_RE = re.compile(
    r"-{3,}\s*BEGIN[A-Z0-9 ]*PRIVATE\s+KEY\s*-{3,}.*?(?:-{3,}\s*END[A-Z0-9 ]*PRIVATE\s+KEY\s*-{3,}|\Z)",
    re.DOTALL | re.IGNORECASE,
)
# "<a name for a secret> <separator> <value>": the value is masked whatever it looks like.
_ASSIGN_RE = re.compile(
    r"""(?P<key>\b[A-Za-z_]*(?:secret|token|aes_?key|private_?key|password|passwd|pwd|ticket|api_?key)[A-Za-z_]*
         |\b(?:secret|api|access|private)\s+key\b|密钥|秘钥|私钥|密码|口令)
        (?P<sep>\s*["'`“”‘’]?\s*(?:[:=]|是|为|\s+is\b\s*:?)\s*["'`“”‘’]?\s*)
        (?P<value>[^\s"'`“”‘’()\[\]{}<>&,;\u3000-\u303f\u4e00-\u9fff\uff00-\uffef\x01\x1f]{3,})""",
    re.IGNORECASE | re.VERBOSE,
)
_WORD_RE = re.compile(r"[A-Za-z][a-z]*[.!?]?|[0-9]{1,3}")  # "password is wrong", "AppSecret是32位"
_FIELD_NAMES = frozenset({"appid", "appsecret", "corpid", "token", "encodingaeskey", "secret", "secretid",
                          "secretkey", "null", "none", "empty"})
_URL_RE = re.compile(r"https?://[^\s<>\"'，。\x01\x1f]+", re.IGNORECASE)
# Credentials inside a URL: a query parameter that names one, or the password of user:password@.
_URL_CRED_RE = re.compile(
    r"(?P<head>[?&;](?:key|[a-z_]*token|[a-z_]*secret|[a-z_]*ticket|password|passwd|pwd|sign|signature"
    r"|[a-z_]*auth_code|secretid|secretkey)=)(?P<value>[^&#\s]+)", re.IGNORECASE)
_URL_USERINFO_RE = re.compile(r"(?P<head>^https?://[^/@:\s]+:)(?P<value>[^/@\s]+)(?=@)", re.IGNORECASE)

_TOKEN = "A-Za-z0-9_\\-@+/"  # characters a pasted key is made of (a regex class body; "=" pads the end)
_KEY_CHARS = frozenset(string.ascii_letters + string.digits + "_-@+/")
_UUID_RE = re.compile(r"(?<![0-9A-Za-z-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                      r"(?![0-9A-Za-z-])")
_AKID_RE = re.compile(r"(?<![A-Za-z0-9])AKID[A-Za-z0-9]{12,60}(?![A-Za-z0-9])")
_JWT_RE = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}(?![A-Za-z0-9_-])")
# A run of token characters (base64url, plus the "@" of "ticket@@@..."), judged by _looks_generated.
_RUN_RE = re.compile(r"(?<![A-Za-z0-9_\-@])[A-Za-z0-9_\-@]{20,}(?![A-Za-z0-9_\-@])")
# Words, acronyms, short numbers and separators: how identifiers people write are built. Random key
# material almost never splits this way (a lone capital between digits, five digits in a row...).
_WORDY_RE = re.compile(r"(?>[A-Z]?[a-z]{2,}+|[A-Z]{2,}+(?![a-z])|[0-9]{1,4}+|[_\-@])++")
_HEX32_RE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_ALNUM43_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9]{43}(?![A-Za-z0-9+/=])")
_B64URL43_RE = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
_BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])")
# Pieces of one token: separated by spaces (groups), or by a line break / hard space (a broken token).
_PIECES_RE = re.compile(rf"(?<![{_TOKEN}.])[{_TOKEN}.]+=*(?:[ \t]{{0,2}}(?:\r?\n|{_BREAK}|[ \t])[ \t]{{0,2}}"
                        rf"[{_TOKEN}.]+=*)+(?![{_TOKEN}.=])")
_PIECE_RE = re.compile(rf"[{_TOKEN}.]+=*")


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
    if not (upper and lower and (digit or len(run) >= 24)):
        return False
    if len(set(run)) < min(0.55 * len(run), 30):
        return False
    return not _WORDY_RE.fullmatch(run)


# (pattern, keep) in the order they run; the first four are "strict" (a fixed shape).
_SHAPES: list[tuple[re.Pattern[str], Callable[[str], bool]]] = [
    (_UUID_RE, lambda run: True),
    (_AKID_RE, lambda run: True),
    (_HEX32_RE, lambda run: True),
    (_JWT_RE, lambda run: True),
    (_ALNUM43_RE, _has_letter_and_digit),
    (_B64URL43_RE, _has_letter_and_digit),
    (_BASE64_RE, _looks_random),
    (_RUN_RE, _looks_generated),
]
_STRICT = 6  # the first _STRICT shapes are fixed shapes: a token broken anywhere still counts


def _is_secret(token: str, strict_only: bool) -> bool:
    shapes = _SHAPES[:_STRICT] if strict_only else _SHAPES
    return any(pattern.fullmatch(token) and keep(token) for pattern, keep in shapes)


def _normalise(text: str) -> tuple[str, list[int]]:
    """The text as the rules see it, and for each of its characters the index it came from."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        if ch in _ZERO_WIDTH:
            continue
        if ch in _HARD_SPACES:
            out.append(_BREAK)
            where.append(i)
            continue
        if ch.isascii():
            out.append(ch)
            where.append(i)
            continue
        for c in unicodedata.normalize("NFKC", ch):
            out.append(c)
            where.append(i)
    return "".join(out), where


class _Spans:
    """Masked spans in the normalised text, and that text with them (and URLs) hidden from later rules."""

    def __init__(self, norm: str) -> None:
        self.view = list(norm)
        self.spans: list[tuple[int, int]] = []

    def mask(self, start: int, end: int) -> None:
        self.spans.append((start, end))
        self.hide(start, end)

    def hide(self, start: int, end: int) -> None:
        self.view[start:end] = _HIDDEN * (end - start)

    def text(self) -> str:
        return "".join(self.view)


def _pieces_joined(view: str) -> Iterator[tuple[int, int]]:
    """Spans of tokens pasted in pieces: equal groups (``28ab c70e 91ef …``) or broken over a line."""
    for run in _PIECES_RE.finditer(view):
        pieces = [(m.start() + run.start(), m.end() + run.start()) for m in _PIECE_RE.finditer(run.group(0))]
        texts = [view[a:b] for a, b in pieces]
        i = 0
        while i < len(pieces) - 1:
            best = None
            for j in range(len(pieces) - 1, i, -1):
                if _joinable(view, pieces, texts, i, j) and _is_secret("".join(texts[i:j + 1]), False):
                    best = j
                    break
            if best is None:
                i += 1
                continue
            yield pieces[i][0], pieces[best][1]
            i = best + 1


def _joinable(view: str, pieces: list[tuple[int, int]], texts: list[str], i: int, j: int) -> bool:
    """May pieces i..j be one token? Equal groups of 2-8 (the last may be shorter) split by spaces, or
    pieces split by line breaks / hard spaces that are not words, or make a fixed shape."""
    seps = [view[pieces[k][1]:pieces[k + 1][0]] for k in range(i, j)]
    if all("\n" not in s and _BREAK not in s for s in seps):  # spaces only: equal groups
        size = len(texts[i])
        return (j - i >= 2 and 2 <= size <= 8 and all(len(t) == size for t in texts[i:j])
                and len(texts[j]) <= size)
    if any(not ("\n" in s or _BREAK in s) for s in seps):
        return False  # a mix of spaces and breaks: not one pasted token
    # A key broken at a random point has at most one piece that reads like words ("ab", "1234"); lines
    # of an ordinary message have several.
    if sum(bool(_WORDY_RE.fullmatch(t)) for t in texts[i:j + 1]) > 1:
        return False
    return _is_secret("".join(texts[i:j + 1]), True) or all(len(t) >= 4 for t in texts[i:j + 1])


def _plain_word(value: str) -> bool:
    """"password is wrong", "AppSecret是32位": a word or a small number, not a value."""
    return bool(_WORD_RE.fullmatch(value)) or value.strip(".!?").lower() in _FIELD_NAMES


def _find(norm: str) -> list[tuple[int, int]]:
    """Every span of the normalised text to mask."""
    state = _Spans(norm)
    for match in _PEM_RE.finditer(norm):
        state.mask(*match.span())
    urls = [match.span() for match in _URL_RE.finditer(state.text())]
    for start, end in urls:
        url = norm[start:end]
        for pattern in (_URL_CRED_RE, _URL_USERINFO_RE):
            for match in pattern.finditer(url):
                if match.group("value") != MASK:
                    state.spans.append((start + match.start("value"), start + match.end("value")))
        state.hide(start, end)
    for start, end in _pieces_joined(state.text()):
        state.mask(start, end)
    for match in _ASSIGN_RE.finditer(state.text()):
        value = match.group("value")
        separator = match.group("sep").strip().strip("\"'`“”‘’:").strip()
        if separator.lower() in ("是", "为", "is") and _plain_word(value):
            continue
        if value.lower() in _FIELD_NAMES:
            continue
        state.mask(*match.span("value"))
    for pattern, keep in _SHAPES:
        view = state.text()
        for match in pattern.finditer(view):
            if keep(match.group(0)):
                state.mask(*_whole(view, *match.span()))
    return state.spans


def _whole(view: str, start: int, end: int) -> tuple[int, int]:
    """The whole token around a match (an access token's tail after a ``-`` is the same secret)."""
    while start > 0 and view[start - 1] in _KEY_CHARS:
        start -= 1
    while end < len(view) and (view[end] in _KEY_CHARS or view[end] == "="):
        end += 1
    return start, end


def redact_secrets(text: str) -> tuple[str, bool]:
    """Return ``text`` with secret-looking parts replaced by ``[已隐藏]``, and whether any were."""
    if not text:
        return text, False
    norm, where = _normalise(text)
    spans = sorted((where[a], where[b - 1] + 1) for a, b in _find(norm) if b > a)
    if not spans:
        return text, False
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    last = 0
    for start, end in merged:
        pieces.extend((text[last:start], MASK))
        last = end
    pieces.append(text[last:])
    return "".join(pieces), True
