"""Every number the README and docs/ quote that the code (or a data file) defines is the code's number.

The prose said "answer when confidence ≥ 0.55" for months after ``fusion.ANSWER_THRESHOLD`` became 0.6: a
number written down twice drifts. Each row of ``QUOTES`` ties one quoted number to where it comes from: the
page, a pattern whose first group is the number as written (whitespace, line breaks included, counts as
one space), and what the code says. A quote that no longer matches fails too, so rewording a sentence
means updating its row, not losing the check. Measured figures (latencies, accuracies, memory) are not
here: they are measurements, dated in docs/benchmarks.md. Settings tables are checked by
test_config_docs.py.
"""

from __future__ import annotations

import inspect
import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import config
from bot.admin import auth
from bot.admin import pages as admin_web
from bot.admin import trend_pages as admin_trends
from bot.channels.kf import api as kf_api
from bot.channels.kf import inbound as kf_inbound
from bot.channels.kf import outbound as kf_outbound
from bot.channels.kf import state as kf_state
from bot.channels.longconn.holder import EXIT_AUTH, EXIT_KICKED
from bot.core import conversation, guide, staff_messages
from bot.core.pipeline import RESPONSE_URL_TTL
from bot.faq import fusion, search, semantic
from bot.faq.evaluate import read_cases
from bot.faq.knowledge import load_topics
from bot.faq.official import OfficialCodes
from bot.infra import redis_conn
from bot.ocr import images
from bot.understand import policy
from bot.understand.examples import load_specs
from bot.understand.factory import GUIDE_FILE
from bot.understand.items import closing_items
from tests.support import reply_targets as reply_sizes
from tests.support import screenshots, servers

ROOT = Path(__file__).resolve().parents[2]
KNOWLEDGE = search.KnowledgeBase.default_dir()
DATA = ROOT / "tests" / "data"
DAY, HOUR, MINUTE = 86400, 3600, 60
WORDS = {"an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10}

Value = float | str


def setting(name: str) -> Value:
    """The default of the setting read from environment variable ``name``."""
    return config.env_fields()[config.variables()[name]][0].default


def default_argument(function: Callable, name: str) -> Value:
    return inspect.signature(function).parameters[name].default


def official_codes() -> OfficialCodes:
    return OfficialCodes.load(KNOWLEDGE / search.CODES_DIR)


def codes_in_group(group: str) -> int:
    return sum(1 for code in official_codes().codes.values() if code.group == group)


def codes_a_topic_lists() -> int:
    listed = {code for topic in load_topics(KNOWLEDGE).values() for code in topic.expanded_codes()}
    return len(listed & set(official_codes().codes))


def passages() -> int:
    return sum(1 + len(semantic.topic_passages(topic)[1]) for topic in load_topics(KNOWLEDGE).values())


def examples_per_intent() -> float:
    specs = load_specs()
    return sum(len(spec.examples) for spec in specs) / len(specs)


def command_rows(name: str, split: str | None = None) -> int:
    rows = [json.loads(line) for line in (DATA / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return sum(1 for row in rows if split is None or row.get("split") == split)


def faq_cases(name: str, split: str | None = None, on_topic: bool | None = None) -> list:
    return [case for case in read_cases(DATA / name)
            if (split is None or case.split == split) and (on_topic is None or bool(case.accepted) == on_topic)]


def faq_topics(name: str) -> set[str]:
    """The topics a file's questions are about (the first accepted id of each: ``a|b`` counts as a)."""
    return {case.expected for case in faq_cases(name, on_topic=True)}


REAL = ("faq_real.tsv", "faq_real2.tsv", "faq_real3.tsv")


def lines_of(path: str) -> int:
    return len((ROOT / path).read_text(encoding="utf-8").splitlines())


def ci_fuzz_examples() -> int:
    found = re.search(r'HYPOTHESIS_EXAMPLES="\$\{HYPOTHESIS_EXAMPLES:-(\d+)\}"', (ROOT / ".ci" / "run").read_text())
    assert found, ".ci/run no longer sets the fuzz examples the way this test reads them"
    return int(found.group(1))


def redis_db_of_tests() -> int:
    source = (ROOT / "tests" / "support" / "environment.py").read_text()
    found = re.search(r'os\.environ\.get\("TEST_REDIS_DB", "(\d+)"\)', source)
    assert found, "tests/support/environment.py no longer defaults TEST_REDIS_DB the way this test reads it"
    return int(found.group(1))


def locked_version(package: str) -> str:
    found = re.search(rf"^{re.escape(package)}==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    assert found, f"{package} is not in constraints.txt"
    return found.group(1)


def python_floor() -> str:
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    return requires.removeprefix(">=")


@dataclass(frozen=True)
class Quote:
    page: str
    pattern: str  # group 1: the number as the page writes it
    value: Callable[[], Value]
    tolerance: float = 0.0  # relative, for "about", "~"

    @property
    def id(self) -> str:
        return f"{self.page}: {self.pattern[:60]}"


README, CHANNELS, CONFIGURATION = "README.md", "docs/channels.md", "docs/configuration.md"
OPERATIONS, UNDERSTANDING, FAQ = "docs/operations.md", "docs/understanding.md", "docs/faq.md"
OCR, REPLIES, ROBUSTNESS, BENCHMARKS = "docs/ocr.md", "docs/replies.md", "docs/robustness.md", "docs/benchmarks.md"

QUOTES = [
    # -- README
    Quote(README, r"fresh machine with Python (\d+\.\d+)\+", python_floor),
    Quote(README, r"chat --url http://127\.0\.0\.1:(\d+)", lambda: setting("PORT")),
    Quote(README, r"official WeChat error code of the journey \((\d+) codes", lambda: len(official_codes())),
    Quote(README, r"\(database (\d+), flushed", redis_db_of_tests),
    Quote(README, r"follow a (six)-step guide", lambda: guide.STEP_COUNT),
    Quote(README, r"walks each user through the (six) steps", lambda: guide.STEP_COUNT),
    Quote(README, r"\| all (six) steps with", lambda: guide.STEP_COUNT),
    Quote(README, r"the first userid there gets state (\d)", lambda: kf_api.HUMAN),
    Quote(README, r"the reception pool, state (\d)", lambda: kf_api.POOL),
    Quote(README, r"WeCom's (\d+) h window", lambda: kf_state.WINDOW_SECONDS / HOUR),
    # -- channels: 微信客服
    Quote(CHANNELS, r"a done marker \((\d+) days", lambda: kf_inbound.DONE_TTL // DAY),
    Quote(CHANNELS, r"their `media_id` is kept \((\d+) days", lambda: kf_inbound.MEDIA_TTL / DAY),
    Quote(CHANNELS, r"`KF_REPLY_MAX_BYTES`, ([\d,]+) bytes by default", lambda: setting("KF_REPLY_MAX_BYTES")),
    Quote(CHANNELS, r"WeCom allows (\d+) messages within", lambda: kf_state.WINDOW_MESSAGES),
    Quote(CHANNELS, r"WeCom allows \d+ messages within (\d+) h", lambda: kf_state.WINDOW_SECONDS / HOUR),
    Quote(CHANNELS, r"within the code's (\d+) s", lambda: kf_inbound.WELCOME_CODE_SECONDS),
    Quote(CHANNELS, r"once per (\d+) h per customer", lambda: kf_state.WELCOME_ONCE_SECONDS / HOUR),
    Quote(CHANNELS, r"\(state (\d) with the receptionist", lambda: kf_api.HUMAN),
    Quote(CHANNELS, r"with the receptionist, else (\d)\)", lambda: kf_api.POOL),
    Quote(CHANNELS, r"the receptionist ends the session \(state (\d)\)", lambda: kf_api.ENDED),
    Quote(CHANNELS, r"/end ends the session \(state (\d)\)", lambda: kf_api.ENDED),
    Quote(CHANNELS, r"(\d+) \(invalid open_kfid\)", lambda: kf_api.INVALID_OPEN_KFID),
    Quote(CHANNELS, r"(\d+) \(the \d+-message / \d+ h limit\)", lambda: kf_api.SEND_LIMIT),
    Quote(CHANNELS, r"\(the (\d+)-message / \d+ h limit\)", lambda: kf_outbound.WINDOW_MESSAGES),
    Quote(CHANNELS, r"\(the \d+-message / (\d+) h limit\)", lambda: kf_state.WINDOW_SECONDS / HOUR),
    Quote(CHANNELS, r"expired sync Token \((\d+)\)", lambda: kf_api.INVALID_SYNC_TOKEN),
    Quote(CHANNELS, r"a send in state (\d)/\d", lambda: kf_api.POOL),
    Quote(CHANNELS, r"a send in state \d/(\d)", lambda: kf_api.HUMAN),
    Quote(CHANNELS, r"a send in state \d/\d \((\d+)\)", lambda: kf_api.SESSION_STATE_REFUSED),
    Quote(CHANNELS, r"a stale cursor \((\d+),", lambda: kf_api.INVALID_PARAMETER),
    # -- channels: the long connection
    Quote(CHANNELS, r"exits \*\*(\d)\*\* with `WeCom refused", lambda: EXIT_AUTH),
    Quote(CHANNELS, r"and \*\*(\d)\*\* when a connection this deployment", lambda: EXIT_KICKED),
    Quote(CHANNELS, r"\(backoff (\d+) s doubling", lambda: setting("WS_BACKOFF_BASE")),
    Quote(CHANNELS, r"doubling to (\d+) s, with jitter", lambda: setting("WS_BACKOFF_MAX")),
    Quote(CHANNELS, r"of their last message \((an) hour, once\)", lambda: RESPONSE_URL_TTL / HOUR),
    Quote(CHANNELS, r"`bot/channels/longconn/client\.py` \(about (\d+) lines\)",
          lambda: lines_of("bot/channels/longconn/client.py"), tolerance=0.15),
    Quote(CHANNELS, r"port `DEMO_WS_PORT`, default (\d+)", lambda: setting("DEMO_WS_PORT")),
    # -- configuration (prose; the tables are test_config_docs.py's)
    Quote(CONFIGURATION, r"timeout over (\d+) days \(`MAX_SECONDS`", lambda: config.MAX_SECONDS / DAY),
    Quote(CONFIGURATION, r"`ADMIN_TOKEN` shorter than (\d+) characters", lambda: config.ADMIN_TOKEN_MIN_LENGTH),
    Quote(CONFIGURATION, r"with fewer than (\d+) different ones", lambda: config.ADMIN_TOKEN_MIN_DISTINCT),
    Quote(CONFIGURATION, r"count with failed logins: (\d+) within", lambda: auth.LOGIN_MAX_FAILURES),
    Quote(CONFIGURATION, r"failed logins: \d+ within (\d+) minutes", lambda: auth.LOGIN_WINDOW / MINUTE),
    Quote(CONFIGURATION, r"each message costs one of the window's (five)", lambda: kf_state.WINDOW_MESSAGES),
    Quote(CONFIGURATION, r"one of the window's \w+\); at most (\d+) \|", lambda: kf_api.TEXT_MAX_BYTES),
    # -- operations
    Quote(OPERATIONS, r"`client_max_body_size (\d+)k`", lambda: setting("MAX_CALLBACK_BYTES") / 1024),
    Quote(OPERATIONS, r"`BODY_DEADLINE_SECONDS` \((\d+) s;", lambda: setting("BODY_DEADLINE_SECONDS")),
    Quote(OPERATIONS, r"within the socket timeout \((\d+) s",
          lambda: default_argument(redis_conn.connect, "socket_timeout")),
    Quote(OPERATIONS, r"at most ([\d,]+) characters, secrets masked", lambda: staff_messages.MAX_REPLY_CHARS),
    Quote(OPERATIONS, r"newest first, (\d+) to a page", lambda: admin_web.CONVERSATION_PAGE),
    Quote(OPERATIONS, r"\(cut to (\d+) characters\)", lambda: conversation.REPLY_CHARS),
    Quote(OPERATIONS, r"the last (\d+) messages are kept per user", lambda: conversation.CONVERSATION_LIMIT),
    Quote(OPERATIONS, r"has a (\d+)-day chart", lambda: admin_trends.DAYS),
    Quote(OPERATIONS, r"runs on a (\d+)-master cluster",
          lambda: default_argument(servers.RedisClusterProcesses, "masters")),
    # -- understanding
    Quote(UNDERSTANDING, r"has ~(\d+) example phrasings per intent", examples_per_intent, tolerance=0.25),
    Quote(UNDERSTANDING, r"the model gives it ≥ (\d\.\d+)", lambda: policy.ACT),
    Quote(UNDERSTANDING, r"leads the runner-up by ≥ (\d\.\d+)", lambda: policy.MARGIN),
    Quote(UNDERSTANDING, r"\(`TEACH_CHECK_SECONDS`, default (\d+);", lambda: setting("TEACH_CHECK_SECONDS")),
    Quote(UNDERSTANDING, r"`closes: true` on (\w+) items",
          lambda: sum(len(items) for items in closing_items(GUIDE_FILE).values())),
    Quote(UNDERSTANDING, r"\(input `step` 0 = not started … (\d) = finished", lambda: guide.STEP_COUNT + 1),
    Quote(UNDERSTANDING, r"`commands_eval5\.jsonl` \((\d+)\)", lambda: command_rows("commands_eval5.jsonl")),
    Quote(UNDERSTANDING, r"`commands_eval6\.jsonl` \((\d+)\)", lambda: command_rows("commands_eval6.jsonl")),
    Quote(UNDERSTANDING, r"3\.5 % harmful\*\* \(\d+ of (\d+)\)",
          lambda: command_rows("commands_eval5.jsonl", "holdout")),
    Quote(UNDERSTANDING, r"10\.2 % harmful\*\* \(\d+ of (\d+)\)",
          lambda: command_rows("commands_eval6.jsonl", "holdout")),
    Quote(UNDERSTANDING, r"learned from (\d+) \+ \d+ dev rows", lambda: command_rows("commands_eval5.jsonl", "dev")),
    Quote(UNDERSTANDING, r"learned from \d+ \+ (\d+) dev rows", lambda: command_rows("commands_eval6.jsonl", "dev")),
    Quote(UNDERSTANDING, r"\(all four: \d+ of (\d+),",
          lambda: sum(command_rows(f"commands_eval{n}.jsonl", "holdout") for n in ("", "2", "3", "4"))),
    # -- FAQ
    Quote(FAQ, r"\(up to (three) topics to choose from", lambda: search.MAX_ALTERNATIVES),
    Quote(FAQ, r"\(first (\d+) characters / \d+ tokens\)", lambda: semantic.MAX_EMBED_CHARS),
    Quote(FAQ, r"\(first \d+ characters / (\d+) tokens\)", lambda: semantic.MAX_EMBED_TOKENS),
    Quote(FAQ, r"\(lexical confidence ≥ (\d\.\d+)\)", lambda: search.LEXICAL_SURE),
    Quote(FAQ, r"a cache of ([\d,]+) questions", lambda: semantic.QUERY_CACHE_SIZE),
    Quote(FAQ, r"question's best and (\d+)th-best topic", lambda: fusion.DENSE_FLOOR_RANK),
    Quote(FAQ, r"mixed (\d\.\d+) / \d\.\d+\.", lambda: fusion.LEXICAL_WEIGHT),
    Quote(FAQ, r"mixed \d\.\d+ / (\d\.\d+)\.", lambda: 1 - fusion.LEXICAL_WEIGHT),
    Quote(FAQ, r"The user's current step adds (\d\.\d+)", lambda: search.STEP_BOOST),
    Quote(FAQ, r"Answer when confidence ≥ (\d\.\d+)", lambda: fusion.ANSWER_THRESHOLD),
    Quote(FAQ, r"\*\*and\*\* the lead ≥ (\d\.\d+);", lambda: fusion.AMBIGUITY_MARGIN),
    Quote(FAQ, r"suggest when confidence ≥ (\d\.\d+)", lambda: fusion.SUGGEST_THRESHOLD),
    Quote(FAQ, r"embeds all ~(\d+) passages", passages, tolerance=0.15),
    Quote(FAQ, r"`FAQ_EMBED_THREADS` \(default (\d+):", lambda: setting("FAQ_EMBED_THREADS")),
    Quote(FAQ, r"`faq_real2\.tsv` \((\d+) questions", lambda: len(faq_cases("faq_real2.tsv"))),
    Quote(FAQ, r"`faq_real2\.tsv` \(\d+ questions, (\d+) topics", lambda: len(faq_topics("faq_real2.tsv"))),
    Quote(FAQ, r"\d+ topics, (\d+) of them with no question in the first file",
          lambda: len(faq_topics("faq_real2.tsv") - faq_topics("faq_real.tsv"))),
    Quote(FAQ, r"`faq_real3\.tsv` \((\d+) questions\)", lambda: len(faq_cases("faq_real3.tsv"))),
    Quote(FAQ, r"the three files together, (\d+) on-topic",
          lambda: sum(len(faq_cases(name, "holdout", True)) for name in REAL)),
    Quote(FAQ, r"the three files together, \d+ on-topic / (\d+) off-topic",
          lambda: sum(len(faq_cases(name, "holdout", False)) for name in REAL)),
    Quote(FAQ, r"86\.0 % \(\d+/(\d+)\)", lambda: sum(len(faq_cases(name, "holdout", True)) for name in REAL)),
    Quote(FAQ, r"3\.5 % \(\d+/(\d+)\)", lambda: sum(len(faq_cases(name, "holdout", True)) for name in REAL)),
    Quote(FAQ, r"81\.3 % \(\d+/(\d+)\)", lambda: sum(len(faq_cases(name, "holdout", False)) for name in REAL)),
    Quote(FAQ, r"84\.3 %, \d+/(\d+)\)", lambda: sum(len(faq_cases(name, "holdout", True)) for name in REAL[:2])),
    Quote(FAQ, r"The third file's off-topic rows are few \((\d+)\)",
          lambda: len(faq_cases("faq_real3.tsv", on_topic=False))),
    # -- OCR and the official error codes
    Quote(OCR, r"\*\*(\d+) codes\*\*", lambda: len(official_codes())),
    Quote(OCR, r"(\d+) common codes of token", lambda: codes_in_group("common")),
    Quote(OCR, r"(\d+) of the third-party platform", lambda: codes_in_group("component")),
    Quote(OCR, r"(\d+) of code management", lambda: codes_in_group("code_management")),
    Quote(OCR, r"and (\d+) of running mini programs afterwards", lambda: codes_in_group("operations")),
    Quote(OCR, r"keeps the topic's fuller answer \((\d+) of the \d+\)", codes_a_topic_lists),
    Quote(OCR, r"fuller answer \(\d+ of the (\d+)\)", lambda: len(official_codes())),
    Quote(OCR, r"the other (\d+) are answered from the table", lambda: len(official_codes()) - codes_a_topic_lists()),
    Quote(OCR, r"counts against the customer's (\d+) h / \d+ message window", lambda: kf_state.WINDOW_SECONDS / HOUR),
    Quote(OCR, r"counts against the customer's \d+ h / (\d+) message window", lambda: kf_state.WINDOW_MESSAGES),
    Quote(OCR, r"the long side shrunk to ([\d,]+) px", lambda: images.MAX_SIDE),
    Quote(OCR, r"with the default (\d+) s one run", lambda: setting("OCR_TIMEOUT")),
    Quote(OCR, r"`rapidocr-onnxruntime` (\d+\.\d+\.\d+) \(", lambda: locked_version("rapidocr-onnxruntime")),
    Quote(OCR, r"\*\*How well \(measured, `python scripts/ocr_eval\.py`\)\.\*\* (\d+) screenshots",
          lambda: default_argument(screenshots.evaluation_set, "count")),
    Quote(OCR, r"`tests/support/screenshots\.py`\): (\d+) real error texts", lambda: len(screenshots.CASES)),
    Quote(OCR, r"Four at once still queue behind the (two) slots", lambda: setting("OCR_CONCURRENCY")),
    # -- replies (targets; the sizes are measurements)
    Quote(REPLIES, r"\| 开始 \| [\d,]+ bytes \| [\d,]+ \| ≤ ([\d,]+) \|", lambda: reply_sizes.START_MAX),
    Quote(REPLIES, r"\| 下一步 \(largest step\) \| [\d,]+ \| [\d,]+ \| ≤ ([\d,]+) \|", lambda: reply_sizes.NEXT_MAX),
    Quote(REPLIES, r"\| 进度 \(largest step\) \| [\d,]+ \| [\d,]+ \| ≤ ([\d,]+) \|", lambda: reply_sizes.STATUS_MAX),
    Quote(REPLIES, r"\| 勾选 N \(largest\) \| [\d,]+ \| [\d,]+ \| ≤ ([\d,]+) \|", lambda: reply_sizes.CHECK_MAX),
    # -- robustness
    Quote(ROBUSTNESS, r"CI: ([\d,]+) inputs per target \(`HYPOTHESIS_EXAMPLES`\)", ci_fuzz_examples),
    Quote(ROBUSTNESS, r"webhook never above (\d+) per window", lambda: setting("WEBHOOK_RATE_LIMIT")),
    Quote(ROBUSTNESS, r"401 for the first (\d+), then", lambda: auth.LOGIN_MAX_FAILURES),
    Quote(ROBUSTNESS, r"from that address for (\d+) minutes", lambda: auth.LOGIN_WINDOW / MINUTE),
    Quote(ROBUSTNESS, r"was locked out for (\d+) minutes", lambda: auth.LOGIN_WINDOW / MINUTE),
    Quote(ROBUSTNESS, r"at most `SENDER_THREADS` \((\d+)\) messages per kill", lambda: setting("SENDER_THREADS")),
    Quote(ROBUSTNESS, r"with the deadline \((\d+) s, the default;", lambda: setting("BODY_DEADLINE_SECONDS")),
    Quote(ROBUSTNESS, r"\((\d+) gevent workers × [\d,]+ connections", lambda: setting("WEB_CONCURRENCY")),
    Quote(ROBUSTNESS, r"gevent workers × ([\d,]+) connections", lambda: setting("WEB_WORKER_CONNECTIONS")),
    Quote(ROBUSTNESS, r"3,000 > ([\d,]+) slots",
          lambda: setting("WEB_CONCURRENCY") * setting("WEB_WORKER_CONNECTIONS")),
    # -- benchmarks (what the code sets; the figures are measurements)
    Quote(BENCHMARKS, r"embeds ~(\d+) passages", passages, tolerance=0.15),
    Quote(BENCHMARKS, r"without the body deadline vs with it \((\d+) s\)", lambda: setting("BODY_DEADLINE_SECONDS")),
    Quote(BENCHMARKS, r"production backoff \((\d+) s × jitter", lambda: setting("WS_BACKOFF_BASE")),
]


def quoted_number(written: str) -> Value:
    if written.lower() in WORDS:
        return WORDS[written.lower()]
    if written.count(".") > 1:
        return written  # a version
    return float(written.replace(",", ""))


def page_text(page: str) -> str:
    return re.sub(r"\s+", " ", (ROOT / page).read_text(encoding="utf-8"))


@pytest.mark.parametrize("quote", QUOTES, ids=[quote.id for quote in QUOTES])
def test_a_quoted_number_is_the_codes(quote: Quote) -> None:
    written = re.findall(quote.pattern, page_text(quote.page))
    assert written, f"{quote.page} no longer says {quote.pattern!r}: reword the row in QUOTES with the sentence"
    actual = quote.value()
    for text in written:
        number = quoted_number(text)
        if isinstance(actual, str) or isinstance(number, str):
            assert str(number) == str(actual), f"{quote.page} says {text}, the code says {actual}"
        else:
            assert abs(number - actual) <= quote.tolerance * abs(actual) + 1e-9, \
                f"{quote.page} says {text}, the code says {actual}"


# The FAQ table's "on-topic / off-topic" column counts the evaluation files' rows.
_FAQ_ROW = re.compile(r"^\| `(faq_\w+\.tsv)` \| (\w+) \| (\d+) / (\d+) \|", re.MULTILINE)


def test_the_faq_table_counts_the_evaluation_files() -> None:
    rows = _FAQ_ROW.findall((ROOT / FAQ).read_text(encoding="utf-8"))
    assert len(rows) >= 8, rows
    for name, split, on_topic, off_topic in rows:
        wanted = None if split == "all" else split
        assert (int(on_topic), int(off_topic)) == (len(faq_cases(name, wanted, True)),
                                                  len(faq_cases(name, wanted, False))), (name, split)


def test_every_page_is_read_for_quotes() -> None:
    """A new docs/ page with numbers in it gets rows here (or this test says which page has none)."""
    pages = {quote.page for quote in QUOTES}
    assert pages == {README, *(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))}, pages
