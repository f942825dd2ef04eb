"""What kind of statement a message is, before which command it names.

"先别标完成，我还没弄好", "晚点我再提交认证", "点了下一步没反应" all name a command, and none of them
asks for it. Only an affirmative report ("X 好了") or request ("下一步") may change progress; a
negation, a plan or condition, or a problem report answers, asks or goes to the knowledge base. The
cue words live in data/understanding/context.yaml (``stance:``); the model learns the rest from the
examples in intents.yaml.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any


class UnderstandingDataError(ValueError):
    """A data file of the understanding step is malformed; the message names the file and key."""


def contains_any(text: str, words: tuple[str, ...]) -> bool:
    """Chinese words as substrings; Latin words only whole ("no" is not in "now")."""
    lowered = unicodedata.normalize("NFKC", text).lower()
    squashed = _SPACE.sub("", lowered)
    for word in words:
        if word.isascii():
            if re.search(rf"(?<![a-z']){re.escape(word)}(?![a-z'])", lowered):
                return True
        elif word in squashed:
            return True
    return False


AFFIRMATIVE, NEGATION, PLAN, PROBLEM = "affirmative", "negation", "plan", "problem"
# Readings that claim something happened or ask for a move: a negation, plan or problem blocks them.
# (uncheck, back, cancel, mute, human agree with a negation: "第五项还没弄好，取消一下" is an uncheck.)
AFFIRMATIVE_ONLY = frozenset(("done", "next", "check", "cert_submitted", "cert_passed", "start", "goto", "reset",
                              "human", "unmute"))
# A plan or a problem report blocks these as well ("页面上找不到返回", "晚点再退回去看看").
NOT_NOW = AFFIRMATIVE_ONLY | {"back", "uncheck", "unmute"}
_KEYS = ("negation", "not_negation", "plan", "condition", "problem", "ui", "done_elsewhere", "completion",
         "unfinished", "untick", "untick_named", "denial", "other_user", "hypothetical", "still", "failure", "hedge",
         "later_time", "turn", "under_way", "secondhand", "failure_denied", "untick_verbs", "also_words",
         "tick_verbs", "refused", "meant_instead")
# "等密钥弄好了再说下一步", "等认证过了再继续": waiting for something first is a plan.
_SPACE = re.compile(r"\s+")
_ALREADY = re.compile(r"(?<![不未并])已(?:经)?(?:[\u4e00-\u9fff])")  # 已提交, 已经开通: done (not 未/不)
_PARTS = re.compile(r"[，,。；;！!？?\s]+")
_HAPPENED = re.compile(r"[了过完的刚已]|终于|\b(?:did|done|was|were|have|has)\b|ed\b")
_NOT_DONE = re.compile(r"(?<![是有])[没未](?:有)?(?:[\u4e00-\u9fff])|(?<![是有了])[没未](?:有)?[呢啊呀哦]*\s*$"
                       r"|\b(?:not|never|havent|hasnt|didnt|dont|isnt|wasnt)\b|n't\b|\bnot? yet\b")
_MOVE_NAMED = re.compile(r"上一步|下一步|第\s*[\d一二三四五六]\s*步|回到|退回|返回|\bgo back\b|\bstep\s*\d")
WAIT_THEN = re.compile(r"等.{1,14}(?:了|完|好|过)?.{0,6}(?:再|我就|就)")
# "认证一过他就直接开始第四步": as soon as it passes, a plan; "资质一过就建了第三方平台" (了) tells what was done
_AS_SOON_AS = re.compile(r"一(?:过|通过|下来)(?:他|她|我们|我|你)?(?:就|马上|立刻)(?!是)(?![^，,。；;！!]*了)")


@dataclass(frozen=True)
class Cues:
    negation: tuple[str, ...] = ()
    not_negation: tuple[str, ...] = ()  # 没问题, 没毛病: negative words that affirm
    plan: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    problem: tuple[str, ...] = ()
    ui: tuple[str, ...] = ()  # 按钮, 页面, 点了: a command word next to these is a thing on screen
    done_elsewhere: tuple[str, ...] = ()  # 之前都弄完了: earlier steps were done outside the bot
    completion: tuple[str, ...] = ()  # 好了, 弄完了, 搞定, 通过了: "X 好了" ticks item X
    unfinished: tuple[str, ...] = ()  # 生成好了: a step towards the item, not the item (the key is not submitted)
    denial: tuple[str, ...] = ()  # 我没说…: the command named is what the user did NOT say
    untick: tuple[str, ...] = ()  # 别勾, 取消勾选: a negated item is unticked, not just left alone
    untick_named: tuple[str, ...] = ()  # 取消, 去掉: untick an item named in the same clause
    other_user: tuple[str, ...] = ()  # 上个客户, 另一个客户: about someone else's registration, not this one
    still: tuple[str, ...] = ()  # 还没通过: not yet, which is no failure
    failure: tuple[str, ...] = ()  # 失败, 驳回: a failure said outright, whatever else the message says
    failure_denied: tuple[str, ...] = ()  # 没失败, 不是失败: a failure word that says there was none
    untick_verbs: tuple[str, ...] = ()  # 取消勾, untick: a number next to one is an item (not 别勾: "don't tick yet")
    tick_verbs: tuple[str, ...] = ()  # 只勾, 帮我勾: "第三项还没弄 只勾1和2就行" asks to tick the numbers next to it
    also_words: tuple[str, ...] = ()  # 也是, too: "dev qualification done, permission sets too" reports the later item
    hypothetical: tuple[str, ...] = ()  # 要是卡住了: a problem that has not happened is a plan
    hedge: tuple[str, ...] = ()  # 应该, 好像: a report the user is not sure of
    secondhand: tuple[str, ...] = ()  # 不太清楚, 不确定: the user cannot vouch for what they report
    under_way: tuple[str, ...] = ()  # 审核中, 在审: a review still running (about the thing reported before it)
    later_time: tuple[str, ...] = ()  # 下午, 晚上: a plan when nothing in the message has happened (no 了/过/完)
    turn: tuple[str, ...] = ()  # 这回, 后来: where a story of a failure turns; what comes after is how it stands
    refused: tuple[str, ...] = ()  # 不要上一步, 别退回去: the move named is the one the user does not want
    meant_instead: tuple[str, ...] = ()  # 应该是, I mean: what comes after replaces what came before

    @classmethod
    def from_data(cls, data: Any, where: str) -> Cues:
        if data is None:
            return cls()
        if not isinstance(data, dict):
            raise UnderstandingDataError(f"{where}: stance must be a mapping of cue lists")
        lists: dict[str, tuple[str, ...]] = {}
        for key in _KEYS:
            value = data.get(key) or []
            if not isinstance(value, list):
                raise UnderstandingDataError(f"{where}: stance.{key} must be a list")
            lists[key] = tuple(str(w).strip().lower() if str(w).isascii() else str(w).replace(" ", "")
                               for w in value)
        return cls(**lists)

    def _affirming_removed(self, text: str) -> str:
        """The text without the negative words that affirm (没问题, 不错)."""
        for phrase in self.not_negation:
            text = text.replace(phrase, " ")
        return text

    def negated(self, text: str) -> bool:
        return contains_any(self._affirming_removed(text), self.negation)

    def not_done(self, text: str) -> bool:
        """A clause that says something was not done: a listed negation, or 没 before any verb ("压根没加进去")."""
        cleaned = self._affirming_removed(text)
        return contains_any(cleaned, self.negation) or _NOT_DONE.search(cleaned) is not None

    def stance(self, text: str) -> str:
        """affirmative | negation | plan | problem (a question is decided by the caller's word list)."""
        if contains_any(text, self.hypothetical) and contains_any(text, self.problem):
            return PLAN  # "后面要是卡住了再转人工": a problem that has not happened
        if contains_any(text, self.problem) or (contains_any(text, self.ui) and not self.completed(text)):
            return PROBLEM
        if self.negated(text):
            return NEGATION
        if contains_any(text, self.plan) or contains_any(text, self.condition) or WAIT_THEN.search(text) \
                or _AS_SOON_AS.search(text):
            return PLAN
        if any(contains_any(part, self.later_time) and not _HAPPENED.search(part) for part in _PARTS.split(text)):
            return PLAN  # "下午想回第四步把上传密钥重新交一遍", "我下午提交认证，交了你提醒我看结果哈"
        return AFFIRMATIVE

    @staticmethod
    def blocks(stance: str, intent: str) -> bool:
        """The statement's kind rules out acting on ``intent``."""
        if stance == NEGATION:
            return intent in AFFIRMATIVE_ONLY
        return stance in (PLAN, PROBLEM) and intent in NOT_NOW

    def refuses_move(self, text: str) -> bool:
        """"上一步 不对 不要上一步 我点错了": a move named only to be turned down (a negation does not rule out a
        move by itself: "密钥还没弄，退回去嘛" asks for it), unless a later clause names the move wanted instead
        ("不用退回第一步，退回第二步就行")."""
        parts = _PARTS.split(text)
        turned_down = [at for at, part in enumerate(parts) if contains_any(part, self.refused)]
        if not turned_down:
            return False
        return not any(_MOVE_NAMED.search(part) for part in parts[turned_down[-1] + 1:])

    def completed(self, text: str) -> bool:
        """"X 好了", "已确认发布": a report that something is done."""
        return contains_any(text, self.completion) or _ALREADY.search(text) is not None

    def not_finished(self, text: str) -> bool:
        return contains_any(text, self.unfinished)

    def names_problem(self, text: str) -> bool:
        """A problem word itself ("点不了", "是灰的"), not a UI word alone ("页面显示认证中"), nor one denied
        ("没有问题", "没报错": the words that affirm, not_negation, are taken out first)."""
        return contains_any(self._affirming_removed(text), self.problem)

    def pending(self, text: str) -> bool:
        return contains_any(text, self.still)

    def still_under_way(self, text: str) -> bool:
        """Waiting on someone else's review ("还在审着呢", "等审核中"), whatever it names."""
        return contains_any(text, self.under_way)

    def elsewhere_user(self, text: str) -> bool:
        return contains_any(text, self.other_user)

    def hearsay(self, text: str) -> bool:
        return contains_any(text, self.secondhand)

    def hedged(self, text: str) -> bool:
        return contains_any(text, self.hedge)

    def failed(self, text: str) -> bool:
        """A failure word, said or denied."""
        return contains_any(text, self.failure)

    def untick_verb(self, text: str) -> bool:
        return contains_any(text, self.untick_verbs)

    def untick_word(self, text: str) -> bool:
        """取消, 去掉 (not 别勾: "don't tick yet" unticks nothing that was never ticked)."""
        return self.untick_verb(text) or contains_any(text, self.untick_named)

    def tick_verb(self, text: str) -> bool:
        return contains_any(text, self.tick_verbs)

    def also(self, text: str) -> bool:
        return contains_any(text, self.also_words)

    def failure_said(self, text: str) -> bool:
        """A failure said outright ("认证失败了"), not one denied ("认证没通过也没失败 还在转圈圈")."""
        cleaned = text.replace(" ", "")
        for phrase in self.failure_denied:
            cleaned = cleaned.replace(phrase, " ")
        return contains_any(cleaned, self.failure)

    def denies(self, text: str) -> bool:
        return contains_any(text, self.denial)

    def unticks(self, text: str, names_an_item: bool = False) -> bool:
        return contains_any(text, self.untick) or (names_an_item and contains_any(text, self.untick_named))

    def elsewhere(self, text: str) -> bool:
        return contains_any(text, self.done_elsewhere)
