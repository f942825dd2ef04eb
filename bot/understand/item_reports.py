"""Checklist items reported in a message, read clause by clause: which are done, which are still under way,
which the user unticks or corrects, and a checklist item quoted from the bot ("「微搭助手：2. …」- - - 这个弄好了").

"资质认证交了300块 还在审着呢" ticks nothing; "开发小程序已经绑了，密钥准备下午再交" ticks item 1;
"不是第三步，是第二步" goes to step 2. The words are data (``names`` in data/guide/steps.yaml, ``stance:``
in context.yaml); this module holds how clauses combine. The rest of reading a message (the model, pending
questions, stories) is bot/understand/understander.py, which calls in here first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from bot.understand import policy, stance
from bot.understand.items import ItemNames, all_but, clauses, correction, named_items
from bot.understand.lexicon import ContextWords, squash
from bot.understand.reading import Context, Reading
from bot.understand.slots import find_items, find_step, last_items, mentions_items, mentions_step, step_mentions

Reader = Callable[[str, Context], Reading]  # the whole reader, for the part of a message a correction means

_WRONG_TICK = re.compile(r"勾错|勾反")
_NUMBERS_ONLY = re.compile(r"^[\d、和跟及,，&]+$")
_COUNT = re.compile(r"(?:有|差|剩)[\d一二两三四五六](?:个|项|条)|\d+(?:分钟|小时|天|次|块|遍|元)")  # "还有1个没弄"
_DIGIT = re.compile(r"[\d①②③④⑤⑥]")  # a number written as one ("全部" is not)
_SHORT_CLAUSE = 10  # "1和3是好的", "4没好": a clause this short next to an untick is about the numbers in it
QUOTE_SEPARATOR = "- - -"  # a WeCom quote: the quoted text, this line, then what the user wrote
_QUOTED_LINES = re.compile(r"^(?P<quote>(?:[ \t]*[>＞][^\n]*\n)+)(?P<said>[\s\S]*\S[\s\S]*)$")  # "> 1. …\n这个好了"
_QUOTED_ITEM = re.compile(r"^[「“\"']?\s*(?:[^：:]{1,12}[：:])?\s*(?P<n>[1-6])[.．、]\s*\S")  # "「微搭助手：2. 在…"
_THAT_ONE = re.compile(r"那个|那项|那一项|这个|这项|这一项|那框|的勾|那栏")  # "关联腾讯云账号那个": an item
_TEMPORAL = re.compile(r"的时候|那时候|以后|之后")
_WAITING = re.compile(r"^(?:我)?(?:等|等到|待)")  # "等运维把回调URL配好": what is waited for has not happened
# A clause with no subject of its own that says "still" or "not": about the item named before it
_STILL_ABOUT_IT = re.compile(r"^(?:\d{1,3})?(?:但|但是|可是|不过|就是|只是|目前|现在|暂时|它|这个|那个|就)?"
                             r"(?:还|也还|都还|仍|尚|没|未|在|等)")


def split_quote(text: str) -> tuple[str, str] | None:
    """(what is quoted, what the user wrote) of a message that quotes: WeCom's quote, or lines pasted with ">"."""
    if QUOTE_SEPARATOR in text:
        quote, said = text.rsplit(QUOTE_SEPARATOR, 1)
        return quote, said.strip(" -\n")
    lines = _QUOTED_LINES.match(text)
    if lines is None:
        return None
    return "\n".join(line.strip().lstrip(">＞").strip() for line in lines["quote"].splitlines()), lines["said"].strip()


class ItemReports:
    """Items named or numbered in a message, for one guide's checklist and word lists."""

    def __init__(self, words: ContextWords, item_names: ItemNames, closing: dict[int, frozenset[int]]) -> None:
        self.words = words
        self.item_names = item_names
        self.closing = closing

    def quoted(self, text: str, ctx: Context) -> Reading | None:
        """"「微搭助手：2. 在开通云开发页面勾选…」- - - 这个弄好了": the item quoted is the one reported."""
        quoting = split_quote(text)
        if quoting is None or ctx.pending is not None or not ctx.item_count:
            return None
        quote, said = quoting
        item = _QUOTED_ITEM.search(quote.strip().splitlines()[0] if quote.strip() else "")
        said = self.words.without_fillers(said)
        cues = self.words.cues
        if item is None or not 1 <= int(item["n"]) <= ctx.item_count or len(said) > 12 or mentions_items(said) \
                or mentions_step(said) or named_items(squash(said), ctx.step, self.item_names):
            return None
        if cues.completed(said) and not cues.not_done(said) and cues.stance(said) == stance.AFFIRMATIVE \
                and not cues.pending(said) and not cues.still_under_way(said) \
                and not self.words.looks_like_question(squash(said)):  # (but "提交了 在审" is not done yet)
            return policy.resolve(Reading("check", 0.9, items=(int(item["n"]),), kind="quoted_item", source="rule"),
                                  ctx, squash(said), self.words)
        return None

    def reading(self, text: str, squashed: str, ctx: Context, kind: str, read: Reader,
                question: Reader) -> Reading | None:
        """Corrections, "all but" forms and items named by what they are; None when none of these."""
        if not 1 <= ctx.step <= 6:
            return None
        moved = self.step_correction(text)
        if moved is not None:
            return moved
        fixed = correction(text)
        if fixed is not None:
            corrected = self._correction(text, ctx, *fixed, question)
            if corrected is not None:
                return corrected
            meant = fixed[0].strip()
            if len(squash(meant)) >= 2 and meant != text and kind != stance.PROBLEM:
                what = read(meant, replace(ctx, pending=None))  # "不是认证失败，是已经提交了": what is meant
                if what.intent != "clarify":
                    return what  # else "不是取消勾选，是勾选！第一项我真的做完了": the rest of it says what
        explicit_untick = any(self.words.cues.unticks(c, names_an_item=bool(mentions_items(c))) for c in clauses(text))
        if kind == stance.PROBLEM or not ctx.item_count or (
                kind == stance.PLAN and self._plans_items(text, ctx) and not explicit_untick
                and not self._reports_beside_plan(text, ctx)):
            return None  # ("取消勾3，三方回头得重建": the untick is now, the plan is why)
        rest = all_but(text, ctx.item_count, self.item_names, ctx.step)
        if rest == ():
            return Reading("smalltalk", 0.9, kind="not_yet", source="rule")
        if rest:
            return policy.resolve(Reading("check", 0.9, items=rest, kind="all_but", source="rule"), ctx,
                                  squashed, self.words)
        if mentions_step(text) and not self._locates_item(text, squashed, ctx):
            return None
        if self.words.looks_like_question(squashed) and not self._reported(text) \
                and not (explicit_untick and self.words.requests(text)):  # "请问能否将第五项恢复为未完成状态？"
            return None
        cues = self.words.cues
        ticked: set[int] = set()
        denied: set[int] = set()
        held: set[int] = set()  # named, then said to be still under way: neither ticked nor unticked
        untick: set[int] = set()  # what a clause asks to untick ("关联那一项先取消")
        previous_ticked = False  # the clause before reported something done ("…done, permission sets too")
        unreported: set[int] = set()  # the clause before named items and said nothing of them yet
        doubted: set[int] = set()  # reported with a doubt ("老板说资质认证好像去年就做过了"): asked about
        found: set[int] = set()
        plain = True  # every clause a plain report: no plan, negation, problem, doubt or question in it
        parts = clauses(text)
        # "1 2 3好了 4没好 刚才你勾的4去掉": beside a clause that unticks or names items, bare numbers are items
        numbered = len(parts) > 1 and any(mentions_items(c) or (
            (cues.untick_word(c) or cues.tick_verb(c)) and find_items(c, ctx.item_count)) for c in parts)
        for clause in parts:
            clause = _TEMPORAL.split(clause)[-1]  # "云开发开通的时候关联也勾了": the time, not a report
            part = squash(clause)
            said = cues.stance(clause)
            if said != stance.AFFIRMATIVE or cues.not_done(clause) or cues.pending(clause) \
                    or cues.elsewhere_user(clause) or (cues.hedged(clause) and cues.completed(clause)):
                plain = False
            in_clause = set(named_items(part, ctx.step, self.item_names))
            if not in_clause and numbered and len(part) <= _SHORT_CLAUSE and not mentions_step(clause) \
                    and _DIGIT.search(part) and not _COUNT.search(part) and (
                    cues.unticks(clause, names_an_item=True) or cues.completed(clause) or cues.not_done(clause)
                    or cues.tick_verb(clause) or _NUMBERS_ONLY.match(part)):  # ("1 2 都好了": numbers, then a report)
                in_clause = {n for n in find_items(clause, ctx.item_count) if 1 <= n <= ctx.item_count}
            if found and _STILL_ABOUT_IT.match(part) and not self.words.names_step_act(clause, ctx.step) and (
                    cues.still_under_way(clause) or (not in_clause and (
                        said == stance.NEGATION or cues.pending(clause) or cues.not_finished(clause)))):
                # "资质认证交了300块 还在审着呢", "资质认证提交了 等审核中": the item before it is not done yet
                # (but "云开发开通了，还没核对账号" names its own item; "AppID拿到了，还没提交" is step 3's act)
                held |= found
            if mentions_items(clause):
                in_clause |= set(find_items(clause, ctx.item_count)) | set(last_items(clause, ctx.item_count))
            if not in_clause and cues.untick_verb(clause):  # "untick 3 pls": a number next to the verb is an item
                in_clause = {n for n in find_items(clause, ctx.item_count) if 1 <= n <= ctx.item_count}
            if not in_clause:
                reports = cues.completed(clause) and said == stance.AFFIRMATIVE and not cues.pending(clause) \
                    and not cues.not_done(clause)
                if unreported and reports:
                    ticked |= unreported  # "还有那个资质认证 交了三百块钱哦": the report follows its item
                unreported = set()
                continue
            if not cues.completed(clause) and (cues.still_under_way(clause) or cues.pending(clause)) \
                    and not _WAITING.match(clause.strip()):  # ("等审核结果出来，勾第2项" waits: a condition)
                held |= in_clause  # "1到5都好了，6还在等审核", "4还在勾": named, and still under way
            silent = not cues.completed(clause) and said == stance.AFFIRMATIVE and not cues.unticks(clause) \
                and not cues.pending(clause)  # ("资质认证还在审" says how it is: no later report is about it)
            unreported = unreported | in_clause if silent else set()  # "注册 资质认证 建平台 这仨都弄完了"
            if silent and previous_ticked and (cues.also(clause) or _NUMBERS_ONLY.match(part)):  # ("勾一下3 和4")
                ticked |= in_clause  # "dev qualification verification done, permission sets too"
            found = in_clause
            if cues.unticks(clause, names_an_item=True):
                denied |= in_clause
                untick |= in_clause
            elif said == stance.NEGATION or cues.not_done(clause):
                denied |= in_clause
            elif (cues.completed(clause) or (numbered and cues.tick_verb(clause))) and not cues.not_finished(clause) \
                    and said != stance.PLAN and not cues.pending(clause):
                previous_ticked = True
                if cues.hedged(clause) or cues.elsewhere_user(clause):
                    held |= in_clause  # "好像绑过了", "上个客户三项我都弄好了": not a report of this user's item
                    if not cues.elsewhere_user(clause):
                        doubted |= in_clause
                else:
                    ticked |= in_clause
                    held -= in_clause  # "权限集刚才还在勾，现在权限集勾完了": the later clause is how it stands
        ticked -= denied | held
        if not ticked and not denied and not held and plain and kind == stance.AFFIRMATIVE and cues.completed(text) \
                and not cues.not_finished(text) and not any(
                    self.words.looks_like_question(squash(c)) and named_items(squash(c), ctx.step, self.item_names)
                    for c in clauses(text)):  # "开放平台注册的时候管理员填我还是填我舅啊" asks about the item
            ticked = set(named_items(squashed, ctx.step, self.item_names))  # "权限集 18 30 31 49 勾好了"
        if doubted and not ticked and not denied and not self.words.looks_like_question(squashed) \
                and all(1 <= n <= ctx.item_count for n in doubted):
            return policy.clarify("unsure", proposal=Reading("check", 0.5, items=tuple(sorted(doubted))),
                                  confidence=0.5, asked_by="")
        if denied and not ticked and (untick or cues.unticks(text)):
            # "没有没有 第三个我还没弄 别勾", "取消勾选开发者资质认证 其实还在审"; with a clause that asks to
            # untick, just what it names ("第二项取消一下，开通云开发那里其实没成功": item 2)
            return policy.resolve(Reading("uncheck", 0.9, items=tuple(sorted(untick or denied)), kind="named_item",
                                          source="rule"), ctx, squashed, self.words)
        named = named_items(squashed, ctx.step, self.item_names)
        if not ticked and named and not denied | held and plain and kind == stance.AFFIRMATIVE \
                and cues.not_finished(text) \
                and any(cues.completed(c) and not cues.not_finished(c) for c in clauses(text)):
            ticked = set(named)  # "代码上传密钥生成了 也在微搭那边提交了": generated, then submitted
        if not ticked and cues.not_finished(text) and named and kind == stance.AFFIRMATIVE and not held & set(named):
            # "代码上传密钥生成好了": on the way to the item, not the item; ask before ticking it
            return policy.clarify("unsure", proposal=Reading("check", 0.5, items=named), confidence=0.5,
                                  asked_by="")
        if not ticked:
            return self._other_step_item(text, squashed, ctx, kind)
        if self._names_the_step(squashed, ctx.step) or any(
                self.words.names_step_act(c, ctx.step) and cues.stance(c) == stance.AFFIRMATIVE and not cues.not_done(c)
                for c in clauses(text)):
            return None  # "全网发布提交了": the step by its own name, not one of its items (but "…还没提交" is not it)
        if not all(1 <= n <= ctx.item_count for n in ticked):
            return None
        if untick - ticked:  # "刚才勾的2取消 1和3是好的": the untick and the report, both
            return policy.resolve(Reading("check", 0.9, items=tuple(sorted(ticked)),
                                          uncheck=tuple(sorted(untick - ticked)), kind="named_item", source="rule"),
                                  ctx, squashed, self.words)
        if len(ticked) == ctx.item_count or (ticked & self.closing.get(ctx.step, frozenset()) and not denied | held):
            # every item, or the step's closing act ("审核过了，拿到AppId了"): the step, whose open items
            # the handler asks about (but "密钥提交了 不过开发小程序好像还没绑" says one is open: the item)
            return policy.gate(policy.resolve(Reading("done", 0.9, kind="named_item", source="model"), ctx,
                                              squashed, self.words), 1.0)
        last = clauses(text)[-1]
        if len(clauses(text)) > 1 and cues.stance(last) == stance.AFFIRMATIVE \
                and self.words.requests_next(squash(last)) and not text.rstrip().endswith(("?", "？")):
            then = read(last, replace(ctx, pending=None))
            if then.intent == "next" and then.confidence >= policy.ACT:
                return then  # "测试那边发布到商家小程序了 扫码也能授权了 下一步吧": the report, then the step
        return policy.resolve(Reading("check", 0.9, items=tuple(sorted(ticked)), kind="named_item", source="rule"),
                              ctx, squashed, self.words)

    def _reports_beside_plan(self, text: str, ctx: Context) -> bool:
        """"开发小程序已经绑了，密钥准备下午再交": one clause reports an item, another plans the next."""
        cues = self.words.cues
        return any(cues.stance(c) == stance.AFFIRMATIVE and cues.completed(c) and not cues.pending(c)
                   and not _WAITING.match(c.strip()) and not _TEMPORAL.search(c)
                   and named_items(squash(c), ctx.step, self.item_names) for c in clauses(text))

    def _plans_items(self, text: str, ctx: Context) -> bool:
        """A plan about the items themselves ("晚点再勾权限集"), not one clause about next week in a story
        that reports an item ("…资质认证就通过了，老板说下周要把小程序搞起来")."""
        cues = self.words.cues
        planned = [c for c in clauses(text) if cues.stance(c) == stance.PLAN]
        return not planned or any(named_items(squash(c), ctx.step, self.item_names) or mentions_items(c)
                                  or mentions_step(c) for c in planned)

    def _locates_item(self, text: str, squashed: str, ctx: Context) -> bool:
        """"第一步开放平台账号刚注册好": the current step named only to say where the item is."""
        if {step for _, step in step_mentions(text)} != {ctx.step}:
            return False
        return all(named_items(squash(c), ctx.step, self.item_names) for c in clauses(text) if step_mentions(c))

    def _reported(self, text: str) -> bool:
        """A report with a question after it ("开发资料终于填好了，接下来做啥") still reports; a report
        the user doubts ("同事说应该绑好了，可我没看到，请问在哪看") is the question."""
        cues = self.words.cues
        parts = clauses(text)
        asked = [c for c in parts if self.words.looks_like_question(squash(c)) and not cues.not_done(c)]
        if parts and (text.rstrip().endswith(("?", "？")) or (
                not asked and self.words.looks_like_question(squash(text)))):
            asked.append(parts[-1])  # what asks may be lost in the split ("？", "…AppId 是吧")
        if any(not self.words.asks_next(squash(c)) for c in asked):
            return False  # "全网发布提交了三次都检测失败，到底检测些啥": the report is why they ask
        return any(cues.completed(c) and not cues.hedged(c) and not self.words.looks_like_question(squash(c))
                   for c in clauses(text))

    def _other_step_item(self, text: str, squashed: str, ctx: Context, kind: str) -> Reading | None:
        """"云开发也开通了" on step 1 names an item of step 2: asked about (or, for a step already behind
        the user, said so), never a tick on this step."""
        if kind != stance.AFFIRMATIVE or named_items(squashed, ctx.step, self.item_names) \
                or self._names_the_step(squashed, ctx.step) or self.words.names_step_act(text, ctx.step):
            return None  # ("已在微搭服务商注册页填好AppID并点了确认": step 3's own act, not step 1's 注册)
        reported = [squash(c) for c in clauses(text) if self.words.cues.completed(c)]  # "已提交，等审核": not 审核
        best, longest = None, 0
        for step, names in self.item_names.items():
            if step == ctx.step:
                continue
            length = max((len(name) for name, _ in names if any(name in c for c in reported)), default=0)
            if length > longest:  # the step whose item is named most exactly ("原始ID加进授权测试列表了": step 5)
                best, longest = step, length
        if best is None:
            return None
        return policy.resolve(Reading("done", 0.9, step=best, kind="other_step_item", source="rule"), ctx,
                              squashed, self.words)

    def _names_the_step(self, squashed: str, step: int) -> bool:
        """The message names ``step`` by a name longer than any of its items' names it contains."""
        step_name = next((name for name, number in self.words.step_names if number == step and name in squashed), "")
        if not step_name or _THAT_ONE.search(squashed) or named_items(self._without_step_names(squashed, step), step,
                                                                       self.item_names):
            return False  # "关联腾讯云账号那个勾上了", "平台型第三方创建好了，开发模式选的传统模式": an item
        longest_item = max((len(name) for name, _ in self.item_names.get(step, ()) if name in squashed), default=0)
        return len(step_name) > longest_item

    def _without_step_names(self, squashed: str, step: int) -> str:
        for name, named_step in self.words.step_names:
            if named_step == step:
                squashed = squashed.replace(name, " ")
        return squashed

    def step_correction(self, text: str) -> Reading | None:
        """"不是第三步，我还在第二步": the step not denied (but "不是第五步 我说的是第四步那个密钥 在哪生成的" asks)."""
        if "不是" not in text or self.words.looks_like_question(squash(text)):
            return None
        said_at = text.index("不是")
        mentions = step_mentions(text)
        said = [step for at, step in mentions if at >= said_at][:1]
        meant = [step for _, step in mentions if step not in said]
        if said and len(set(meant)) == 1:
            return Reading("goto", 0.9, step=meant[0], kind="correction", source="rule")
        return None

    def _correction(self, text: str, ctx: Context, meant: str, said: str, question: Reader) -> Reading | None:
        """"不是第三步，是第二步" goes to step 2; "勾错了，应该是3不是2" unticks 2 and ticks 3."""
        meant_step, _ = find_step(meant, self.words)
        said_step, _ = find_step(said, self.words)
        cues = self.words.cues
        if (cues.not_done(meant) or cues.failed(meant) or cues.stance(meant) == stance.PROBLEM) \
                and not self.words.mentions_cert(squash(meant)):
            return question(text, ctx)  # "不是开放平台账号的问题，是资质认证没过": a problem, not a tick
        if mentions_items(meant) and ctx.item_count and not find_items(said, ctx.item_count) \
                and not named_items(squash(said), ctx.step, self.item_names):
            # "不是说第二步整个做完了，是第二步的第①项做完了": the item, not the step
            items = find_items(meant, ctx.item_count)
            if items and all(1 <= n <= ctx.item_count for n in items):
                intent = "uncheck" if cues.unticks(meant) else "check"
                return Reading(intent, 0.9, items=items, kind="correction", source="rule")
        if meant_step is not None and (said_step is not None or "步" in text):
            return Reading("goto", 0.9, step=meant_step, kind="correction", source="rule")
        if not ctx.item_count:
            return None
        meant_items = find_items(meant, ctx.item_count) or named_items(squash(meant), ctx.step, self.item_names)
        said_items = find_items(said, ctx.item_count) or named_items(squash(said), ctx.step, self.item_names)
        if meant_items and not said_items and _WRONG_TICK.search(text) and len(squash(meant)) <= _SHORT_CLAUSE \
                and cues.stance(text) != stance.PROBLEM and not self.words.looks_like_question(squash(text)) \
                and find_items(meant, ctx.item_count) and all(1 <= n <= ctx.item_count for n in meant_items):
            # "勾错了 应该是3": 3 is the one meant (which was ticked by mistake, the message does not say)
            return Reading("check", 0.9, items=meant_items, kind="correction", source="rule")
        if not meant_items or not said_items:
            return None
        if not all(1 <= n <= ctx.item_count for n in (*meant_items, *said_items)):
            return policy.clarify("bad_item", confidence=0.9)
        if cues.untick_verb(said) or cues.untick_verb(meant):
            # "取消勾选3 不对 是4": the untick was right, its item wrong
            return Reading("uncheck", 0.9, items=meant_items, kind="correction", source="rule")
        # the item said wrongly is unticked too: if it was never ticked that changes nothing
        return Reading("check", 0.9, items=meant_items, uncheck=tuple(n for n in said_items if n not in meant_items),
                       kind="correction", source="rule")
