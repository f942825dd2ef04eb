"""(text, context) -> Reading: pending questions first, then rules for what needs no model, then the
model, the slots and the context policy."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol

from bot.understand import policy, stance
from bot.understand.examples import IntentSpec, training_pairs
from bot.understand.item_reports import ItemReports, split_quote
from bot.understand.items import AMENDS, ItemNames, clauses, correction, listed_lines, named_items, word_spaced
from bot.understand.lexicon import ContextWords, contains_any, squash
from bot.understand.model import IntentModel
from bot.understand.reading import STATE_CHANGING, Context, Reading
from bot.understand.script import simplified
from bot.understand.slots import find_items, find_step, mentions_items, mentions_step, number, step_mentions
from bot.understand.statement_gate import StatementGate

MAX_COMMAND_CHARS = 60  # longer messages are questions or pasted logs, never commands ...
MAX_STORY_CHARS = 200  # ... unless they name checklist items as done ("折腾了一下午，开发资料终于填好了")
STORY_POINT = 0.6  # a clause's reading must be this sure to be a story's point
# what a story may report: its point is a report, never a reset, a jump or a request for a person
STORY_INTENTS = frozenset(("done", "next", "check", "cert_submitted", "cert_passed", "cert_failed"))
_ERROR_CODE = re.compile(r"(?<!\d)(?:4\d{4}|6\d{4}|8\d{4}|-1)(?!\d)")
_DIGIT = re.compile(r"^\s*(\d{1,2})\s*$")
_BARE_NUMBER = re.compile(r"^\s*(\d{1,2}|[一二两三四五六七八九十])\s*$")
# "先帮我看下进度", "先给我跳回第四步": what the user asks for now, whatever they plan for later
_FIRST_DO = re.compile(r"^(?:这几天|这两天|最近|今天|那|你|麻烦)?先(?:帮我|给我|帮忙)?")
_THEN_SEE = re.compile(r"(?:再说|再看|再讲)[吧啊呀哈]?$")  # "先看下进度再说": the first thing is now
_SHORT_MOVE = 6  # "退回去嘛", "回第二步吧": a clause this short that reads as a move asks for it
_MOVE_DONE = re.compile(r"[了错过]")
_NOW_REQUESTS = frozenset(("status", "details", "goto", "back", "help", "human", "mute", "unmute",
                           "appid_where"))
_MISMATCH = re.compile(r"不是|不对|不一样|不一致")
_REPORTS = frozenset(("done", "next", "check", "cert_submitted", "cert_passed"))
_QUOTED_REQUEST = re.compile(r"(?:请|请帮我|帮我|麻烦|查看|看下|看一下|发送|发|输入|回复|please)\s*"
                             r"[“\"「『](?P<command>[^”\"」』]{1,8})[”\"」』]")
_QUOTE_ENDS_CLAUSE = re.compile(r"\s*(?:[吧啊呀哈]\s*)?(?:[，,。.!！;；\s]|$)")  # nothing said of the quote after it
_QUOTABLE = frozenset({"mute", "unmute", "status", "details", "help", "human"})  # none of them moves a step
_ASKS_BACK = re.compile(r"[吗吧?？]$")
_QUOTED_PHRASE = re.compile(r"[“\"「『][^”\"」』]{1,10}[”\"」』]")
# The bot's own prompt typed back: "回复是", "回复「完成」" mean "是", "完成".
_ECHOED_PROMPT = re.compile(r"^(?:回复|reply|选择|选)\s*[「“\"']?(?P<said>[^」”\"']{1,12})[」”\"']?$", re.IGNORECASE)
# Replies to "解决了吗？1 已解决 / 2 还不行".
FEEDBACK_YES = {"1": "confirm", "一": "confirm"}
FEEDBACK_NO = {"2": "cancel", "二": "cancel"}
_FEEDBACK_LEAD = re.compile(r"^\s*([12一二])\s*[，,。.、：:；;]")
# "嗯 第二个", "选1": the option by its place
_FEEDBACK_NAMED = re.compile(r"^(?:选|第|选第)([12一二])(?:个|项|条|号)?$")
_ANY_NUMBER = re.compile(r"[\d一二两三四五六七八九十]")
# "更正一下：" takes back what came before it
_AMENDMENT = re.compile(rf"{AMENDS}一下[：:，,。\s]*|{AMENDS}[：:]\s*")
_AMENDMENT_READ_ALONE = 6  # shorter, it leans on what it amends ("勾选3，更正一下，是4"): items.correction reads it
# A tick asked for later, or not at all ("第2项…再勾", "别把5也勾上"): one character says so, 不错 too (the safe way).
_HELD_BACK = re.compile(r"[别不没未待再等]")
_WAITS_FOR = re.compile(r"等(?!着|等|一?下|会)")  # "等审核结果出来，勾第2项" waits for something ("行，等着" does not)
# the message asks ("…你帮我勾上第3项？", "1和2好了不？还没吧"), whatever its clauses say
_ASKED = re.compile(r"[？?]\s*$|[吗么]\s*$|(?:好了不|了没)(?=[？?，,\s]|$)")
CONFIRMING = ("confirm_reading", "confirm_reset")
# Labels a reply to "解决了吗？" may carry and still be an answer to it.
_FEEDBACK_LABELS = {"confirm", "cancel", "done", "smalltalk:ack", "smalltalk:thanks", "question", "human"}
_EMOJI_CODE = re.compile(r"\[[^\]\[]{1,6}\]")
_LONE_DIGIT = re.compile(r"(?<![\d.])\d(?![\d.])")
_PARTICLES = re.compile(r"(?<=.)[吧啊呀哈呢嘛哦喔]+$")  # "2吧" is a 2
# Readings the statement gate may doubt: not a button, a yes to the bot's own question, or a taught lesson.
_GATED_SOURCES = frozenset(("model", "rule"))
# ... nor a failed certification: "还没通过，被驳回了" is told in the very words that deny other reports.
_GATED_INTENTS = STATE_CHANGING - {"cert_failed"}
_PUNCTUATION = re.compile(r"[\s,，.。!！?？~～、…]+")


class Knowledge(Protocol):
    """What understanding needs of the knowledge base (bot.faq.KnowledgeBase)."""

    topics: dict[str, Any]

    def search(self, text: str, step: int | None = None) -> Any: ...


def question_phrasings(knowledge: Knowledge | None) -> list[str]:
    """How users ask about each topic: the knowledge base teaches the model what a question looks like."""
    if knowledge is None:
        return []
    out: list[str] = []
    for topic in knowledge.topics.values():
        out.append(topic.title_zh)
        out.extend(topic.phrasings)
    return out


class Understander:
    """Reads messages for one process; build it once (training takes about a second)."""

    def __init__(self, specs: Sequence[IntentSpec], words: ContextWords, knowledge: Knowledge | None,
                 taught: Sequence[tuple[str, str]] = (), item_names: ItemNames | None = None,
                 closing: dict[int, frozenset[int]] | None = None,
                 statements: Sequence[tuple[str, Context, bool]] = ()) -> None:
        self.words = words
        self.items = ItemReports(words, item_names or {}, closing or {})
        self.knowledge = knowledge
        self.taught = {squash(text): label for text, label in taught}
        self.answers = {spec.name: spec.answer for spec in specs if spec.answer}  # commands answered from data
        names = [name for name, _ in words.step_names if not name.isascii()]
        self.model = IntentModel(training_pairs(specs, question_phrasings(knowledge),
                                                [(t, lbl) for t, lbl in taught if not lbl.startswith("topic:")],
                                                step_names=names))
        self.statements = StatementGate(statements, specs)

    # ------------------------------------------------------------------ entry points
    def read(self, text: str, ctx: Context) -> Reading:
        text = simplified(text)
        reading = self._read_message(text, ctx)
        if (reading.intent in _GATED_INTENTS and reading.source in _GATED_SOURCES and not _corrects_items(reading)
                and self.statements.doubts(text, ctx)):
            # the rules found a command, the statement gate doubts the user made one: ask first
            return policy.clarify("statement", proposal=reading, confidence=reading.confidence, asked_by="")
        return reading

    def _read_message(self, text: str, ctx: Context) -> Reading:
        text = self.words.time_told_apart(self.words.without_emoticons(text))
        text = self.words.corrected(word_spaced(text) or text)
        if "\n" in text.strip() and split_quote(text) is None and not _ERROR_CODE.search(text):
            text = listed_lines(text) or text
        retracted = self.words.retraction.split(text)
        if len(retracted) > 1 and len(squash(retracted[0])) >= 2:
            # "不用提醒了 哦 算了还是提醒吧", "上一步 额算了 不用回去了": the last thought is what is meant
            meant = retracted[-1].strip(" ，,。.…吧")
            if len(squash(meant)) < 2:  # "会把我前面弄的都清掉吗？那算了算了": no to what was asked
                if ctx.pending is not None:
                    return _no(ctx, 0.9)
                return Reading("smalltalk", 0.9, kind="ack", source="rule")
            text = meant
        amended = _AMENDMENT.split(text)
        if len(amended) > 1 and len(squash(amended[-1])) >= _AMENDMENT_READ_ALONE \
                and self.words.cues.stance(amended[0]) == stance.NEGATION:
            # "第5项不要勾……更正一下：…第5项的开发资料其实都填完了，所以第5项可以勾": a refusal amended is what is
            # meant (but "第1 2 3项好了，更正一下，第3项还没好" keeps its reports: the whole is read)
            text = amended[-1]
        quoted = self.items.quoted(text, ctx)
        if quoted is not None:
            return quoted
        reading = self._read(text, ctx)
        if ctx.pending is None and 1 <= ctx.step <= 6 and _unsure(reading):
            point = self._story_point(self.words.without_fillers(_own_words(text)), ctx)
            if point is not None:
                return point
        return reading

    def _command_quoted(self, text: str, ctx: Context) -> Reading | None:
        """"请「恢复提醒」，我们本周会推进第5步", "查看「详情」": a command copied from the help, asked for by name.
        Only commands that leave progress alone (reminders, views, a person): a quoted 「完成」 or 「下一步」 is as
        often the console's button ("按了「下一步」没反应"), and a quote with no request before it is a mention
        ("刚才那句“别提醒了”是发错群了")."""
        asked = _QUOTED_REQUEST.search(text)
        if asked is None or not _QUOTE_ENDS_CLAUSE.match(text[asked.end():]) \
                or self.words.undoes(text[:asked.start()] + text[asked.end():]) \
                or self.words.looks_like_question(squash(text)) \
                or any(self.words.cues.completed(c) for c in clauses(text[asked.end():])):
            return None  # "请“静音”取消掉", "麻烦「恢复提醒」这个功能关掉", "…，第5步我们做完了": not the command alone
        reading = self._read(asked["command"], replace(ctx, pending=None))
        if reading.intent in _QUOTABLE and reading.confidence >= policy.ACT:
            return replace(reading, source="rule")
        return None

    def _request_now(self, text: str, ctx: Context) -> Reading | None:
        """"秘钥等会儿再生成，先帮我看下这客户进度": the plan waits, the request with 先 is for now."""
        for part in clauses(text):
            now = _THEN_SEE.sub("", _FIRST_DO.sub("", part.strip(), count=1))
            if now == part.strip() or len(squash(now)) < 2 or self.words.cues.stance(now) == stance.PLAN:
                continue
            reading = self._read(now, replace(ctx, pending=None))
            ticks = reading.intent in ("check", "uncheck") and mentions_items(now)  # "…，先标一下第1项"
            if (reading.intent in _NOW_REQUESTS or ticks) and reading.confidence >= policy.ACT:
                return replace(reading, source="rule")
        return None

    def _request_instead(self, text: str, ctx: Context) -> Reading | None:
        """"我不是要转人工 刚才点错了 帮我看看进度就行": what is denied is not wanted; the request after it is."""
        parts = [c for c in clauses(text) if len(squash(c)) >= 2]
        if len(parts) < 2 or self.words.cues.stance(parts[-1]) != stance.AFFIRMATIVE:
            return None
        reading = self._read(parts[-1], replace(ctx, pending=None))
        enough = policy.ACT if reading.intent in STATE_CHANGING else policy.NOT_UNDERSTOOD
        # "…上传密钥还没弄，退回去嘛": a short move at the end is a request without 帮我 or 请
        moves = (reading.intent in ("back", "goto") and len(squash(parts[-1])) <= _SHORT_MOVE
                 and not _MOVE_DONE.search(parts[-1]))  # "…，退回去了", "上一步点错了": what happened, not a request
        if (self.words.requests(parts[-1]) or moves) and reading.intent in _NOW_REQUESTS \
                and reading.confidence >= enough:
            return replace(reading, source="rule")
        return None

    def _pass_not_failure(self, text: str, ctx: Context) -> Reading | None:
        """"不是失败 是我看错了，其实认证已经通过了", "it didn't fail, it was just slow. it's passed now"."""
        cues = self.words.cues
        parts = clauses(text)
        if len(parts) < 2 or not any(cues.failed(c) and cues.not_done(c) for c in parts):
            return None
        for part in parts:
            if cues.failed(part) or cues.not_done(part):
                continue
            reading = self._read(part, replace(ctx, pending=None))
            if reading.intent == "cert_passed" and reading.confidence >= STORY_POINT:
                return replace(reading, kind="failure_denied", source="rule")
        return None

    def _not_yet(self, text: str) -> bool:
        """The negation says "not done yet" (还没, 没弄), not "not this one" (不是我登录的这个)."""
        cues = self.words.cues
        return cues.pending(text) or any(cues.not_done(c) and not _MISMATCH.search(c) for c in clauses(text))

    def _after_turn(self, parts: list[str]) -> list[str] | None:
        """The clauses after the last one that says something was not done or failed, when a turn (这回, 后来,
        finally) is among them; None when the story has no trouble, or no turn after it."""
        cues = self.words.cues

        def troubled(part: str) -> bool:
            return cues.not_done(part) or cues.failed(part) or cues.pending(part) or cues.stance(part) == stance.PROBLEM

        last = max((at for at, part in enumerate(parts) if troubled(part)), default=None)
        if last is None or not any(contains_any(part, cues.turn) for part in parts[last + 1:]):
            return None
        return parts[last + 1:]

    def _story_point(self, text: str, ctx: Context) -> Reading | None:
        """A story the whole of which the model cannot place ("周末加班把测试弄完了，…，应该可以下一步了吧"):
        the one thing its clauses report or ask for, when exactly one confident change of state is in
        them and nothing in the message negates, plans or asks."""
        parts = [c for c in clauses(text) if len(squash(c)) >= 2]
        if not 2 <= len(parts) <= 8 or len(text) > MAX_STORY_CHARS or "\n" in text.strip():
            return None
        # "…开发小程序终于绑定上了，密钥也提交了，下一步是测试吧": the story's reports, then on to the next step
        asks_next = self.words.asks_next(squash(parts[-1])) and not mentions_items(parts[-1])
        if asks_next:
            text = "，".join(parts[:-1])  # what it asks is asked of the bot, not of the story
        cues = self.words.cues
        turned = self._after_turn(parts)
        if turned is not None:  # "第一回检测没过，…，这回过了": the failure is history, how it stands is after the turn
            parts, text = turned, "，".join(turned)
        whole = cues.stance(self._without_requests(text))
        if whole == stance.PLAN or self.words.looks_like_question(squash(text)) \
                or self.words.asks_status(squash(text)) or any(cues.stance(part) == stance.PLAN for part in parts):
            return None
        # 不要, 不对, "还在审着呢", "同事说应该好了": only a failure report may say so ("认证失败了 说没绑腾讯云")
        denied = whole == stance.NEGATION or self.words.negates(text) or cues.hearsay(text) or any(
            cues.stance(part) == stance.NEGATION or cues.pending(part) or cues.not_done(part)
            or (cues.hedged(part) and cues.completed(part)) for part in parts)
        found: list[Reading] = []
        failed_at = None
        for at, part in enumerate(parts):
            reading = self._read(part, ctx)
            if reading.intent in STORY_INTENTS and reading.confidence >= STORY_POINT:
                found.append(reading)
                if reading.intent == "cert_failed" and failed_at is None and not cues.not_done(part):
                    failed_at = at
        if asks_next and found and found[-1].intent not in ("done", "next") \
                and all(r.intent in ("check", "done", "next") for r in found):
            found.append(Reading("next", STORY_POINT))
        if not found or (failed_at is None and cues.names_problem(parts[-1])):
            return None  # "开发资料都填了 下一步按钮点不了": a story that ends in a problem asks about it
        if denied and (failed_at is None or any(cues.not_done(part) for part in parts[:failed_at + 1])) \
                and any(r.intent == "cert_failed" for r in found):
            return None  # "好像不是认证失败，页面上写的是认证中": the failure is what is denied
        first = found[-1]
        def effect(r: Reading) -> tuple[Any, ...]:
            return policy.SAME_EFFECT.get(r.intent, r.intent), r.step, r.items

        same = all(effect(r) == effect(first) for r in found)
        if not same and first.intent in ("done", "next") and all(r.intent in ("check", "done", "next") for r in found):
            same = True  # "审核通过了，spAppId已改，第一步收尾 ok next": the items reported, then the step itself
        if not same or ((whole == stance.PROBLEM or denied) and first.intent != "cert_failed"):
            return None
        return replace(first, kind=first.kind or "story", source="rule")

    def _read(self, text: str, ctx: Context) -> Reading:
        text = _own_words(text)
        if ctx.pending not in CONFIRMING:  # while a yes/no is asked, "嗯 提交了" begins with its answer
            text = self.words.without_fillers(text)
        echoed = _ECHOED_PROMPT.match(text)
        if echoed:
            text = echoed["said"]
        squashed = squash(text)
        if not squashed:
            return policy.clarify("empty")
        if _bare(squashed) in self.words.yes_words:  # "中": yes to what was asked, else an acknowledgement
            if ctx.pending in (*CONFIRMING, "faq_feedback"):
                return _yes(ctx, 0.9)
            return Reading("smalltalk", 0.9, kind="ack", source="rule")
        if _bare(squashed) in self.words.no_words:  # "没": no to what was asked, else nothing to act on
            if ctx.pending in (*CONFIRMING, "faq_feedback"):
                return _no(ctx, 0.9)
            return Reading("smalltalk", 0.9, kind="ack", source="rule")
        pending = self._pending(text, squashed, ctx)
        if pending is not None:
            return pending
        lesson = self.taught.get(squashed)
        if lesson is not None and not lesson.startswith("topic:"):
            return self._lesson(text, squashed, lesson, ctx)  # staff taught these very words: before every rule
        if (named := self._command_quoted(text, ctx)) is not None:
            return named
        kind = self.words.cues.stance(self._without_requests(text))
        if kind == stance.PLAN and (asked := self._request_now(text, ctx)) is not None:
            return asked
        if kind == stance.NEGATION and (passed := self._pass_not_failure(text, ctx)) is not None:
            return passed
        if kind == stance.NEGATION and (instead := self._request_instead(text, ctx)) is not None:
            return instead
        if self.words.asks_status(squashed) and len(text) <= MAX_COMMAND_CHARS and not _ERROR_CODE.search(text):
            # "刚回上一步看了一眼 现在到底在第几步": where they are, whatever step word it also names
            return Reading("status", 0.9, source="rule")
        if (asked := self._tick_request_last(text, ctx)) is not None:
            return asked
        if len(text) <= MAX_STORY_CHARS and "\n" not in text.strip() and not _ERROR_CODE.search(text):
            # a story may bury its report in it
            by_rule = self.items.reading(text, squashed, ctx, kind, self.read, self.question)
            if by_rule is not None:
                return by_rule
        if len(text) > MAX_COMMAND_CHARS or "\n" in text.strip() or _ERROR_CODE.search(text):
            if kind in (stance.NEGATION, stance.PLAN) and not self._asks_now(squashed) \
                    and not _ERROR_CODE.search(text):
                # "wait don't mark it done yet, still binding the dev miniprogram": long, and asks nothing
                return Reading("smalltalk", 0.5, kind="not_yet" if kind == stance.NEGATION else "later",
                               source="rule")
            return self.question(text, ctx)
        digit = _BARE_NUMBER.match(text)
        if digit and ctx.item_count:
            # a bare "3" (or "三") answers nothing the bot asked: perhaps an item, but ask before ticking it
            guess = Reading("check", 0.5, items=(number(digit[1]),))
            return policy.clarify("unsure", proposal=guess, confidence=0.5)
        said = _without_mentions(text)  # "刚才那句“别提醒了”是发错群了，麻烦恢复": a command quoted is not given
        ranked = self._ranked(squash(said), said)
        label, confidence = ranked[0]
        margin = confidence - (ranked[1][1] if len(ranked) > 1 else 0.0)
        alternatives = tuple(ranked[1:])
        intent, _, sub = label.partition(":")
        if intent in policy.STATE_CHANGING and self.words.cues.denies(text):
            if self.words.looks_like_question(squashed):
                return self.question(text, ctx, confidence)  # "我没说要回第三步啊 我是问secret在哪看"
            return policy.clarify("unsure", confidence=confidence)  # "我没说别提醒啊": not what it names
        if kind == stance.NEGATION and intent == "cert_passed" and not self.words.cues.pending(text) \
                and dict(ranked).get("cert_failed", 0.0) >= policy.NOT_UNDERSTOOD:
            # "认证没通过，不是通过了": a pass denied is a failure
            failed = Reading("cert_failed", confidence + dict(ranked)["cert_failed"], source="rule")
            return policy.resolve(failed, ctx, squashed, self.words)
        if intent == "cert_failed" and self.words.cues.pending(text) and not self.words.cues.failure_said(text) \
                and not self.words.looks_like_question(squashed):
            # "认证还没通过": still under way, which is no failure (nothing changes; the bot waits with them)
            return Reading("smalltalk", confidence, kind="not_yet", alternatives=alternatives, source="rule")
        if intent == "check" and kind in (stance.NEGATION, stance.PLAN) and not mentions_step(text) \
                and (beside := self._ticks_beside_holds(text, ctx)) is not None:
            return beside
        if stance.Cues.blocks(kind, intent) or (intent == "uncheck" and kind == stance.NEGATION
                                                and not find_items(text, ctx.item_count)) \
                or (intent in ("back", "goto") and self.words.cues.refuses_move(text)):
            return self._not_affirmative(text, ctx, kind, confidence, alternatives)
        if intent in _REPORTS and self.words.cues.hearsay(text) and self.words.cues.completed(text) \
                and not self.words.looks_like_question(squashed):
            # "同事说第一步第二步都弄好了 他今天请假我也不太清楚": a report the user doubts is asked about
            return policy.clarify("unsure", confidence=confidence, alternatives=alternatives)
        if kind == stance.PROBLEM and intent not in ("question", "cert_failed", "human", "mute", "unmute"):
            return self.question(text, ctx, confidence)  # "搞错了 不是认证失败 是微搭页面打不开"
        if kind in (stance.PLAN, stance.NEGATION) and intent in ("question", "help", "human", "clarify", "status") \
                and not self._asks_now(squashed) and (kind == stance.PLAN or self._not_yet(text)):
            # "还没弄好，晚点再说" — but "绑的腾讯云账号不是我现在登录的这个" is a problem, asked about
            return Reading("smalltalk", confidence, kind="later", alternatives=alternatives, source="rule")
        if intent == "help" and self.words.thanks_for_help(squashed):
            return Reading("smalltalk", confidence, kind="thanks", source="rule")  # "谢谢你 help 我很多"
        if intent == "human" and self.words.asks_about_review_by_people(squashed):
            return self.question(text, ctx, confidence)  # "人工审核一般几天": a review by people, asked about
        if intent == "question" or (intent in policy.STATE_CHANGING and self._asks(text, squashed, ranked)):
            return self.question(text, ctx, confidence if intent == "question" else 1 - confidence)
        if confidence < policy.NOT_UNDERSTOOD:
            if self.words.looks_like_question(squashed):
                return self.question(text, ctx, confidence)
            if kind == stance.PLAN:  # "等下班了再去提交认证凭证哈": a plan, whatever else the model makes of it
                return Reading("smalltalk", confidence, kind="later", alternatives=alternatives, source="rule")
            found = self._search(text, ctx)
            if found is not None and found.confident:
                return self.question(text, ctx, found=found)
            return self._settled(policy.clarify("unknown", confidence=confidence, alternatives=alternatives), kind,
                                 text, ctx)
        if label in self.answers:
            if confidence < policy.ACT or margin < policy.MARGIN:  # not sure: the knowledge base may know better
                return self.question(text, ctx, confidence)
            return Reading(label, confidence, answer=self.answers[label], alternatives=alternatives,
                           source="model")
        if intent in ("confirm", "cancel"):
            # 是 / 嗯 / 不是 with nothing asked: an acknowledgement, nothing to act on
            return Reading("smalltalk", confidence, kind="ack", alternatives=alternatives)
        step, rest = find_step(text, self.words)
        if intent in ("done", "next") and mentions_items(rest):
            intent = "check"  # "第一项弄好了": an item, not the whole step
        elif intent in ("done", "next") and step is None and len(text) <= 12 and _LONE_DIGIT.search(text) \
                and "步" not in text:
            # "done 2": step 2 or item 2? ask, naming the item
            guess = Reading("check", 0.5, items=find_items(rest, ctx.item_count))
            return policy.clarify("unsure", proposal=guess, confidence=confidence, asked_by="")
        if intent in ("check", "uncheck") and step is not None and step != ctx.step and mentions_items(rest):
            return policy.clarify("unsure", confidence=confidence)  # "第3步第2项好了" on step 2: which is meant?
        if intent == "goto" and step == ctx.step and step != policy.CERT_STEP and self.words.cues.completed(text) \
                and kind == stance.AFFIRMATIVE and not self.words.looks_like_question(squashed):
            intent = "done"  # "step 2 settle liao" on step 2: the step reported, not a move to it
        reading = Reading(intent, confidence, step=step if intent in ("goto", "done", "next") else None,
                          items=self._items_said(rest, ctx, intent) if intent in ("check", "uncheck") else (),
                          kind=sub or None, alternatives=alternatives,
                          source="model")
        if intent == "check" and ctx.item_count and len(reading.items) == ctx.item_count \
                and self.words.requests_next(squash(clauses(text)[-1])) and kind == stance.AFFIRMATIVE:
            reading = replace(reading, intent="next", items=())  # "第2步3项已全部完成，进入下一步": every item, then on
        if intent in ("back", "next") and len({s for _, s in step_mentions(text)}) == 1:
            # "上一步点错了，我其实还在第五步", "不是上一步 我要回第一步": the step named is where the user means to be
            named_step = step_mentions(text)[0][1]
            reported = intent == "next" and named_step == ctx.step and self.words.cues.completed(text)
            if named_step != ctx.step + (1 if intent == "next" else -1) and not reported:  # "第4步完成了 下一步"
                reading = replace(reading, intent="goto", step=named_step, kind="correction")
        if intent == "goto" and step == ctx.step == policy.CERT_STEP and self.words.names_step_act(text, step) \
                and self.words.cues.completed(text) and kind == stance.AFFIRMATIVE:
            # "我单位已于今日提交服务商认证凭证": the step named by its act, reported done, not a move to it
            reading = replace(reading, intent="cert_submitted", step=None, kind="step_act")
        if intent == "goto" and step is not None and self.words.cues.elsewhere(text):
            # "第一步的东西我之前都弄完了，直接跳到第二步": the steps before were done outside the bot
            reading = replace(reading, kind="done_before")
        return self._settled(policy.gate(policy.resolve(reading, ctx, squashed, self.words), margin), kind, text,
                             ctx)

    def _items_said(self, text: str, ctx: Context, intent: str) -> tuple[int, ...]:
        """The items a tick names, less those only named in a clause that says they are not done yet
        ("1-5都好了，6还在审核": 1 to 5)."""
        items = find_items(text, ctx.item_count)
        if intent != "check" or len(clauses(text)) < 2:
            return items
        said, held, _ = self._items_by_clause(text, ctx)
        return tuple(n for n in items if n not in held - said) or items

    def _items_by_clause(self, text: str, ctx: Context) -> tuple[set[int], set[int], bool]:
        """(numbered items a clause reports done or asks to tick, numbered items a clause holds back: not done,
        waiting, planned; whether a clause that names nothing takes back the report before it: "1和2好了，不代表能
        勾", "第2项好了是骗你的，没好")."""
        cues = self.words.cues
        said: set[int] = set()
        held: set[int] = set()
        last_said = taken_back = False
        for part in clauses(text):
            named = set(find_items(part, ctx.item_count))
            if named and not _ANY_NUMBER.search(part) and named_items(squash(part), ctx.step, self.items.item_names):
                named = set()  # "权限集其实都勾好了": 都勾 is all of the permission sets, not every item
            holds = cues.not_done(part) or cues.pending(part) or cues.still_under_way(part) \
                or cues.stance(part) in (stance.NEGATION, stance.PLAN)
            if not named and not named_items(squash(part), ctx.step, self.items.item_names):
                taken_back = taken_back or (holds and last_said)
                continue
            last_said = False
            if holds:
                held |= named
            elif (cues.completed(part) or "勾" in part or cues.tick_verb(part)) and not cues.untick_verb(part) \
                    and not cues.hedged(part) and not cues.elsewhere_user(part) \
                    and not self.words.looks_like_question(squash(part)):
                said |= named
                last_said = True
        return said, held, taken_back

    def _tick_vetoed(self, text: str, ctx: Context) -> bool:
        """What rules out reading numbered ticks clause by clause: a correction ("勾选3 nvm I mean 4", read as one
        elsewhere), hearsay, a question ("…你帮我勾上第3项？"), a condition ("如果认证过了，就勾第3项"), a clause that
        waits or plans and names nothing ("等审核结果出来，勾第2项")."""
        cues = self.words.cues
        if correction(text) is not None or contains_any(text, cues.meant_instead) or cues.hearsay(text) \
                or _ASKED.search(text.strip()) or contains_any(text, cues.condition + cues.hypothetical):
            return True
        return any(not mentions_items(part) and (_WAITS_FOR.match(part.strip()) is not None or (
            cues.stance(part) == stance.PLAN and not named_items(squash(part), ctx.step, self.items.item_names)))
            for part in clauses(text)[:-1])  # (but "权限集需待领导审批后方可勾选" plans for the item it names)

    def _tick_request_last(self, text: str, ctx: Context) -> Reading | None:
        """"…权限还没勾. 先 check 1 2 3", "…请先勾选前三项": a story that ends asking to tick numbered items asks
        for those (and for the numbered ones its clauses report done: "2和3好了，勾一下1"), not for the items its
        story names."""
        parts = [c for c in clauses(text) if len(squash(c)) >= 2]
        if len(parts) < 2 or not ctx.item_count or self._tick_vetoed(text, ctx):
            return None
        last = parts[-1]
        cues = self.words.cues
        asks = ("勾" in last or cues.tick_verb(last) or contains_any(last, ("check", "tick"))) \
            and cues.stance(last) == stance.AFFIRMATIVE and not _HELD_BACK.search(last) and not cues.pending(last) \
            and not cues.untick_verb(text) and not cues.unticks(text) and cues.stance(text) != stance.PROBLEM
        items = find_items(last, ctx.item_count)
        if not asks or not items or not _ANY_NUMBER.search(last) or mentions_step(last) \
                or not all(1 <= n <= ctx.item_count for n in find_items(text, 20)) \
                or self.words.looks_like_question(squash(last)):
            return None  # ("18 30 31 49 都勾上了" names permission sets, "第2项…再勾" plans, "别把5也勾上" refuses)
        said, held, _ = self._items_by_clause(text, ctx)
        return Reading("check", 0.9, items=tuple(sorted(set(items) | (said - held))), kind="named_item",
                       source="rule")

    def _ticks_beside_holds(self, text: str, ctx: Context) -> Reading | None:
        """"第1–3项已完成，请勾选；第4项预计明天配置，暂不勾", "勾1和2，3还没弄": the items reported or asked for,
        in a message whose other clauses hold items back."""
        if len(clauses(text)) < 2 or self._tick_vetoed(text, ctx):
            return None
        said, held, taken_back = self._items_by_clause(text, ctx)
        said -= held
        if taken_back or not said or not all(1 <= n <= ctx.item_count for n in said):
            return None
        return Reading("check", 0.9, items=tuple(sorted(said)), kind="named_item", source="rule")

    def _lesson(self, text: str, squashed: str, label: str, ctx: Context) -> Reading:
        """What staff taught for these exact words, with the step or items the words name."""
        intent, _, sub = label.partition(":")
        if intent == "question":
            return self.question(text, ctx)
        if label in self.answers:
            return Reading(label, 1.0, answer=self.answers[label], source="taught")
        if intent in ("confirm", "cancel"):  # a yes or no with nothing asked: nothing to act on
            return Reading("smalltalk", 1.0, kind="ack", source="taught")
        step, rest = find_step(text, self.words)
        items: tuple[int, ...] = ()
        if intent in ("check", "uncheck"):  # by number, else by name ("开发资料那项")
            items = find_items(rest, ctx.item_count) or named_items(squash(rest), ctx.step, self.items.item_names)
        reading = Reading(intent, 1.0, step=step if intent in ("goto", "done", "next") else None, items=items,
                          kind=sub or None, source="taught")
        return policy.resolve(reading, ctx, squashed, self.words)

    def _settled(self, reading: Reading, kind: str, text: str, ctx: Context) -> Reading:
        """A guess the bot would ask about, in a message that plans or says "not yet" or thanks: nothing to ask
        ("先不开始，合同签完再启动", "全部搞定啦 这几天麻烦你了 谢谢"); a problem the context found ("失败了" on step
        5) is looked up."""
        if reading.intent == "question" and reading.search is None:
            return self.question(text, ctx, reading.confidence)
        if reading.intent != "clarify" or reading.kind not in ("unsure", "unknown"):
            return reading
        if kind == stance.PLAN or (kind == stance.NEGATION and self._not_yet(text)):
            return Reading("smalltalk", reading.confidence, kind="later" if kind == stance.PLAN else "not_yet",
                           alternatives=reading.alternatives, source="rule")
        if self.words.thanks_for(squash(text)):
            return Reading("smalltalk", reading.confidence, kind="thanks", source="rule")
        return reading

    def screenshot(self, text: str, ctx: Context) -> Reading:
        """Text read from a screenshot: never a command (a 「完成」 button in the picture is no "done"), only a
        question, in simplified characters as every message is (read() simplifies its own text once)."""
        return self.question(simplified(text), ctx)

    def question(self, text: str, ctx: Context, confidence: float = 1.0, found: Any = None) -> Reading:
        """A troubleshooting question: the knowledge base's best topic (or none, when it is unsure)."""
        found = found if found is not None else self._search(text, ctx)
        if found is None:
            return Reading("question", confidence)
        topic = found.topic.id if found.confident and found.topic is not None else None
        alternatives = tuple((t.id, None) for t in found.alternatives)  # other topics; the search gives no score
        return Reading("question", float(found.score), topic=topic, alternatives=alternatives, search=found)

    # ------------------------------------------------------------------ parts
    def _not_affirmative(self, text: str, ctx: Context, kind: str, confidence: float,
                         alternatives: tuple[tuple[str, float | None], ...]) -> Reading:
        """A command named in a negation, a plan or a problem report: nothing changes. A problem goes to
        the knowledge base; "还没弄好" and "晚点再提交" get one line and leave progress as it is."""
        if kind == stance.PROBLEM or self._asks_now(squash(text)):
            return self.question(text, ctx, confidence)
        return Reading("smalltalk", confidence, kind="not_yet" if kind == stance.NEGATION else "later",
                       alternatives=alternatives, source="rule")

    def _without_requests(self, text: str) -> str:
        """"方便的话请继续提醒我" is a request, not a condition."""
        for word in self.words.request_words:
            if not word.isascii():
                text = text.replace(word, " ")
        return text

    def _asks_now(self, squashed: str) -> bool:
        """A plan that also asks something ("等审核过了要多久？"); the hypothetical words alone do not ask."""
        if squashed.rstrip("~～。.!！").endswith(("吗", "?", "？", "呢", "么")):
            return True
        for word in self.words.cues.condition:
            squashed = squashed.replace(word.replace(" ", ""), " ")
        squashed = stance.WAIT_THEN.sub(" ", squashed)  # "等客户确认好用哪个账号，再去勾": what is waited for
        return self.words.looks_like_question(squashed)

    def _ranked(self, squashed: str, text: str) -> list[tuple[str, float]]:
        taught = self.taught.get(squashed)
        if taught is not None and not taught.startswith("topic:"):
            return [(taught, 1.0)]  # a lesson is sure wherever the ranking is asked (a reply to a question too)
        # Labels that do the same thing (next, done) count as one, named after the likelier.
        merged: dict[str, float] = {}
        name: dict[str, str] = {}
        for label, score in self.model.rank(text, top=4):
            group = policy.SAME_EFFECT.get(label, label)
            merged[group] = merged.get(group, 0.0) + score
            name.setdefault(group, label)
        return sorted(((name[g], score) for g, score in merged.items()), key=lambda item: -item[1])

    def _asks(self, text: str, squashed: str, ranked: list[tuple[str, float]]) -> bool:
        """A command word inside a question ("下一步是干嘛的") is a question — unless the model is sure it is
        a polite request ("能不能先回到上一步？") and sees nothing of a question in it."""
        if not self.words.looks_like_question(squashed):
            return False
        question = dict(ranked).get("question", 0.0)
        polite = self.words.requests(text) and ranked[0][1] >= policy.POLITE_REQUEST
        return not (polite and question < policy.QUESTION_DOUBT)

    def _search(self, text: str, ctx: Context) -> Any:
        if self.knowledge is None:
            return None
        taught = self.taught.get(squash(text))
        if taught and taught.startswith("topic:") and taught[6:] in self.knowledge.topics:
            from bot.faq.search import SearchResult

            topic = self.knowledge.topics[taught[6:]]
            return SearchResult(topic=topic, score=1.0, confident=True, best_guess=topic)
        step = ctx.step if 0 < ctx.step < 7 else None
        return self.knowledge.search(text, step=step)

    def _something_else(self, text: str, squashed: str, ctx: Context) -> bool:
        """After "解决了吗？": the message is a report or command of its own, not an answer to it. A bare
        feedback word ("好了", "还不行", "1") always answers it."""
        bare = _bare(squashed)
        if len(bare) <= 4 or bare in FEEDBACK_NO or bare in FEEDBACK_YES:
            return False
        if _ERROR_CODE.search(text):
            return True  # "解决了一半 现在又报89020": a new problem
        if self.items.reading(text, squashed, ctx, self.words.cues.stance(text), self.read, self.question) is not None:
            return True
        if mentions_step(text) or mentions_items(text):
            return True
        label, confidence = self._ranked(squashed, text)[0]
        return label not in _FEEDBACK_LABELS and confidence >= policy.ACT

    def _feedback_option(self, text: str) -> str | None:
        """The option a reply to "解决了吗？1 已解决 / 2 还不行" opens with, then why; None when the number starts a
        list ("一、二都试了还是不行", "2，3 都弄好了") or the words after a 1 say it is not solved ("1.还是报错")."""
        opening = _FEEDBACK_LEAD.match(text)
        if opening is None or _ANY_NUMBER.search(text[opening.end():]):
            return None
        rest = text[opening.end():]
        if opening[1] in FEEDBACK_YES and (contains_any(rest, self.words.feedback_no) or self.words.negates(rest)):
            return None
        return opening[1]

    def _pending(self, text: str, squashed: str, ctx: Context) -> Reading | None:
        """A reply to what the bot just asked; None when the message is about something else."""
        pending = ctx.pending
        if pending is None:
            return None
        if pending == "faq_choice":
            digit = _DIGIT.match(text)
            return Reading("question", 1.0, items=(int(digit[1]),), kind="choice", source="pending") if digit else None
        if pending == "faq_feedback":
            words = self.words
            named = _FEEDBACK_NAMED.match(_bare(squashed))
            lead = self._feedback_option(text) or (named[1] if named else None)  # "1。可以了", "2，还是报同样的错"
            if lead is not None:
                return _yes(ctx, 1.0) if lead in FEEDBACK_YES else _no(ctx, 1.0)
            if self._something_else(text, squashed, ctx):
                return None  # "开放平台账号注册好了" after "解决了吗？" is a report, read as itself
            squashed = _bare(squashed)  # "2 [流泪]" is a 2
            if len(squashed) > 4 and contains_any(text, words.cues.plan):
                return Reading("smalltalk", 0.9, kind="later", source="pending")  # "还没试呢 等下我去试试"
            if squashed in FEEDBACK_NO or contains_any(text, words.feedback_no):
                return _no(ctx, 1.0)
            if squashed in FEEDBACK_YES or (contains_any(text, words.feedback_yes) and not _ASKS_BACK.search(squashed)):
                return _yes(ctx, 1.0)  # (but "ok了吗" asks)
            if contains_any(text, words.feedback_lost) and not words.looks_like_question(squashed):
                return _no(ctx, 1.0)  # "没整明白", but "解决了，之前是我没看懂" said yes above
        elif pending not in CONFIRMING:
            return None
        elif (moved := self.items.step_correction(text)) is not None:
            return moved  # "不是第二步，是第三步，我要去第三步": the step meant
        elif self.words.negates(text) or self.words.cues.hearsay(text):
            return _no(ctx, 1.0)  # "不太确定诶 我问下同事": not a yes
        elif (first := self.words.yes_opening.match(text)) is not None and first.end() < len(text):
            return _yes(ctx, 0.9)  # "应该是吧 页面上写着已认证", "嗯 提交了 同事弄的": a yes, then why
        elif self.words.looks_like_question(squashed) and not _bare(squashed).endswith(("吗", "么")):
            return None  # "等下，重置会不会把认证状态也清掉": a question of its own, not a yes
        label, confidence = self._ranked(squashed, text)[0]
        if confidence < policy.NOT_UNDERSTOOD:
            return None
        proposal = ctx.proposal or {}
        if pending == "confirm_reading" and proposal and label == proposal.get("asked_by"):
            return _yes(ctx, confidence)  # asked once; saying it again means yes
        if label in ("confirm", "smalltalk:ack") or (label == "smalltalk:thanks" and pending == "faq_feedback"):
            return _yes(ctx, confidence)
        if label == "cancel" or (label == "uncheck" and not find_items(text, ctx.item_count)):
            return _no(ctx, confidence)
        if pending == "confirm_reset" and label == "reset":
            return _yes(ctx, confidence)
        return None


def _yes(ctx: Context, confidence: float) -> Reading:
    """Yes to what the bot asked: the reading it proposed ("你是说…吗？"), else a plain confirm."""
    if ctx.pending == "confirm_reading" and ctx.proposal:
        return Reading.from_slots(ctx.proposal, source="pending")
    return Reading("confirm", confidence, kind="feedback" if ctx.pending == "faq_feedback" else None,
                   source="pending")


def _no(ctx: Context, confidence: float) -> Reading:
    """No to what the bot asked."""
    return Reading("cancel", confidence, kind="feedback" if ctx.pending == "faq_feedback" else None,
                   source="pending")


def _corrects_items(reading: Reading) -> bool:
    """"不是勾2 是勾3": a correction of numbered items says exactly what it means; the gate need not doubt it."""
    return reading.kind == "correction" and reading.intent in ("check", "uncheck")


def _unsure(reading: Reading) -> bool:
    """The bot would ask back or search the knowledge base without a topic."""
    if reading.intent == "clarify":
        return reading.kind in ("unsure", "unknown")
    return reading.intent == "question" and reading.topic is None


def _bare(squashed: str) -> str:
    """Without WeCom emoji codes ([流泪]) and punctuation."""
    return _PARTICLES.sub("", _PUNCTUATION.sub("", _EMOJI_CODE.sub("", squashed)))


def _without_mentions(text: str) -> str:
    """The message without the short phrases it quotes ("“别提醒了”"), when enough is left to read."""
    rest = _QUOTED_PHRASE.sub(" ", text)
    return rest if rest != text and len(squash(rest)) >= 6 else text


def _own_words(text: str) -> str:
    """What the user wrote: a quoted message's quote is context, not the reply."""
    quoting = split_quote(text)
    if quoting is not None:
        text = quoting[1]
    return text.strip()
