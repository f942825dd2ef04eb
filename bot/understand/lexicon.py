"""The word lists of data/understanding/context.yaml, loaded and validated once."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.infra.resources import resource_dir
from bot.understand.stance import Cues, UnderstandingDataError, contains_any

CONTEXT_FILE = resource_dir("data/understanding") / "context.yaml"
_SPACE = re.compile(r"\s+")
def _asks_with(word: str, squashed: str) -> bool:
    """A question word in the message: an English one only where a word may begin ("scans" asks nothing)."""
    if not word.isalpha() or not word.isascii():
        return word in squashed
    return re.search(rf"(?:^|[^a-z']){re.escape(word)}", squashed) is not None


# "正常不", "是真的不", "这样可以不": a yes-no question with its second half left off
_A_NOT = re.compile(r"(?:(?:正常|真的|可以|能|行|对|有效|有时效|要紧|管用|得行|中|成)不|.{5}是吧|.{5}对吧|了没有?)"
                    r"[？?。~～]*$")  # "…就能拿到AppId 是吧" (but "开是吧" is a slip for 开始吧); "认证通过了没"
# "is that a problem", "should i wait": an English question by its first words
_ASKS_EN = re.compile(r"^(?:is|are|do|does|did|can|could|should|will|would|may|shall)"
                      r"(?:i|it|that|this|there|we|you|my|the)")
# "管理员填我还是填我舅啊": X or Y, asked (还是 alone is "still": "还是不行")
_EITHER_OR = re.compile(r"[^，,。]还是[^，,。不没]{1,12}[啊呢呀吧]$"
                        r"|(?:是先|要先|该先)[^，,。]{1,12}还是[^，,。不没]{1,12}$")  # "我是先点完成还是等换完"
# "过了半个小时还是认证中", "已经过了 10 分钟": a span of time after 过了 is time going by, not a review passed
_TIME_PASSED = re.compile(r"(?<!通)过了(?=\s*[半一两俩二三四五六七八九十几好大\d]+\s*(?:个\s*)?(?:多|半)?\s*"
                          r"(?:小时|钟头|分钟|天|周|星期|礼拜|月|夜|晚上|晚|会儿|hour|min|day))")


def squash(text: str) -> str:
    """NFKC, lower-case, no whitespace: the form word lists are matched in."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).lower())


def _phrase(word: object) -> str:
    """A listed word as contains_any matches it: Latin phrases keep their spaces (whole words), the rest squashed."""
    text = str(word)
    return text.strip().lower() if text.isascii() else squash(text)


@dataclass(frozen=True)
class ContextWords:
    step_names: tuple[tuple[str, int], ...]  # longest name first
    cert_words: tuple[str, ...]
    not_cert_words: tuple[str, ...]
    question_words: tuple[str, ...]
    command_questions: tuple[str, ...]
    negations: tuple[str, ...] = ()
    feedback_no: tuple[str, ...] = ()
    feedback_yes: tuple[str, ...] = ()
    fillers: tuple[str, ...] = ()
    request_words: tuple[str, ...] = ()
    cues: Cues = field(default_factory=Cues)  # what kind of statement a message is (stance:)
    step_acts: dict[int, tuple[str, ...]] = field(default_factory=dict)  # a step's own act, not an item
    typos: tuple[tuple[str, str], ...] = ()  # (slip, meant), longest slip first: "注册号了" -> "注册好了"
    status_questions: tuple[str, ...] = ()  # "到底在第几步": asks where the user is, moves nothing
    yes_words: tuple[str, ...] = ()  # "中": a whole reply meaning yes / OK
    next_questions: tuple[str, ...] = ()  # "接下来做啥": asks what comes next, so a report before it stands
    thanks: tuple[str, ...] = ()  # "这几天麻烦你了 谢谢": thanks, when nothing else in the message can be placed
    no_words: tuple[str, ...] = ()  # "没": a whole reply meaning no
    next_commands: tuple[str, ...] = ()  # "下一步": the command itself, which asks nothing ("…扫码也能授权了 下一步吧")
    pinyin_questions: tuple[str, ...] = ()  # "zenme", "zuosha": inside run-together pinyin, wherever they are
    helped: tuple[str, ...] = ()  # "help 我很多": thanks for help given
    reviews_by_people: tuple[str, ...] = ()  # "人工审核": a review, not a person asked for ...
    asks_for_person: tuple[str, ...] = ()  # ... unless one is ("转人工")
    undoing_words: tuple[str, ...] = ()  # "取消", "关掉": said of a quoted command, it is not that command
    feedback_lost: tuple[str, ...] = ()  # "没看懂": after 解决了吗, a no unless it also says solved
    # "嗯 提交了 同事弄的": a yes that opens a longer reply (yes_openers); "上一步 额算了 不用回去了": the thought
    # before it is taken back (retractions; retractions_before_pause only where a pause follows: "啊不是，…")
    yes_opening: re.Pattern[str] = re.compile(r"(?!)")
    retraction: re.Pattern[str] = re.compile(r"(?!)")
    emoticon: re.Pattern[str] = re.compile(r"(?!)")  # "[捂脸]": a sticker code that only says how the user feels

    @classmethod
    def load(cls, path: Path = CONTEXT_FILE) -> ContextWords:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise UnderstandingDataError(f"{path.name}: {exc}") from None
        names: list[tuple[str, int]] = []
        for step, listed in (data.get("step_names") or {}).items():
            if not isinstance(step, int) or not 1 <= step <= 6 or not isinstance(listed, list):
                raise UnderstandingDataError(f"{path.name}: step_names: {step!r} must be 1-6 with a list of names")
            names.extend((squash(str(w)), step) for w in listed)
        names.sort(key=lambda pair: -len(pair[0]))

        def words(key: str) -> tuple[str, ...]:
            value = data.get(key) or []
            if not isinstance(value, list):
                raise UnderstandingDataError(f"{path.name}: {key} must be a list")
            return tuple(squash(str(w)) for w in value)

        def phrases(key: str) -> tuple[str, ...]:
            """Latin phrases keep their spaces: they are matched as whole words ("never say", "mei shuo")."""
            words(key)  # the same checks
            return tuple(_phrase(w) for w in data.get(key) or [])

        def raw(key: str) -> tuple[str, ...]:
            words(key)  # the same checks
            return tuple(str(w) for w in data.get(key) or [])

        acts: dict[int, tuple[str, ...]] = {}
        for step, listed in (data.get("step_acts") or {}).items():
            if not isinstance(step, int) or not 1 <= step <= 6 or not isinstance(listed, list):
                raise UnderstandingDataError(f"{path.name}: step_acts: {step!r} must be 1-6 with a list of words")
            acts[step] = tuple(_phrase(w) for w in listed)
        typos = data.get("typos") or {}
        if not isinstance(typos, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in typos.items()):
            raise UnderstandingDataError(f"{path.name}: typos must map a slip to what was meant")
        slips = tuple(sorted(typos.items(), key=lambda pair: -len(pair[0])))
        return cls(tuple(names), words("cert_words"), words("not_cert_words"), words("question_words"),
                   words("command_questions"), phrases("negations"), words("feedback_no"), words("feedback_yes"),
                   words("fillers"), words("request_words"), Cues.from_data(data.get("stance"), path.name), acts,
                   slips, words("status_questions"), words("yes_words"), words("next_questions"), words("thanks"),
                   words("no_words"), words("next_commands"), words("pinyin_questions"),
                   words("helped"), words("reviews_by_people"), words("asks_for_person"), words("undoing_words"),
                   words("feedback_lost"),
                   _opening(raw("yes_openers")),
                   _retraction(raw("retractions"), raw("retractions_before_pause"), raw("jokes")),
                   _stickers(raw("emoticons")))

    def corrected(self, text: str) -> str:
        """The message with its known voice-input and handwriting slips put right ("绑号了" -> "绑好了")."""
        for slip, meant in self.typos:
            if slip in text:
                text = text.replace(slip, meant)
        return text

    @staticmethod
    def time_told_apart(text: str) -> str:
        """"过了半个小时还是认证中": time that went by (过去了), not a review that went through (过了)."""
        return _TIME_PASSED.sub("过去了", text)

    def without_emoticons(self, text: str) -> str:
        """"挂了[捂脸]" reads as "挂了"; a message of stickers alone ("[捂脸]") stays as it is."""
        left = self.emoticon.sub(" ", text).strip()
        return left if squash(left) else text

    def asks_next(self, squashed: str) -> bool:
        """"开发资料终于填好了，接下来做啥": the question is what to do next."""
        return any(phrase in squashed for phrase in self.next_questions)

    def requests_next(self, squashed: str) -> bool:
        """"下一步吧", "ok下一步": the next step asked for, not asked about ("接下来干嘛", "下一步做啥")."""
        if not any(word in squashed for word in self.next_commands):
            return False
        rest = squashed
        for word in self.next_commands:
            rest = rest.replace(word, " ")
        return not self.asks_next(rest) and not self.looks_like_question(rest)

    def asks_status(self, squashed: str) -> bool:
        """"现在到底在第几步": the user asks where they are."""
        return any(phrase in squashed for phrase in self.status_questions)

    def names_step_act(self, text: str, step: int) -> bool:
        """The message reports ``step``'s own act ("填好提交了" on step 3), not one of its items."""
        return contains_any(text, self.step_acts.get(step, ()))

    def mentions_cert(self, squashed: str) -> bool:
        """The message is about WeDa's certification, not another step's review."""
        return any(w in squashed for w in self.cert_words) and not any(w in squashed for w in self.not_cert_words)

    def without_fillers(self, text: str) -> str:
        """Drop spoken fillers from the start, as long as something is left."""
        stripped = text.lstrip(" ,，、.。…~")
        changed = True
        while changed:
            changed = False
            for filler in self.fillers:
                if stripped.lower().startswith(filler) and len(stripped) > len(filler):
                    rest = stripped[len(filler):].lstrip(" ,，、.。…~")
                    if rest:
                        stripped, changed = rest, True
        return stripped

    def requests(self, text: str) -> bool:
        return contains_any(text, self.request_words)

    def negates(self, text: str) -> bool:
        return contains_any(text, self.negations)

    def looks_like_question(self, squashed: str) -> bool:
        """Question words outside the command questions: "人工客服在吗" asks for a person, but
        "重置的话勾过的还在吗" asks something (the hypothetical 的话 is a question word)."""
        for phrase in (*self.command_questions, "不是不是"):  # "不是不是，我还在第四步" asks nothing
            squashed = squashed.replace(phrase, " ")
        return any(_asks_with(w, squashed) for w in self.question_words) or _EITHER_OR.search(squashed) is not None \
            or any(w in squashed for w in self.pinyin_questions) \
            or _A_NOT.search(squashed) is not None or _ASKS_EN.match(squashed) is not None

    def thanks_for(self, squashed: str) -> bool:
        return any(word in squashed for word in self.thanks)

    def thanks_for_help(self, squashed: str) -> bool:
        """"谢谢你 help 我很多": thanks for help given, not "谢谢 help 我看看认证"."""
        return self.thanks_for(squashed) and any(word in squashed for word in self.helped)

    def asks_about_review_by_people(self, squashed: str) -> bool:
        """"人工审核一般几天": a question about a review done by people; "…帮我转人工" asks for one as well."""
        return (any(word in squashed for word in self.reviews_by_people) and self.looks_like_question(squashed)
                and not any(word in squashed for word in self.asks_for_person))

    def undoes(self, text: str) -> bool:
        """"取消掉", "怎么关": words that undo or ask about what they are said of."""
        return contains_any(text, self.undoing_words)


def _stickers(names: tuple[str, ...]) -> re.Pattern[str]:
    """WeChat's sticker codes as the client sends them in text: the name in square brackets ("[捂脸]")."""
    if not names:
        return re.compile(r"(?!)")
    return re.compile(rf"\[(?:{'|'.join(re.escape(n) for n in sorted(names, key=len, reverse=True))})\]", re.IGNORECASE)


def _spaced(word: str) -> str:
    """A word as a pattern that allows spaces between its characters ("哦 算了")."""
    return r"\s*".join(re.escape(char) for char in word)


def _opening(words: tuple[str, ...]) -> re.Pattern[str]:
    """One of ``words`` at the start, a particle perhaps, then a pause: a reply that opens with it."""
    if not words:
        return re.compile(r"(?!)")
    alternatives = "|".join(_spaced(w) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"^(?:{alternatives})[吧啊呀哈的]?(?:[，,。！!\s]+)", re.IGNORECASE)


def _retraction(words: tuple[str, ...], before_pause: tuple[str, ...],
                jokes: tuple[str, ...] = ()) -> re.Pattern[str]:
    """Where a message takes back what came before: split on it, the last part is what is meant."""
    parts = [_spaced(w) for w in sorted(words, key=len, reverse=True)]
    parts += [rf"{_spaced(w)}(?=[，,。…\s])" for w in sorted(before_pause, key=len, reverse=True)]
    parts += [rf"(?<![不没])(?<!不是)(?<!没有){_spaced(w)}(?![吧吗?？])" for w in sorted(jokes, key=len, reverse=True)]
    if not parts:
        return re.compile(r"(?!)")
    return re.compile(rf"(?:{'|'.join(parts)})[，,。…\s]*")
