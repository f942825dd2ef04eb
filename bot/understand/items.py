"""Checklist items named the way people name them, "all but" forms and corrections.

"开放平台账号注册好了" on step 1 is item 1, "云开发已经开通了" on step 2 is item 1 of 3: the words for
each item are the guide's data (``names`` under each item in data/guide/steps.yaml), not code.
"就剩最后一个没弄" ticks every item but the last; "刚才勾错了，应该是3不是2" unticks 2 and ticks 3.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.understand.lexicon import UnderstandingDataError, squash
from bot.understand.slots import find_items
from bot.understand.slots import number as numeral

ItemNames = dict[int, tuple[tuple[str, int], ...]]  # step -> (name, item number), longest name first

# "就剩最后一个没弄", "只差最后一项", "除了第3项都好了", "除了最后一个都弄完了"
_LAST = r"(?:最后(?:一|1)?(?:个|项|条|步)?|最后那(?:个|项|条))"
_BUT_LAST = re.compile(rf"(?:就|只)?(?:剩|差)(?:下)?(?:[^，,。；;\s]{{1,6}}?那)?{_LAST}")  # "就差审核那最后一项了"
_BUT_LAST_N = re.compile(r"(?:就|只)?(?:剩|差)(?:下)?最后(?P<n>两|俩|二|2|三|3)(?:个|项|条)?")
# what an all-but says of the rest: "其他都", "其余均", "全" (not 全网发布, not "…其他都还没弄")
_THE_REST_ALL = r"(?:其他|其余|别的|其它)?(?:的)?(?:全都|全部都|都|全|均)(?!网)(?!还?[没未不])"
# "除了第3项都好了", "除核对绑定账号一项外，其余均已完成"
_EXCEPT = re.compile(r"(?<![删解排清免切])除(?!非)(?:了)?(?P<what>.{1,12}?)(?:一项|那项|这项)?(?:以外|之外|外)?[，,]?"
                     + _THE_REST_ALL)
# "最后一项以外 全✅", "权限集之外都弄完了": the same without 除
_BESIDES = re.compile(r"(?P<what>[^，,。；;!！?？]{1,12}?)(?:一项|那项|这项)?(?:以外|之外)[，,]?" + _THE_REST_ALL)
_LAST_ITEM = re.compile(_LAST)
_NONE_DONE = re.compile(r"都?还?[没未不]")  # after 全 of an all-but: "全都没弄" says none of the rest is done
_TWO_DIGITS = re.compile(r"\d{2}")  # "49": a permission set, no item number
# clauses end at punctuation, "然后", and at spaces next to Chinese ("资质认证过了 300块也交了"); English
# keeps its spaces ("registered the open platform acct"); a tick or cross belongs to what comes before it
# ("绑定开发小程序 ✔️ 代码上传密钥 ✖️")
_CLAUSE = re.compile(r"[，,。；;！!？?~～…]+|\.\s|(?<=[^\x00-\x7f])\s+(?![✔✅✖❌√×])|\s+(?=[^\x00-\x7f✔✅✖❌√×])"
                     r"|然后|接着|\bbut\b|\band then\b")
# "就剩审核那项没好", "就差开发资料和审核没弄", "只有权限集还没勾", "就差审核了 别的都好了"
_ONLY_LEFT = re.compile(r"(?:就|只|还)?(?:剩|差)(?:下)?(?P<what>.{1,14}?)(?:那项|那个|那一项|这项)?"
                        r"(?:(?:还)?(?:没|未)|了?[，,\s]*(?:别的|其他|其余|其它|剩下的)(?:的)?都)")
# "最后那个审核还没过 其他的都好了": what is not done, then all the others
_OTHERS_DONE = re.compile(r"(?P<what>[^，,。；;]{1,14}?)(?:还|仍|尚)?(?:没|未)(?!问题|毛病|事|错)[^，,。；;]{0,4}?"
                          r"[，,]?(?:其他|其余|别的|其它|剩下)的?(?:都|全|均)(?!还?[没未不])")
# "all 完成 except 开发资料 和 审核", "everything done except the permission sets", "except 2 all done"
_ALL_EXCEPT = re.compile(r"(?:all|everything|全部|都)(?:is|are|was|were)?"
                         r"(?:done|完成|好了|搞定|ok|finished|ticked|checked)"
                         r"(?:except|apartfrom|otherthan|besides|但是?除了)(?P<what>[^，,。.;；]{1,24}?)(?:[，,。.;；]|$)"
                         r"|(?:except|apartfrom|otherthan)(?P<what2>[^，,。.;；]{1,24}?)[，,]?(?:all|everything|the"
                         r"rest|其他|其余)(?:is|are|都)?(?:done|完成|好了|搞定|ok|finished)")
# "Is everything done except the review?", "all except 5 are still pending": no report of the rest
_NOT_ALL_DONE = re.compile(r"[?？吗]|still|pending|fail|not|unclear|need|how|what|should|can|\bdo\b|没|未|还在|失败")
_BEFORE = re.compile(r"前面|之前的|前边")
_SCOPE = re.compile(r"前(?P<n>\d|[一二两三四五六])(?:项|个|条)(?:里|中|当中|里面)")
# "应该是3不是2", "是第二步不是第三步", "不是第三步，是第二步", "不是2是3"
_PART = r"[^，,。；;！!]{1,10}"
_IS_NOT = re.compile(rf"(?:应该|其实|而)?是(?P<yes>{_PART}?)[，,\s]*(?:而)?不是(?P<no>{_PART})")
_NOT_IS = re.compile(rf"不是(?P<no>{_PART}?)[，,\s]*(?:而|应该|其实)?是(?P<yes>{_PART})")
# "2不对，勾的是3", "第二项错了 应该是第三项"
_WRONG_IS = re.compile(rf"(?P<no>{_PART}?)(?:不对|错了|错啦|错咯|错喽)[，,\s]*(?:我)?(?:勾的|要勾的|应该|其实|说的)?"
                       rf"是(?P<yes>{_PART})")
# "勾选3，更正一下，是4", "第5项不要勾……更正一下：第5项可以勾": what follows the amendment is meant
AMENDS = r"(?:更正|纠正|改正)"  # the words that amend what came before (also understander's longer amendments)
_AMENDED = re.compile(rf"(?P<no>{_PART}?)[…\.。，,\s]*{AMENDS}(?:一下)?[：:，,\s]*(?:应该)?是"
                      rf"(?P<yes>{_PART})\s*$")  # (a longer amendment is read on its own: understander)
# "第4个不是，我说的是第5个"
_NO_I_MEANT = re.compile(rf"(?P<no>{_PART}?)不是[，,\s]*(?:我)?(?:说的|要的|指的|要勾的)是(?P<yes>{_PART})")
# "取消第2项，改勾第3项", "把2去掉，勾上3"
# "uncheck 4 i meant 5"
_MEANT = re.compile(r"(?P<no>\d)\s*[,，]?\s*(?:nvm|never\s*mind|sorry|oops)?\s*[,，]?\s*i\s*mean[t]?\s*(?P<yes>\d)\b",
                    re.IGNORECASE)  # "勾选3 nvm I mean 4"
_THEN_TICK = r"[，,\s]*(?:然后|再)?(?:应该是勾选|应该勾|应该是|改成|换成|改勾|勾上|勾选|勾)"
_UNDO = r"(?:去掉|撤掉|取消|撤销|撤回)掉?"
_DROP_THEN = re.compile(rf"(?:把|勾选)?(?P<no>{_PART}?){_UNDO}{_THEN_TICK}(?P<yes>{_PART})")  # "勾选3取消掉，应该是4"
_UNDO_THEN = re.compile(rf"{_UNDO}(?:勾选)?(?P<no>{_PART}?){_THEN_TICK}(?P<yes>{_PART})")
# "第三项先取消，第四项勾上": each item before its verb; not denied or asked ("第三项不用取消", "为什么第三项取消了")
_NOT_DROPPED = re.compile(r"[别没吗?？]|不用|不要|不必|为什么|为啥|怎么|要不要|是不是")
_DROP_THEN_AFTER = re.compile(rf"(?P<no>{_PART}?)先?{_UNDO}[，,；;\s]+(?:再|然后)?(?:把)?(?P<yes>{_PART}?)"
                              r"(?:勾上|勾选上|打勾|打上勾|勾一下)")
# "不是 不是下一步 是上一步", "不不不 不是勾2 是勾3": the stammer before the correction says nothing more
_STAMMER = re.compile(r"^\s*(?:(?:不是|不对|不)[\s，,!！。.]*)+(?=不是)")


def closing_items(guide_file: Path) -> dict[int, frozenset[int]]:
    """Items marked ``closes: true``: reporting them ("审核过了", "全网发布提交了") reports the step."""
    data = yaml.safe_load(guide_file.read_text(encoding="utf-8")) or {}
    return {int(step.get("number", 0)): frozenset(n for n, item in enumerate(step.get("items") or [], 1)
                                                   if isinstance(item, dict) and item.get("closes"))
            for step in data.get("steps") or []}


_BULLET = re.compile(r"^(?P<mention>\s*@\S+\s+)?\s*[-–—•·*]\s+")
_LIST_LINE_CHARS = 60  # a longer line is prose or a pasted log, not a point of a list
_LIST_LINES = 8
_ENDS_CLAUSE = tuple("，,。；;！!？?…~～")


def listed_lines(text: str) -> str | None:
    """A message written as a short list ("- 开发小程序 已绑定\n- 上传密钥 已提交") as one line of clauses,
    so that it is read as the story it is; None when it is not such a list (one line, long lines: a log).

    Why: a line break is where a list writer pauses, as a comma is for others; without this every list
    was read as a pasted log and so as a question. Bullets are dropped, numbers are kept ("1好了\n2还没")."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not 2 <= len(lines) <= _LIST_LINES or any(len(line) > _LIST_LINE_CHARS for line in lines):
        return None
    points = [_BULLET.sub(lambda m: m["mention"] or "", line).strip() for line in lines]
    return "".join(p if p.endswith(_ENDS_CLAUSE) else p + "，" for p in points if p).rstrip("，")


_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_SPACED_WORDS = 4  # spaces between Chinese words, at least ...
_SPACED_CHUNK = 3.2  # ... around chunks this short on average: a word, not a clause
_PUNCTUATION = re.compile(r"([，。；！？,;!?\n]+)")  # split keeping the marks: odd parts are punctuation
_CLAUSE_END = "了"  # where a speaker who spaces every word pauses: "都完成了 第三方 平台 还没建"


def word_spaced(text: str) -> str | None:
    """A message typed with a space after every word ("注册 账号 跟 资质认证 都完成了 第三方 平台 还没建") with its
    spaces dropped and a comma after each 了, so that its clauses are clauses, not words; None when its spaces
    already separate clauses ("注册好了 资质认证还在审"). Punctuation of its own stays where it is, and only the
    spaces between its marks go ("1 到 5 都 完成 了, 6 还 在 等 审核").

    Why: a space between Chinese words is read as a pause (people who type no punctuation put one between
    clauses); an older user on a pinyin keyboard puts one between words, and every word became a clause."""
    if len(_CJK_GAP.findall(text)) < _SPACED_WORDS:
        return None
    parts = _PUNCTUATION.split(text)
    chinese = [c for part in parts[::2] for c in part.split() if re.search(r"[\u4e00-\u9fff]", c)]
    if not chinese or sum(len(c) for c in chinese) / len(chinese) > _SPACED_CHUNK:
        return None
    return "".join(part if at % 2 else _joined(part.split()) for at, part in enumerate(parts))


def _joined(chunks: list[str]) -> str:
    """Words typed apart, written together again: a comma after each 了 inside, English keeps its spaces."""
    out = ""
    for at, chunk in enumerate(chunks):
        if out and not out.endswith("，") and (_latin(out[-1]) or _latin(chunk[0])
                                              or (out[-1].isdigit() and chunk[0].isdigit())):  # "第 1 2 项"
            out += " "  # "确认发布 wancheng" (but "6 还在等" is "6还在等", as the number belongs to the clause)
        out += chunk
        if chunk.endswith(_CLAUSE_END) and at < len(chunks) - 1:
            out += "，"
    return out


def _latin(char: str) -> bool:
    return char.isascii() and char.isalpha()


def clauses(text: str) -> list[str]:
    """A story split where people pause: "资质认证过了 300块也交了" -> two clauses."""
    return [c for c in _CLAUSE.split(text) if c.strip()]


def load_item_names(guide_file: Path) -> ItemNames:
    """The ``names`` of each checklist item, read from the guide data."""
    try:
        data = yaml.safe_load(guide_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise UnderstandingDataError(f"{guide_file.name}: {exc}") from None
    out: ItemNames = {}
    for step in data.get("steps") or []:
        pairs: list[tuple[str, int]] = []
        for number, item in enumerate(step.get("items") or [], 1):
            names = item.get("names") or [] if isinstance(item, dict) else []
            if not isinstance(names, list):
                raise UnderstandingDataError(f"{guide_file.name}: step {step.get('number')} item {number}: "
                                             "names must be a list")
            pairs.extend((squash(str(name)), number) for name in names if str(name).strip())
        pairs.sort(key=lambda pair: -len(pair[0]))
        out[int(step.get("number", 0))] = tuple(pairs)
    return out


def named_items(squashed: str, step: int, names: ItemNames) -> tuple[int, ...]:
    """Items of ``step`` the message names ("权限集都勾完了" -> 4); a longer name hides the shorter ones in it."""
    found: set[int] = set()
    rest = squashed
    for name, number in names.get(step, ()):
        if name and name in rest:
            found.add(number)
            rest = rest.replace(name, " ")
    return tuple(sorted(found))


def all_but(text: str, item_count: int, names: ItemNames, step: int) -> tuple[int, ...] | None:
    """"就剩最后一个没弄" / "除了第3项都好了": every item but the ones named; None when not this form, and
    () when what is left out is no item but part of one ("权限集除了49其他都勾了")."""
    if item_count < 2:
        return None
    squashed = squash(text)
    last_n = _BUT_LAST_N.search(squashed)
    if last_n and numeral(last_n["n"]) < item_count:  # "就剩最后俩没弄了"
        return tuple(range(1, item_count - numeral(last_n["n"]) + 1))
    if _BUT_LAST.search(squashed):
        return tuple(range(1, item_count))
    for pattern in (_EXCEPT, _BESIDES, _ALL_EXCEPT, _ONLY_LEFT, _OTHERS_DONE):
        match = pattern.search(squashed)
        if not match:
            continue
        if pattern is _ALL_EXCEPT and _NOT_ALL_DONE.search(text.lower()):
            continue
        what = match["what"] or match.groupdict().get("what2") or ""
        left = set(named_items(what, step, names)) | set(find_items(_BEFORE.sub(" ", what), item_count))
        if _LAST_ITEM.search(what):
            left.add(item_count)
        if pattern in (_EXCEPT, _BESIDES) and _NONE_DONE.match(squashed, match.end()):
            return ()  # "除了第一项全都没做", "权限集以外全都没弄": the rest is not done, nothing is ticked
        if pattern is _BESIDES and not left:
            continue  # "意料之外，都通过了", "工作时间以外都能找人工吗": not an item left out
        if (pattern is _EXCEPT and not left) or (pattern is _BESIDES and _TWO_DIGITS.search(what)):
            return ()  # "权限集除了49其他都勾了", "权限集49以外都勾了": part of one item, which is not done
        scope = _SCOPE.search(squashed)  # "前四项里除了资质认证，其他都好了": within the first four
        upto = min(item_count, numeral(scope["n"])) if scope else item_count
        if left and all(1 <= n <= item_count for n in left):
            if scope:
                return tuple(n for n in range(1, upto + 1) if n not in left)
            if pattern is _EXCEPT and _BEFORE.search(squashed[match.start():]):
                return tuple(range(1, min(left)))  # "除了权限集 它前面的都搞了": the ones before it
            return tuple(n for n in range(1, item_count + 1) if n not in left)
    return None


def correction(text: str) -> tuple[str, str] | None:
    """(what is meant, what was wrongly said) in "应该是3不是2" / "不是第三步，是第二步"; None otherwise."""
    if "是不是" in text:
        return None  # a question ("是不是就是失败了"), not a correction
    text = _STAMMER.sub("", text)
    for pattern in (_MEANT, _NO_I_MEANT, _NOT_IS, _IS_NOT, _WRONG_IS, _DROP_THEN, _UNDO_THEN, _DROP_THEN_AFTER,
                    _AMENDED):
        match = pattern.search(text)
        if match and pattern is _DROP_THEN_AFTER and _NOT_DROPPED.search(text):
            continue  # "别把第三项取消，第四项勾上就行", "为什么第三项取消了": no untick asked for
        if match:
            return match["yes"], match["no"]
    return None
