"""Text analysis for retrieval: jieba words, synonyms, stopwords and pinyin bigrams.

Users type fast: homophone typos (秘钥/密钥, 全网法布), pinyin ("yuanshi id"), English and
pasted errors. Words catch the clean cases; pinyin syllable bigrams of the Chinese text
catch homophones and pinyin input, independent of how jieba happened to segment a typo.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise

import jieba
from pypinyin.constants import PINYIN_DICT

from bot.faq.lexicon import Lexicon, normalize

PINYIN_PREFIX = "py:"
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_ASCII_WORD_RE = re.compile(r"^[a-z0-9][a-z0-9_.$-]*$")
_ALPHA_RE = re.compile(r"^[a-z]+$")
_PUNCT_ONLY_RE = re.compile(r"^[\W_]+$")

_jieba_lock = threading.Lock()
_jieba: jieba.Tokenizer | None = None


def shared_jieba() -> jieba.Tokenizer:
    """One jieba tokenizer per process: building its prefix dict takes ~1 s, so never per query.

    Domain words are added to it by every Analyzer; they only ever improve segmentation.
    """
    global _jieba
    with _jieba_lock:
        if _jieba is None:
            jieba.setLogLevel(logging.WARNING)
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _jieba = tokenizer
        return _jieba


_TONELESS = str.maketrans("āáǎàēéěèếềīíǐìōóǒòūúǔùǖǘǚǜüńňǹḿ", "aaaaeeeeeeiiiioooouuuuvvvvvnnnm")


@lru_cache(maxsize=1)
def _pinyin_table() -> dict[str, tuple[str, ...]]:
    """Character -> its (at most two) toneless readings, most common first, from pypinyin's data.

    A plain table lookup instead of pypinyin's phrase matching keeps a query under 1 ms; the
    second reading lets 重置 match a user typing "chongzhi" as well as "zhongzhi".
    """
    table: dict[str, tuple[str, ...]] = {}
    for code, value in PINYIN_DICT.items():
        readings: list[str] = []
        for item in value.translate(_TONELESS).split(","):
            if item.isascii() and item.isalpha() and item not in readings:
                readings.append(item)
        if readings:
            table[chr(code)] = tuple(readings[:2])
    return table


@lru_cache(maxsize=1)
def pinyin_syllables() -> frozenset[str]:
    """All toneless pinyin syllables with a vowel (so 'm', 'ng' cannot eat English words)."""
    return frozenset(r for readings in _pinyin_table().values() for r in readings if re.search(r"[aeiouv]", r))


def char_pinyin(char: str) -> tuple[str, ...]:
    """Toneless readings of one character; the character itself if it has none."""
    return _pinyin_table().get(char, (char,))


@lru_cache(maxsize=4096)
def split_pinyin(word: str) -> tuple[str, ...] | None:
    """Split ``yuanshi`` into ("yuan", "shi"); None if it is not pure pinyin."""
    if not _ALPHA_RE.match(word) or len(word) > 30:
        return None
    syllables = pinyin_syllables()
    best: list[tuple[str, ...] | None] = [None] * (len(word) + 1)
    best[0] = ()
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 6), end):
            prev = best[start]
            piece = word[start:end]
            if prev is not None and piece in syllables:
                cand, current = (*prev, piece), best[end]
                if current is None or len(cand) < len(current):
                    best[end] = cand
    return best[len(word)]


def is_cjk(text: str) -> bool:
    """True if ``text`` contains a CJK ideograph."""
    return bool(_CJK_RE.search(text))


@dataclass
class Unit:
    """One word of the text as segmented: its canonical form and the index tokens it yields."""

    text: str
    kind: str  # "cjk", "latin" (pure letters: maybe pinyin), or "other" (numbers, ids, codes)
    tokens: list[str] = field(default_factory=list)


@dataclass
class Analysis:
    """A text broken into words (units) plus pinyin bigrams that straddle two words."""

    units: list[Unit] = field(default_factory=list)
    bridges: list[tuple[str, int, int]] = field(default_factory=list)

    def index_tokens(self) -> list[str]:
        """Tokens for indexing a document: every unit's tokens plus the bridges."""
        out = [tok for unit in self.units for tok in unit.tokens]
        out.extend(tok for tok, _, _ in self.bridges)
        return out

    @property
    def words(self) -> list[str]:
        """Canonical words, for debugging and tests."""
        return [unit.text for unit in self.units]


class Analyzer:
    """Turns text into normalised tokens; built once per knowledge base, reused per query."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.jieba = shared_jieba()
        for word, freq in lexicon.words:
            self.jieba.add_word(word, freq)
        # Chinese synonym entries are domain words too: make jieba keep them whole
        # (e.g. 没有收到, 不正确), otherwise the synonym map never sees them.
        # Canonicals reached only through a multi-word variant ("公众号: official account") count
        # too, or 公众号 would be cut into 公众 + 号.
        canonicals = (*lexicon.synonyms.values(), *(canon for _, canon in lexicon.phrases))
        for word in (*lexicon.synonyms, *canonicals):
            if len(word) >= 2 and is_cjk(word) and not self.jieba.FREQ.get(word):
                self.jieba.add_word(word)
        self._phrase_re = lexicon.phrase_pattern()
        self._phrases = dict(lexicon.phrases)
        # Sub-words of long words are only kept when they are domain terms: jieba's full
        # dictionary would add noise such as 方平 from 第三方平台.
        self._freq = self.jieba.FREQ
        self._domain = {w for w, _ in lexicon.words} | set(lexicon.synonyms) | set(canonicals)
        self._unglued: dict[str, list[str] | None] = {}
        pinyin_syllables()  # build now (with the pinyin table), not on the first question

    def canonical(self, word: str) -> str:
        """Map a variant to its canonical synonym."""
        return self.lexicon.synonyms.get(word, word)

    def is_stop(self, word: str) -> bool:
        """Fillers that say nothing about the topic."""
        stop = self.lexicon.stopwords
        return word in stop or self.canonical(word) in stop

    def _rewrite_phrases(self, text: str) -> str:
        if self._phrase_re is None:
            return text

        def repl(match: re.Match[str]) -> str:
            key = " ".join(re.split(r"[\s_-]+", match.group(0)))
            return f" {self._phrases.get(key, match.group(0))} "

        return self._phrase_re.sub(repl, text)

    def analyze(self, text: str, *, document: bool = False) -> Analysis:
        """Normalise, segment, drop stopwords, map synonyms, add pinyin bigrams.

        ``document=True`` (indexing) adds every dictionary sub-word of long words, so a question
        saying 开发者 still meets a topic that says 开发者资质认证; questions only get domain
        sub-words, which keeps noise such as 方平 (from 第三方平台) out of the match.
        """
        norm = self._rewrite_phrases(normalize(text))
        out = Analysis()
        run: list[tuple[str, int]] = []  # (character, unit index) of consecutive kept Chinese words

        for word, _start, _end in self.jieba.tokenize(norm, mode="default", HMM=False):
            word = word.strip()
            if not word:  # whitespace neither breaks a Chinese run nor makes a word
                continue
            if _PUNCT_ONLY_RE.match(word) or self.is_stop(word):
                self._flush_run(run, out, document)
                continue
            canon = self.canonical(word)
            pieces = None if document else self._unglue(word)
            if pieces:
                for piece in pieces:
                    if piece in self.lexicon.stopwords:
                        self._flush_run(run, out, document)
                        continue
                    sub = self.canonical(piece)
                    run.extend((ch, len(out.units)) for ch in piece)
                    out.units.append(Unit(sub, "cjk", [sub, *self._subwords(piece, sub, document)]))
            elif is_cjk(word):
                unit = Unit(canon, "cjk", [canon, *self._subwords(word, canon, document)])
                run.extend((ch, len(out.units)) for ch in word if is_cjk(ch))
                out.units.append(unit)
            elif _ASCII_WORD_RE.match(word):
                self._flush_run(run, out, document)
                kind = "latin" if canon == word and _ALPHA_RE.match(word) else "other"
                out.units.append(Unit(canon, kind, [canon]))
            else:
                self._flush_run(run, out, document)
        self._flush_run(run, out, document)
        return out

    @staticmethod
    def _flush_run(run: list[tuple[str, int]], out: Analysis, document: bool) -> None:
        """Pinyin bigrams of a Chinese run: inside one word they join its tokens, else a bridge.

        Questions use each character's main reading; documents also index the second one.
        """
        for (a, ua), (b, ub) in pairwise(run):
            first, second = char_pinyin(a), char_pinyin(b)
            if not document:
                first, second = first[:1], second[:1]
            for pa in first:
                for pb in second:
                    token = f"{PINYIN_PREFIX}{pa}_{pb}"
                    if ua == ub:
                        out.units[ua].tokens.append(token)
                    else:
                        out.bridges.append((token, ua, ub))
        run.clear()

    def _unglue(self, word: str) -> list[str] | None:
        """A word jieba glued from domain words and filler (定位问题, 授权完) back in pieces.

        Only when every character belongs to a domain word (2+ characters) or a stopword, and
        both occur; words with any other part (微信支付) stay whole. Cached per word.
        """
        if word in self._unglued:
            return self._unglued[word]
        pieces = None
        if 3 <= len(word) <= 12 and word not in self._domain and all(_CJK_RE.match(ch) for ch in word):
            stop = self.lexicon.stopwords
            best: list[list[str] | None] = [None] * (len(word) + 1)
            best[0] = []
            for end in range(1, len(word) + 1):
                for start in range(max(0, end - 8), end):
                    piece, prev = word[start:end], best[start]
                    if prev is None or not (piece in stop or (len(piece) >= 2 and piece in self._domain)):
                        continue
                    current = best[end]
                    if current is None or len(prev) + 1 < len(current):
                        best[end] = [*prev, piece]
            found = best[len(word)]
            if found and any(p in stop for p in found) and any(p not in stop for p in found):
                pieces = found
        if len(self._unglued) < 20_000:
            self._unglued[word] = pieces
        return pieces

    def _subwords(self, word: str, canon: str, document: bool) -> list[str]:
        """Words of 2-3 characters inside a longer word, like jieba's search mode."""
        if len(word) <= 2:
            return []
        out = []
        for n in (2, 3):
            for i in range(len(word) - n + 1):
                gram = word[i : i + n]
                known = self._freq.get(gram) if document else gram in self._domain
                if gram != word and known and not self.is_stop(gram):
                    sub = self.canonical(gram)
                    if sub != canon:
                        out.append(sub)
        return out
