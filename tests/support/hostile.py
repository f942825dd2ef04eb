"""Hypothesis strategies for whole hostile documents: any XML shape, any JSON value in any field.

The review that found 642 signed 500s among 10,000 inputs had wider generators than ours; these are
at least as wide: every field WeCom sends can hold any value (numbers past int()'s digit limit,
non-ASCII digits, nested elements or objects, lists, deep nesting), and whole documents can be any
shape. Values that matter for a code path (message types, event types) are mixed in so the
generated documents reach the handlers, not only the parsers.
"""

from __future__ import annotations

import json
import random
import re
from xml.sax.saxutils import escape, quoteattr

from hypothesis import strategies as st

from tests.support.phrases import TICK_ITEM_2

# -- scalars that broke something once ------------------------------------------------------------
TRICKY_STRINGS = ["", " ", "²", "١٢٣", "１２３", "12³", "⁴⁵", "-1", "0", "007", "1e309", "inf", "nan", "NaN",
                  "9" * 5000, "1" * 4301, "\u202e", "\u2028", "vic\r\nERROR forged", "A}:aibot:mA:{Z", "%7B",
                  "]]>", "<xml>", "&amp;", "😀" * 20, "\x00", "true", "null", "[]", "{}",
                  "text", "event", "image", "voice", "mixed", "stream", "file", "video", "TEXT", "Event",
                  "enter_agent", "enter_chat", "subscribe", "click", "template_card_event", "feedback_event",
                  "开始", "完成", "第3步", TICK_ITEM_2, "重置", "确认", "人工", "进度", "61004",
                  # issue 22: lone surrogates (JSON "\ud800"), a nonce/CDATA injection, C1 controls, full-width forms
                  "\ud800", "a\udfffb", "\udbff\ud800", "开始\ud800", "]]><Injected>1</Injected><![CDATA[",
                  "\x1b[31m", "\x85", "\u2029", "\ufeff", "ＡｐｐＳｅｃｒｅｔ：１２３", "ｗｘ１２３４",
                  "]]]]><![CDATA[>"]
# Characters from the categories that broke something: surrogates, controls, format characters, odd spaces,
# and the full-width forms (U+FF01-FF5E) NFKC folds to ASCII.
odd_chars = st.one_of(st.characters(categories=["Cs", "Cc", "Cf", "Zs", "Zl", "Zp"]),
                      st.characters(min_codepoint=0xFF01, max_codepoint=0xFF5E), st.sampled_from("]]><![CDATA[&"))
tricky_text = st.one_of(st.text(max_size=40), st.sampled_from(TRICKY_STRINGS), st.integers().map(str),
                        st.text(alphabet=st.one_of(odd_chars, st.characters()), max_size=30))

# -- JSON (the AI bot) ----------------------------------------------------------------------------
# Fragments json.dumps cannot produce (or produces only slowly) are spliced in for placeholders.
RAW_JSON = ["1" + "0" * 5000, "-" + "9" * 4299, "1e400", "-0.0", "NaN", "Infinity", "-Infinity",
            "[" * 3000 + "]" * 3000, '{"a":' * 1500 + "1" + "}" * 1500, "1" + "0" * 4000]
_PLACEHOLDER = "\x00raw{}\x00"

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63 - 2, max_value=2**64 + 2),
    st.floats(allow_nan=False, allow_infinity=False), tricky_text,
    st.sampled_from(range(len(RAW_JSON))).map(_PLACEHOLDER.format),
)
json_keys = st.one_of(st.text(max_size=10), st.sampled_from(
    ["msgid", "msgtype", "from", "userid", "text", "content", "event", "eventtype", "stream", "id", "type",
     "chatid", "chattype", "response_url", "mixed", "msg_item", "quote", "event_key", "task_id"]))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=4),
    max_leaves=16,
)


# Any value for one field: small (generation time is most of a fuzz input's cost), but every kind.
field_values = st.recursive(
    json_scalars, lambda children: st.lists(children, max_size=3) | st.dictionaries(json_keys, children, max_size=3),
    max_leaves=4,
)


def _maybe(plausible: st.SearchStrategy) -> st.SearchStrategy:
    """A field's plausible value most of the time, anything at all otherwise (or absent: optional keys)."""
    return st.one_of(plausible, plausible, field_values)


_EVENT_TYPES = ["enter_chat", "template_card_event", "feedback_event", "unknown", ""]


def _event(eventtype, body, extra):
    event = {"eventtype": eventtype}
    if isinstance(eventtype, str):
        event[eventtype] = body
    event.update(extra)
    return event


aibot_event = st.builds(
    _event,
    _maybe(st.sampled_from(_EVENT_TYPES)),
    _maybe(st.fixed_dictionaries({}, optional={
        "event_key": _maybe(tricky_text), "task_id": _maybe(tricky_text), "card_type": _maybe(tricky_text),
        "id": _maybe(tricky_text), "type": _maybe(st.one_of(st.sampled_from([1, 2, 3, "1", "2", "²"]), tricky_text)),
        "content": _maybe(tricky_text), "inaccurate_reason_list": field_values})),
    st.dictionaries(json_keys, field_values, max_size=2),
)
_item = st.fixed_dictionaries({"msgtype": _maybe(st.sampled_from(["text", "image"])),
                               "text": _maybe(st.fixed_dictionaries({"content": _maybe(tricky_text)}))})

aibot_document = st.fixed_dictionaries({}, optional={
    "msgid": _maybe(tricky_text),
    "aibotid": _maybe(tricky_text),
    "chattype": _maybe(st.sampled_from(["single", "group"])),
    "chatid": _maybe(tricky_text),
    "from": _maybe(st.fixed_dictionaries({"userid": _maybe(st.sampled_from(["vic", "vic ", "zoe"]) | tricky_text)})),
    "msgtype": _maybe(st.sampled_from(["text", "mixed", "event", "stream", "image", "voice", "file"])),
    "text": _maybe(st.fixed_dictionaries({"content": _maybe(tricky_text)})),
    "voice": _maybe(st.fixed_dictionaries({"content": _maybe(tricky_text)})),
    "mixed": _maybe(st.fixed_dictionaries({"msg_item": _maybe(st.lists(_maybe(_item), max_size=3))})),
    "quote": _maybe(st.fixed_dictionaries({"msgtype": _maybe(st.just("text")), "text": field_values})),
    "event": _maybe(aibot_event),
    "stream": _maybe(st.fixed_dictionaries({"id": _maybe(tricky_text)})),
    "response_url": _maybe(st.sampled_from(["https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=x",
                                            "http://evil.example/steal", "javascript:alert(1)"])),
    "create_time": _maybe(st.integers(min_value=0, max_value=2**40)),
}).flatmap(lambda doc: st.dictionaries(json_keys, field_values, max_size=2).map(lambda more: {**more, **doc}))


_SURROGATE = re.compile("[\ud800-\udfff]")


def render_json(value: object) -> str:
    """Serialise, then splice in the raw fragments for their placeholders. A lone surrogate (not UTF-8)
    goes as its escape, ``"\\ud800"``, as a JSON sender would write it."""
    text = json.dumps(value, ensure_ascii=False)
    for i, fragment in enumerate(RAW_JSON):
        text = text.replace(json.dumps(_PLACEHOLDER.format(i), ensure_ascii=False), fragment)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def utf8_safe(text: str) -> str:
    """For a body that is not JSON (XML, an echostr): a lone surrogate cannot be sent at all, so U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def xml_charrefs(text: str) -> str:
    """What XML cannot carry as UTF-8 (a lone surrogate) as a character reference, which expat refuses."""
    return _SURROGATE.sub(lambda m: f"&#x{ord(m.group()):X};", text)


aibot_plaintext = st.one_of(
    aibot_document.map(render_json),
    json_values.map(render_json),
    st.text(max_size=200),
    st.sampled_from(RAW_JSON),
)

# -- XML (the self-built app) -------------------------------------------------------------------
APP_FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "AgentID", "Event",
              "EventKey", "TaskId", "CardType", "PicUrl", "MediaId", "Recognition", "xml", "Encrypt"]
xml_names = st.one_of(st.sampled_from(APP_FIELDS), st.sampled_from(APP_FIELDS),
                      st.text(alphabet="abcXYZ_.-019", min_size=1, max_size=6).map(lambda t: "n" + t),
                      st.sampled_from(["a:b", "xmlns", "1bad", "a b", ""]))  # the last: not even names


def _cdata(text: str) -> str:
    return "<![CDATA[{}]]>".format(text.replace("]]>", "]]]]><![CDATA[>"))


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _legal(text: str) -> str:
    """What XML 1.0 can carry at all (WeCom cannot send the rest); raw text below keeps some of it."""
    return _XML_ILLEGAL.sub("", text)


_legal_text = tricky_text.map(_legal)
xml_text = st.one_of(_legal_text.map(escape), _legal_text.map(_cdata), _legal_text.map(escape), _legal_text.map(_cdata),
                     _legal_text.map(escape), st.text(max_size=20),  # the raw one: maybe not XML at all
                     tricky_text.map(xml_charrefs))
xml_attrs = st.dictionaries(st.sampled_from(["a", "id", "type", "xmlns", "xml:lang"]),
                            tricky_text.map(_legal).map(quoteattr), max_size=2)


def _element(name: str, attrs: dict[str, str], parts: list[str]) -> str:
    attributes = "".join(f" {k}={v}" for k, v in attrs.items())
    return f"<{name}{attributes}>{''.join(parts)}</{name}>"


xml_nodes = st.recursive(
    xml_text,
    lambda inner: st.builds(_element, xml_names, xml_attrs, st.lists(inner, max_size=3)),
    max_leaves=12,
)


def _deep(depth: int) -> str:
    return "<a>" * depth + "x" + "</a>" * depth


# Nesting past the recursion limit is the case that matters; a few depths around it cost less than any depth.
DEPTHS = [2, 64, 999, 1001, 3000, 6000]
_field_value = st.one_of(xml_text, xml_text, xml_text, xml_nodes, st.sampled_from(DEPTHS).map(_deep))
_plausible_app = {
    "ToUserName": st.just("<![CDATA[wwtestcorp000001]]>"),
    "FromUserName": st.sampled_from(["<![CDATA[vic]]>", "<![CDATA[vic ]]>", "zoe"]),
    "CreateTime": st.integers(min_value=0, max_value=2**40).map(str),
    "MsgType": st.sampled_from(["text", "event", "image", "voice", "link", "TEXT"]),
    "Content": tricky_text.map(_legal).map(_cdata),
    "MsgId": st.integers(min_value=0, max_value=2**64).map(str),
    "Event": st.sampled_from(["enter_agent", "subscribe", "click", "template_card_event", "LOCATION"]),
    "EventKey": tricky_text.map(_legal).map(_cdata),
    "AgentID": st.just("1000002"),
}
_REQUIRED = ("FromUserName", "MsgType")  # present (with any value) in most documents, so they reach the handlers
_app_fields = st.fixed_dictionaries(
    {name: st.one_of(_plausible_app[name], _plausible_app[name], _field_value) for name in _REQUIRED},
    optional={name: st.one_of(value, value, _field_value) for name, value in _plausible_app.items()
              if name not in _REQUIRED})
_prologs = st.one_of(st.just(""), st.just(""), st.just(""), st.sampled_from([
    "", '<?xml version="1.0" encoding="utf-8"?>', "<!-- c -->",
    '<!DOCTYPE xml [<!ENTITY e "boom">]>', '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    "<?pi x?>"]))


def _document(prolog: str, root: str, fields: dict[str, str], extra: list[tuple[str, str]], repeat: bool,
              seed: int | None) -> str:
    items = list(fields.items()) + extra
    if repeat and items:
        items.append(items[0])  # a repeated element: xmltodict makes it a list
    if seed is not None:
        random.Random(seed).shuffle(items)
    body = "".join(f"<{name}>{value}</{name}>" for name, value in items)
    return f"{prolog}<{root}>{body}</{root}>"


app_document = st.builds(
    _document, _prologs, st.sampled_from(["xml"] * 8 + ["XML", "root"]), _app_fields,
    st.lists(st.tuples(xml_names, _field_value), max_size=2), st.sampled_from([False, False, False, True]),
    st.none() | st.integers(min_value=0, max_value=2**16),
)

app_plaintext = st.one_of(
    app_document, app_document, xml_nodes, st.text(max_size=200), tricky_text.map(xml_charrefs),
    st.sampled_from(DEPTHS).map(lambda n: "<xml>" + _deep(n) + "</xml>"),
    st.sampled_from(["", "<xml/>", "<xml></xml>", "<xml><MsgType/></xml>", "<xml>&e;</xml>", "\ufeff<xml/>"]),
)

# -- the same documents, drawn fast ---------------------------------------------------------------
# Hypothesis spends ~10 ms drawing one structured document above; 10,000 inputs per endpoint in CI
# need less. These build documents of the same ingredients from one seeded random.Random (one
# Hypothesis draw, reproducible from the failing example's seed); they make most of each run, the
# structured (and better shrinking) strategies the rest.
_ALPHABETS = ["abc XYZ 019", "开始完成第步勾选重置认证", "<>&\"';:{}%]]", "\x00\x01\r\n\t\u2028\u202e", "²³¹١٢٣１２３",
              "\ud800\udbff\udc00\udfffab", "ＡＢＣａｂｃ１２３：＝＜＞　", "]]><![CDATA[x",
              "\x80\x85\x9f\x1b\x7f\ufeff\u200b"]


def fast_text(rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.5:
        return rnd.choice(TRICKY_STRINGS)
    if roll < 0.6:
        return str(rnd.randint(-(2**70), 2**70))
    alphabet = rnd.choice(_ALPHABETS)
    return "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))


def fast_json(rnd: random.Random, depth: int = 0) -> object:
    roll = rnd.random()
    if depth < 3 and roll < 0.15:
        return [fast_json(rnd, depth + 1) for _ in range(rnd.randint(0, 3))]
    if depth < 3 and roll < 0.3:
        return {rnd.choice(_JSON_KEYS) if rnd.random() < 0.7 else fast_text(rnd): fast_json(rnd, depth + 1)
                for _ in range(rnd.randint(0, 3))}
    return rnd.choice([None, True, False, rnd.randint(-(2**64), 2**64), rnd.random() * 1e300, fast_text(rnd),
                       fast_text(rnd), _PLACEHOLDER.format(rnd.randrange(len(RAW_JSON)))])


_JSON_KEYS = ["msgid", "msgtype", "from", "userid", "text", "content", "event", "eventtype", "stream", "id", "type",
              "chatid", "chattype", "response_url", "mixed", "msg_item", "quote", "event_key", "task_id"]
_FAST_PLAUSIBLE = {
    "msgid": lambda r: r.choice(["m1", "m2", str(r.randint(0, 10**9))]),
    "chattype": lambda r: r.choice(["single", "group"]),
    "chatid": lambda r: r.choice(["grp", "grp2"]),
    "from": lambda r: {"userid": r.choice(["vic", "vic ", "zoe"])},
    "msgtype": lambda r: r.choice(["text", "text", "mixed", "event", "stream", "image", "voice"]),
    "text": lambda r: {"content": fast_text(r)},
    "voice": lambda r: {"content": fast_text(r)},
    "mixed": lambda r: {"msg_item": [{"msgtype": r.choice(["text", "image"]), "text": {"content": fast_text(r)}}
                                     for _ in range(r.randint(0, 3))]},
    "event": lambda r: (lambda t: {"eventtype": t, t: {k: fast_json(r) if r.random() < 0.3 else fast_text(r)
                                                       for k in ("event_key", "task_id", "id", "type", "content")
                                                       if r.random() < 0.6}})(r.choice(_EVENT_TYPES)),
    "stream": lambda r: {"id": fast_text(r)},
    "response_url": lambda r: r.choice(["https://qyapi.weixin.qq.com/cgi-bin/aibot/response?x=1", "http://evil/"]),
    "create_time": lambda r: r.randint(0, 2**40),
}


def fast_aibot_plaintext(rnd: random.Random) -> str:
    if rnd.random() < 0.1:
        return render_json(fast_json(rnd)) if rnd.random() < 0.7 else rnd.choice(RAW_JSON)
    doc = {}
    for name, plausible in _FAST_PLAUSIBLE.items():
        if rnd.random() < 0.7:
            doc[name] = plausible(rnd) if rnd.random() < 0.75 else fast_json(rnd)
    return render_json(doc)


def _fast_xml_value(rnd: random.Random, depth: int = 0) -> str:
    roll = rnd.random()
    if roll < 0.05:
        return _deep(rnd.choice(DEPTHS))
    if depth < 3 and roll < 0.15:
        name = rnd.choice([*APP_FIELDS, "a", "n.1", "a:b"])
        return "".join(f"<{name}>{_fast_xml_value(rnd, depth + 1)}</{name}>" for _ in range(rnd.randint(1, 2)))
    text = fast_text(rnd)
    if roll < 0.2:
        return xml_charrefs(text)  # raw: maybe not XML at all
    return _cdata(_legal(text)) if rnd.random() < 0.5 else escape(_legal(text))


_FAST_APP = {
    "ToUserName": lambda r: "<![CDATA[wwtestcorp000001]]>",
    "FromUserName": lambda r: r.choice(["<![CDATA[vic]]>", "<![CDATA[vic ]]>", "zoe"]),
    "CreateTime": lambda r: str(r.randint(0, 2**40)),
    "MsgType": lambda r: r.choice(["text", "text", "event", "image", "voice", "TEXT"]),
    "Content": lambda r: _cdata(_legal(fast_text(r))),
    "MsgId": lambda r: str(r.randint(0, 2**64)),
    "Event": lambda r: r.choice(["enter_agent", "subscribe", "click", "template_card_event", "LOCATION"]),
    "EventKey": lambda r: _cdata(_legal(fast_text(r))),
    "TaskId": lambda r: xml_charrefs(fast_text(r)),
    "AgentID": lambda r: "1000002",
}


def fast_app_plaintext(rnd: random.Random) -> str:
    if rnd.random() < 0.05:
        return rnd.choice(["", "<xml/>", "<xml></xml>", "<xml>&e;</xml>", _deep(rnd.choice(DEPTHS)),
                           xml_charrefs(fast_text(rnd))])
    items = [(name, plausible(rnd) if rnd.random() < 0.8 else _fast_xml_value(rnd))
             for name, plausible in _FAST_APP.items() if name in _REQUIRED or rnd.random() < 0.6]
    if rnd.random() < 0.1:
        items.append(rnd.choice(items))  # a repeated element
    if rnd.random() < 0.2:
        rnd.shuffle(items)
    prolog = rnd.choice(["", "", "", "", '<?xml version="1.0"?>', '<!DOCTYPE xml [<!ENTITY e "x">]>', "<!--c-->"])
    root = "xml" if rnd.random() < 0.95 else rnd.choice(["XML", "root"])
    return f"{prolog}<{root}>{''.join(f'<{n}>{v}</{n}>' for n, v in items)}</{root}>"


def fast(build) -> st.SearchStrategy:
    """A strategy of ``build(random.Random)`` documents: one draw each."""
    return st.randoms(use_true_random=True).map(build)


app_plaintext_fast = st.one_of(app_plaintext, fast(fast_app_plaintext), fast(fast_app_plaintext),
                               fast(fast_app_plaintext))
aibot_plaintext_fast = st.one_of(aibot_plaintext, fast(fast_aibot_plaintext), fast(fast_aibot_plaintext),
                                 fast(fast_aibot_plaintext))
text_fast = fast(fast_text)


# -- the outer bodies (before decryption) -------------------------------------------------------
app_body = st.one_of(st.binary(max_size=2000), app_document.map(str.encode),
                     fast(fast_app_plaintext).map(str.encode), fast(fast_app_plaintext).map(str.encode),
                     st.builds(lambda n: (f"<xml><Encrypt>{'<a>' * n}</Encrypt></xml>").encode(),
                               st.sampled_from(DEPTHS)))
aibot_body = st.one_of(st.binary(max_size=1000), json_values.map(lambda v: render_json(v).encode()),
                       fast(fast_aibot_plaintext).map(str.encode),
                       st.fixed_dictionaries({"encrypt": json_values}).map(lambda v: render_json(v).encode()))
# Nonces WeCom never sends (letters and digits only), among them the one that injected an element.
NONCES = ["]]><Injected>1</Injected><![CDATA[", "</Nonce><x/>", "1 2", "１２３", "abc\x00", "a&amp;b", "<", "x" * 64]
query_values = st.one_of(st.text(max_size=80), tricky_text.map(lambda t: _SURROGATE.sub("", t)),
                         st.sampled_from(NONCES))  # a URL cannot carry a lone surrogate
query = st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]), query_values,
                        max_size=5)

# Pasted secrets (tests/support/secret_samples.py: every shape, every way of pasting), as chat text.
def _secret_message(shape: str, seed: int) -> str:
    from tests.support.secret_samples import secret_message

    return secret_message(shape, random.Random(seed))[0]


def _secret_shapes() -> list[str]:
    from tests.support.secret_samples import SHAPES

    return sorted(SHAPES)


secret_text = st.builds(_secret_message, st.sampled_from(_secret_shapes()), st.integers(min_value=0, max_value=2**32))
