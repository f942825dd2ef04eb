"""FAQ knowledge base: loader validation, retrieval behaviour, accuracy targets, CLI contract.

No Redis: the FAQ is pure Python over the files in data/knowledge/.
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.faq import KnowledgeBase, KnowledgeError, SearchResult, Topic, fusion
from bot.faq.cli import main as cli_main
from bot.faq.codes import expand_code_spec, find_codes, find_step, unknown_codes
from bot.faq.evaluate import evaluate, evaluate_splits, format_report, ranking_top1, read_cases
from bot.faq.semantic import MAX_EMBED_CHARS, MAX_EMBED_TOKENS, Embedder

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "tests" / "data" / "faq_eval.tsv"
# Questions written blind to the keyword/phrasing lists: measures what the eval set cannot
# (generalisation). Never copy its phrasings into data/knowledge.
HOLDOUT = ROOT / "tests" / "data" / "faq_holdout.tsv"
TOPICS_MD = Path("/work/shared/knowledge/topics.md")

# The ids of topics.md (used when that file is not available, e.g. outside the dev box).
TOPIC_IDS = [
    "dev_qualification_cert",
    "personal_account_limits",
    "platform_type_choice",
    "dev_mode_traditional",
    "permission_sets_needed",
    "perm18_mp_lock",
    "perm_mutex_conflict",
    "perm_add_requires_reauth",
    "auth_vs_msg_url",
    "verify_ticket_basics",
    "ticket_troubleshoot",
    "auth_domain_rules",
    "test_list_original_id",
    "find_original_id",
    "ip_whitelist_3rd",
    "err_61004",
    "test_vs_live_config",
    "platform_review_wait",
    "appsecret_get_reset",
    "cloud_link_tencent",
    "tc_account_single_mp",
    "tc_account_unbind",
    "perm49_cloud",
    "weda_submit_credentials",
    "weda_cert_failed",
    "err_40013",
    "err_40125",
    "err_61005_61006",
    "err_system_busy",
    "dev_vs_authorized_mp",
    "bind_dev_mp",
    "code_upload_key_where",
    "code_upload_ip_whitelist",
    "upload_key_update",
    "template_draft_limits",
    "weda_merchant_auth_link",
    "weda_resource_pack",
    "weda_env_binding_rules",
    "weda_billing",
    "pre_release_auth_scope",
    "auth_scan_no_account",
    "err_61003",
    "err_61007_48001",
    "err_61023",
    "code_commit_85xxx",
    "domain_89xxx",
    "revoke_auth",
    "full_release_how",
    "full_release_msg_checks",
    "full_release_test_accounts",
    "full_release_duration",
    "full_release_fail_debug",
    "open_vs_mp_platform",
]

VALID_TOPIC = """\
- id: sample_topic
  step: 1
  title_zh: 示例
  title_en: Sample
  answer_zh: 回答
  answer_en: Answer
  source: https://example.com/doc
  keywords: [示例]
"""


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    base = KnowledgeBase.load(KnowledgeBase.default_dir())
    for _ in range(1200):  # a fresh machine embeds the topics in the background first (10-40 s)
        if base.semantic_ready:
            break
        time.sleep(0.1)
    assert base.semantic_ready
    return base


def required_ids() -> list[str]:
    if TOPICS_MD.exists():
        ids = re.findall(r"^\|\s*([a-z][a-z0-9_]+)\s*\|", TOPICS_MD.read_text(encoding="utf-8"), re.MULTILINE)
        return [i for i in ids if i != "id"]
    return TOPIC_IDS


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# ---------------------------------------------------------------- knowledge data


def test_every_topic_of_topics_md_is_present(kb: KnowledgeBase) -> None:
    ids = required_ids()
    assert len(ids) >= 50
    missing = [i for i in ids if i not in kb.topics]
    assert not missing, f"topics.md ids missing from data/knowledge: {missing}"


def test_topics_are_complete(kb: KnowledgeBase) -> None:
    for topic in kb.topics.values():
        assert isinstance(topic, Topic)
        assert topic.step is None or 1 <= topic.step <= 6
        assert topic.source.startswith("https://"), topic.id
        assert topic.title_zh and topic.title_en and topic.answer_zh and topic.answer_en
        assert topic.keywords, f"{topic.id} has no keywords"
        topic.expanded_codes()  # parses


def test_default_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("KNOWLEDGE_DIR", raising=False)
    assert KnowledgeBase.default_dir() == ROOT / "data" / "knowledge"
    monkeypatch.setenv("KNOWLEDGE_DIR", str(tmp_path))
    assert KnowledgeBase.default_dir() == tmp_path


# ---------------------------------------------------------------- loader validation


def test_loader_accepts_a_minimal_directory(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC)
    kb = KnowledgeBase.load(tmp_path)
    assert list(kb.topics) == ["sample_topic"]
    assert kb.topics["sample_topic"].file == "a.yaml"


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", VALID_TOPIC + "  keywords: [unclosed\n  phrasings: x\n")
    with pytest.raises(KnowledgeError) as err:
        KnowledgeBase.load(tmp_path)
    message = str(err.value)
    assert "broken.yaml" in message
    assert re.search(r"line \d+", message), message


def test_yaml_syntax_error_line_is_the_right_one(tmp_path: Path) -> None:
    write(tmp_path, "tabs.yaml", "- id: x\n  step: 1\n\t title_zh: bad indent\n")
    with pytest.raises(KnowledgeError, match=r"tabs\.yaml.*line 3"):
        KnowledgeBase.load(tmp_path)


def test_missing_field_names_file_and_entry(tmp_path: Path) -> None:
    write(tmp_path, "step9.yaml", VALID_TOPIC.replace("  answer_en: Answer\n", ""))
    with pytest.raises(KnowledgeError) as err:
        KnowledgeBase.load(tmp_path)
    message = str(err.value)
    assert "step9.yaml" in message and "sample_topic" in message and "answer_en" in message


def test_entry_without_id_is_named_by_index(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC + "- step: 2\n  title_zh: 无 id\n")
    with pytest.raises(KnowledgeError, match=r"a\.yaml: entry #2.*'id'"):
        KnowledgeBase.load(tmp_path)


def test_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC)
    write(tmp_path, "b.yaml", VALID_TOPIC)
    with pytest.raises(KnowledgeError) as err:
        KnowledgeBase.load(tmp_path)
    message = str(err.value)
    assert "b.yaml" in message and "a.yaml" in message and "sample_topic" in message and "duplicate" in message


def test_duplicate_id_within_a_file(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC + VALID_TOPIC)
    with pytest.raises(KnowledgeError, match=r"a\.yaml: entry 'sample_topic' \(#2\).*duplicate id"):
        KnowledgeBase.load(tmp_path)


def test_duplicate_key_within_an_entry(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC + "  keywords: [again]\n")
    with pytest.raises(KnowledgeError, match=r"a\.yaml.*line 9.*duplicate key 'keywords'"):
        KnowledgeBase.load(tmp_path)


@pytest.mark.parametrize(
    ("replace", "by", "field"),
    [
        ("step: 1", "step: one", "step"),
        ("step: 1", "step: 7", "step"),
        ("keywords: [示例]", "keywords: 示例", "keywords"),
        ("keywords: [示例]", "keywords: [{a: 1}]", "keywords"),
        ("title_zh: 示例", "title_zh: [示例]", "title_zh"),
        ("source: https://example.com/doc", "source: example.com/doc", "source"),
        ("keywords: [示例]", "error_codes: [abc]", "error_codes"),
        ("keywords: [示例]", "error_messages: invalid appid", "error_messages"),
        ("keywords: [示例]", "anwser: typo", "anwser"),
    ],
)
def test_wrong_types_name_file_entry_and_field(tmp_path: Path, replace: str, by: str, field: str) -> None:
    write(tmp_path, "bad.yaml", VALID_TOPIC.replace(replace, by))
    with pytest.raises(KnowledgeError) as err:
        KnowledgeBase.load(tmp_path)
    message = str(err.value)
    assert "bad.yaml" in message and "sample_topic" in message and field in message, message


def test_top_level_must_be_a_list(tmp_path: Path) -> None:
    write(tmp_path, "map.yaml", "id: x\n")
    with pytest.raises(KnowledgeError, match=r"map\.yaml.*list"):
        KnowledgeBase.load(tmp_path)


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match="no topics"):
        KnowledgeBase.load(tmp_path)


def test_malformed_synonyms_file_names_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", VALID_TOPIC)
    write(tmp_path, "synonyms.txt", "# comment\n密钥: 秘钥\nno separator here\n")
    with pytest.raises(KnowledgeError, match=r"synonyms\.txt: line 3"):
        KnowledgeBase.load(tmp_path)


# ---------------------------------------------------------------- error codes


def test_code_ranges_expand() -> None:
    assert expand_code_spec("85043~85048") == ["85043", "85044", "85045", "85046", "85047", "85048"]
    assert expand_code_spec("-1") == ["-1"]
    with pytest.raises(ValueError):
        expand_code_spec("85048~85043")


def test_find_codes_ignores_ids_and_noise() -> None:
    known = {"61004", "85045", "-1", "-10008"}
    assert find_codes("errcode 61004 access clientip", known) == ["61004"]
    assert find_codes('{"errcode":-1,"errmsg":"system error"}', known) == ["-1"]
    assert find_codes("报错-10008", known) == ["-10008"]
    assert find_codes("85043-85048 之间的都算", {"85048"}) == ["85048"]
    assert find_codes("appid wx61004abcdef12345 rid 61004a-b", known) == []
    assert find_codes("第1步 -1 分", known) == []  # a bare -1 needs an errcode context
    assert find_codes("电话 13861004123", known) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("errcode 61004 access clientip is not registered", "err_61004"),
        (
            '{"errcode":61004,"errmsg":"access clientip [1.2.3.4] is not registered rid: 6650a1b2-0c1d2e3f"}',
            "err_61004",
        ),
        ("85045", "code_commit_85xxx"),
        ("提交审核报 85009", "code_commit_85xxx"),
        ("-10008 invalid ip", "code_upload_ip_whitelist"),
        ('{"errcode":-1,"errmsg":"system error"}', "err_system_busy"),
        ("40013", "err_40013"),
        ("89231", "domain_89xxx"),
        ("61004 顺便问下全网发布要多久", "err_61004"),  # the code wins outright
    ],
)
def test_error_code_exact_hits(kb: KnowledgeBase, text: str, expected: str) -> None:
    res = kb.search(text)
    assert res.topic is not None and res.topic.id == expected
    assert res.confident and res.score >= 0.9
    assert res.topic not in res.alternatives


def test_shared_code_is_resolved_by_text(kb: KnowledgeBase) -> None:
    assert kb.search("61007 api is unauthorized to component").topic.id == "err_61007_48001"
    assert kb.search("新增权限集后商家调用接口报 61007").topic.id == "perm_add_requires_reauth"
    # Without a clear hint the code goes to the topic named after it.
    assert kb.search("61007").topic.id == "err_61007_48001"
    assert kb.search("调用代码上传接口报61007").topic.id == "err_61007_48001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("调接口报 access clientip is not registered", "err_61004"),
        ("提交凭证提示 invalid appid 是不是填错了", "err_40013"),  # would rank weda_submit_credentials
        ("Invalid AppSecret", "err_40125"),
        ("refresh token is invalid", "err_61023"),  # space or underscore
        ("上传报 invalid ip", "code_upload_ip_whitelist"),
    ],
)
def test_pasted_error_message_without_code(kb: KnowledgeBase, text: str, expected: str) -> None:
    res = kb.search(text)
    assert res.confident and res.topic.id == expected and res.score >= 0.9
    assert res.error_code is None


def test_error_message_needs_whole_words(kb: KnowledgeBase) -> None:
    assert kb.search("invalid appidx").score < 0.9  # not "invalid appid"
    assert kb.search('{"errcode":40029,"errmsg":"invalid code"}').error_code is None  # unknown code and message


def test_find_step() -> None:
    step, rest = find_step("步骤3 提交哪个appid")
    assert step == 3 and rest.strip() == "提交哪个appid"
    assert find_step("第二步怎么弄")[0] == 2
    assert find_step("i am on step 4")[0] == 4
    assert find_step("第三方平台") == (None, "第三方平台")  # 第三 is not a step
    assert find_step("步骤10")[0] is None


def test_step_named_in_text_is_a_hint_not_a_word(kb: KnowledgeBase) -> None:
    res = kb.search("微搭步骤3 提交的时候是填开放平台第三方平台的appid和secret 还是开发小程序的？")
    assert res.topic is not None and res.topic.id == "weda_submit_credentials"
    assert kb.search("第一步干什么").topic.id == "registration_steps"  # nothing but the step: keep it


# ---------------------------------------------------------------- retrieval


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("yuanshi id zai na li", "find_original_id"),  # pinyin
        ("quan wang fa bu yao duo jiu", "full_release_duration"),  # pinyin, syllables apart
        ("chuantong moshi haishi yunfuwu moshi", "dev_mode_traditional"),
        ("第三方平台白明单怎么填", "ip_whitelist_3rd"),  # homophone typo
        ("全网法布要多久", "full_release_duration"),
        ("小程序代码上传秘钥在哪下载", "code_upload_key_where"),  # 秘钥 / 密钥
        ("appsecert forgot", "appsecret_get_reset"),  # English typo
        ("appsecret忘了咋办", "appsecret_get_reset"),
        ("where can I find the original id", "find_original_id"),
        ("ＡｐｐＳｅｃｒｅｔ　在哪看", "appsecret_get_reset"),  # full-width input
    ],
)
def test_colloquial_typo_and_pinyin_questions(kb: KnowledgeBase, text: str, expected: str) -> None:
    res = kb.search(text)
    assert res.confident, (text, res.score, res.best_guess and res.best_guess.id)
    assert res.topic.id == expected


@pytest.mark.parametrize(
    "text",
    [
        "微搭表单怎么做",
        "小程序怎么接入微信支付",
        "ICP备案要多久",
        "今天天气怎么样",
        "支付宝小程序怎么发布",
        "hello",
        "你好",
        "哈哈哈",
        "谢谢老师",
        "how do I build a form in weda",
        "",
        "   ",
        "？？？",
    ],
)
def test_off_topic_is_not_confident(kb: KnowledgeBase, text: str) -> None:
    res = kb.search(text)
    assert not res.confident and res.topic is None
    assert res.score < 0.5


def test_analyzer_keeps_domain_words_and_unglues_filler(kb: KnowledgeBase) -> None:
    words = kb.analyzer.analyze
    assert "公众号" in words("授权测试公众号列表").words  # canonical of "official account" only
    assert words("全网发布没通过 要怎么定位问题").words[-1] == "排查"  # 定位问题 = 定位 + 问题
    assert "微信支付" in words("小程序怎么接入微信支付").words  # 支付 is not a domain word: stays whole


def test_answer_list_numbers_are_not_indexed(kb: KnowledgeBase) -> None:
    doc = set(kb._document(kb.topics["registration_steps"]))  # "1. 注册…  2. 关联…"
    assert not {"1", "2", "3", "4", "5", "6"} & doc


def test_unsure_result_offers_alternatives(kb: KnowledgeBase) -> None:
    res = kb.search("授权")
    assert not res.confident and res.topic is None
    assert res.best_guess is not None
    assert 2 <= len(res.alternatives) <= 3
    assert res.alternatives[0] == res.best_guess


def test_confident_result_alternatives_exclude_topic(kb: KnowledgeBase) -> None:
    res = kb.search("授权测试小程序列表填appid还是原始id")
    assert res.confident and res.topic.id == "test_list_original_id"
    assert res.topic not in res.alternatives
    assert len(res.alternatives) <= 3
    assert res.best_guess == res.topic


def test_step_only_breaks_near_ties(kb: KnowledgeBase) -> None:
    question = "ip白名单"  # a near-tie: step 1 (platform whitelist) vs step 4 (code upload whitelist)
    first = kb.search(question, step=1).best_guess.id
    fourth = kb.search(question, step=4).best_guess.id
    assert {first, fourth} == {"ip_whitelist_3rd", "code_upload_ip_whitelist"}
    assert first == "ip_whitelist_3rd" and fourth == "code_upload_ip_whitelist"
    clear = "appsecret忘了咋办"
    assert {kb.search(clear, step=s).topic.id for s in (None, 1, 3, 6)} == {"appsecret_get_reset"}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80))
def test_search_never_fails_and_keeps_its_invariants(kb: KnowledgeBase, text: str) -> None:
    res = kb.search(text)
    assert isinstance(res, SearchResult)
    assert 0.0 <= res.score <= 1.0
    assert (res.topic is None) == (not res.confident)
    assert res.topic is None or res.topic == res.best_guess
    assert res.topic not in res.alternatives
    assert len(res.alternatives) <= 3


# ---------------------------------------------------------------- evaluation targets


def test_eval_set_is_broad() -> None:
    cases = read_cases(EVAL)
    per_topic: dict[str, int] = {}
    for case in cases:
        if case.expected:
            per_topic[case.expected] = per_topic.get(case.expected, 0) + 1
    thin = [i for i in required_ids() if per_topic.get(i, 0) < 3]
    assert not thin, f"fewer than 3 eval questions: {thin}"
    assert sum(1 for c in cases if c.expected is None) >= 40


def test_eval_accuracy_targets(kb: KnowledgeBase) -> None:
    report = evaluate(kb, read_cases(EVAL))
    assert report.top1_accuracy >= 0.9, report.top1_accuracy
    assert report.off_topic_rejection >= 0.8, report.off_topic_rejection


def test_holdout_is_broad() -> None:
    cases = read_cases(HOLDOUT)
    per_topic: dict[str, int] = {}
    for case in cases:
        if case.expected:
            per_topic[case.expected] = per_topic.get(case.expected, 0) + 1
    thin = [i for i in required_ids() if per_topic.get(i, 0) < 2]
    assert not thin, f"fewer than 2 held-out questions: {thin}"
    assert sum(1 for c in cases if c.expected is None) >= 40


def test_holdout_accuracy_floors(kb: KnowledgeBase) -> None:
    # Floors a little under what the search reaches (top-1 98.1%, confident accuracy 96.7%,
    # coverage 99.5%, rejection 92.5% = 37/40): a regression of a few questions fails here.
    report = evaluate(kb, read_cases(HOLDOUT))
    assert report.top1_accuracy >= 0.95, report.top1_accuracy
    assert report.confident_accuracy >= 0.93, report.confident_accuracy
    assert report.coverage >= 0.95, report.coverage
    assert report.off_topic_rejection >= 0.875, report.off_topic_rejection


# ---------------------------------------------------------------- CLI


def test_cli_prints_one_json_object_per_line(monkeypatch: pytest.MonkeyPatch) -> None:
    questions = ["appsecret忘了咋办", "", "今天天气怎么样", "errcode 61004"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(questions) + "\n"))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    assert cli_main([]) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # blank input lines are skipped
    rows = [json.loads(line) for line in lines]
    for row in rows:
        assert set(row) >= {"question", "topic", "score", "title", "alternatives"}
        assert isinstance(row["score"], float) and isinstance(row["alternatives"], list)
    assert rows[0]["topic"] == "appsecret_get_reset" and "忘" in lines[0]  # ensure_ascii=False
    assert rows[1]["topic"] is None and rows[1]["title"] is None
    assert rows[2]["topic"] == "err_61004"
    assert [row["decision"] for row in rows] == ["answer", "decline", "answer"]


def test_cli_reports_broken_knowledge(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "- id: [\n")
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    assert cli_main(["--dir", str(tmp_path)]) == 2
    assert "bad.yaml" in err.getvalue()


# ---------------------------------------------------------------- fusion and calibration


def test_fusion_mixes_normalised_lexical_and_semantic_evidence() -> None:
    bm25 = np.array([8.0, 4.0, 0.0])
    cosines = np.array([0.80, 0.90, 0.85])
    lexical_only = fusion.fuse(bm25, None)
    assert lexical_only.tolist() == [1.0, 0.5, 0.0]
    fused = fusion.fuse(bm25, cosines)
    assert fused.shape == (3,) and ((fused >= 0) & (fused <= 1)).all()
    # the semantic favourite gains on the lexical one, the topic with no word in common gets something
    assert fused[1] - fused[0] > lexical_only[1] - lexical_only[0]
    assert fused[2] > 0
    assert fusion.fuse(np.zeros(3), None).tolist() == [0.0, 0.0, 0.0]


def test_decision_needs_a_margin_as_well_as_a_score() -> None:
    clear = fusion.decide(0.9, np.array([1.0, 0.5, 0.2]), 0)
    tie = fusion.decide(0.9, np.array([1.0, 0.99, 0.2]), 0)
    weak = fusion.decide(0.05, np.array([1.0, 0.5, 0.2]), 0)
    middling = fusion.decide(fusion.ANSWER_THRESHOLD - 0.01, np.array([1.0, 0.2]), 0)
    assert clear.action == fusion.ANSWER and clear.margin == pytest.approx(0.5)
    assert tie.action == fusion.SUGGEST  # sure it is one of two: ask, don't guess
    assert weak.action == fusion.DECLINE
    assert middling.action == fusion.SUGGEST


def test_a_sure_but_ambiguous_match_is_a_suggestion(kb: KnowledgeBase) -> None:
    # On step 4 "ip白名单" may be the platform's whitelist or the code upload one: confident enough,
    # but the step pulls the runner-up level, so the bot asks (the step's topic first).
    res = kb.search("ip白名单", step=4)
    assert res.decision == "suggest" and not res.confident and res.topic is None
    assert res.score >= fusion.ANSWER_THRESHOLD  # the confidence was high enough; the margin was not
    offered = [t.id for t in [res.best_guess, *res.alternatives] if t]
    assert offered[0] == "code_upload_ip_whitelist" and "ip_whitelist_3rd" in offered
    on_step1 = kb.search("ip白名单", step=1)
    assert on_step1.confident and on_step1.topic.id == "ip_whitelist_3rd"


def test_declined_question_offers_nothing(kb: KnowledgeBase) -> None:
    res = kb.search("今天天气怎么样")
    assert res.decision == "decline"
    assert res.topic is None and res.best_guess is None and res.alternatives == []
    assert res.candidates  # the ranking is still there for staff tools and the evaluation


SMALL_TOPICS = {
    "refund": Topic(
        id="refund", step=None, title_zh="申请退款", title_en="Requesting a refund", answer_zh="在订单页点退款。",
        answer_en="Use the order page.", source="https://example.com/refund", keywords=("退款", "退钱"),
    ),
    "password": Topic(
        id="password", step=None, title_zh="修改登录密码", title_en="Changing the login password",
        answer_zh="在设置里改。", answer_en="In settings.", source="https://example.com/pw", keywords=("改密码",),
    ),
    "invoice": Topic(
        id="invoice", step=None, title_zh="开具发票", title_en="Issuing an invoice", answer_zh="在账单页申请。",
        answer_en="On the billing page.", source="https://example.com/inv", keywords=("发票",),
    ),
}


def test_semantic_evidence_ranks_a_paraphrase_words_cannot_reach() -> None:
    question = "how do I get my money back"  # no word in common with any topic
    lexical = KnowledgeBase(SMALL_TOPICS, embedder=False).search(question)
    fused = KnowledgeBase(SMALL_TOPICS).search(question)
    assert lexical.candidates == [] and lexical.decision == "decline"
    assert fused.candidates[0].id == "refund"


def test_exact_code_needs_no_embedding_and_repeats_are_cached(kb: KnowledgeBase) -> None:
    embedder = kb.embedder
    assert embedder is not None
    before = embedder.queries_computed
    assert kb.search(f"调接口报 errcode 61004 了，是什么意思 q={before}").topic.id == "err_61004"
    assert kb.search("返回 access clientip is not registered 咋整").topic.id == "err_61004"
    assert embedder.queries_computed == before
    question = f"服务商那个认证的凭证到底交哪个 #{before}"
    kb.search(question)
    once = embedder.queries_computed
    kb.search(question)
    assert once == before + 1 and embedder.queries_computed == once


def test_pinyin_questions_are_left_to_the_words(kb: KnowledgeBase) -> None:
    embedder = kb.embedder
    before = embedder.queries_computed
    res = kb.search("quanxianji xuan naxie ya")
    assert embedder.queries_computed == before
    assert res.best_guess is not None and res.best_guess.id == "permission_sets_needed"


# ---------------------------------------------------------------- taught phrasings


def test_with_phrasings_returns_a_new_base_that_knows_the_phrasing(kb: KnowledgeBase) -> None:
    question = "老板让我搞的那个东西一直报红"
    assert not kb.search(question).confident
    taught = kb.with_phrasings({"full_release_fail_debug": [question, " ", question], "no_such_topic": ["x"]})
    res = taught.search(question)
    assert res.confident and res.topic.id == "full_release_fail_debug"
    assert taught.topics["full_release_fail_debug"].phrasings[-1] == question
    assert taught.topics["full_release_fail_debug"].phrasings.count(question) == 1
    assert "no_such_topic" not in taught.topics
    assert question not in kb.topics["full_release_fail_debug"].phrasings  # the old base is unchanged
    assert not kb.search(question).confident


def test_with_phrasings_reuses_the_model_and_embeds_only_new_passages(kb: KnowledgeBase) -> None:
    embedder = kb.embedder
    before = embedder.passages_computed
    again = kb.with_phrasings({})
    assert embedder.passages_computed == before and again.embedder is embedder
    kb.with_phrasings({"err_40013": [f"新教的问法 {time.time_ns()}"]})
    # the new phrasing, and the topic's whole passage that now includes it
    assert embedder.passages_computed == before + 2


def test_embeddings_survive_a_restart_through_the_disk_cache(tmp_path: Path) -> None:
    first = Embedder(tmp_path)
    KnowledgeBase(SMALL_TOPICS, embedder=first)
    assert first.passages_computed > 0 and list(tmp_path.glob("*.npz"))
    second = Embedder(tmp_path)
    fresh = KnowledgeBase(SMALL_TOPICS, embedder=second)
    assert second.passages_computed == 0
    assert fresh.search("修改登录密码").best_guess.id == "password"
    (next(tmp_path.glob("*.npz"))).write_bytes(b"not a numpy file")
    third = Embedder(tmp_path)
    KnowledgeBase(SMALL_TOPICS, embedder=third)  # a damaged cache is recomputed, not fatal
    assert third.passages_computed > 0


# ---------------------------------------------------------------- long and hostile input

HOSTILE = [
    "权限集" * 3334,  # 10,002 characters
    "x" * 10_000,
    "😀🙏🔥💯" * 50,
    "🤔",
    "ERROR 2026-12-01 12:00:01 [main] c.t.Api - request failed\n"
    '{"errcode":40001,"errmsg":"invalid credential, access_token is invalid or not latest","rid":"6f0a-1b2c"}\n'
    "\tat com.example.Api.call(Api.java:42)\n" * 40,
    "第三方平台 ticket ✅ 收不到 🤯 ночь 夜 تذكرة チケット 티켓",
    "\u200b\u200d\ufeff",
    "<script>alert(1)</script>' OR 1=1 --",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_long_and_hostile_input_gets_an_answer_or_a_decline(kb: KnowledgeBase, text: str) -> None:
    res = kb.search(text)
    assert res.decision in ("answer", "suggest", "decline")
    assert 0.0 <= res.score <= 1.0
    assert res.confident == (res.decision == "answer") == (res.topic is not None)


@pytest.mark.parametrize("text", HOSTILE)
def test_embedded_text_is_capped(kb: KnowledgeBase, text: str) -> None:
    fitted = kb.embedder.fit(text)
    assert len(fitted) <= MAX_EMBED_CHARS
    assert kb.embedder.token_count(fitted) <= MAX_EMBED_TOKENS or len(fitted) <= 8


# ---------------------------------------------------------------- real-question file format


def test_eval_reads_splits_alternatives_and_urls(tmp_path: Path, kb: KnowledgeBase) -> None:
    path = write(
        tmp_path,
        "real.tsv",
        "question\ttopic_id\tsplit\turl\n"
        "errcode 61004 怎么办\terr_61004\tdev\thttps://example.com/1\n"
        "AppSecret 忘了\terr_40125|appsecret_get_reset\tdev\thttps://example.com/2\n"
        "今天天气怎么样\t\tholdout\thttps://example.com/3\n",
    )
    cases = read_cases(path)
    assert [c.split for c in cases] == ["dev", "dev", "holdout"]
    assert cases[1].accepted == ("err_40125", "appsecret_get_reset") and cases[1].url == "https://example.com/2"
    assert cases[2].accepted == () and cases[2].expected is None
    reports = evaluate_splits(kb, cases)
    assert list(reports) == ["dev", "holdout"]
    assert reports["dev"].on_topic == 2 and reports["dev"].top1_accuracy == 1.0
    assert reports["holdout"].off_topic == 1 and reports["holdout"].off_topic_rejection == 1.0
    assert "misses" not in format_report(reports["holdout"], misses=False)
    assert ranking_top1(kb, cases) == {"lexical": 1.0, "fused": 1.0, "dense": ranking_top1(kb, cases)["dense"]}
    assert ranking_top1(kb, cases[2:]) == {}  # off-topic only: nothing to rank


def test_background_embedding_answers_from_words_until_ready(tmp_path: Path) -> None:
    topics = {
        f"t{n}": dataclasses.replace(SMALL_TOPICS["refund"], id=f"t{n}", phrasings=(f"第{n}种退款问法",))
        for n in range(30)
    }  # 90+ passages, none cached in tmp_path: more than a caller should wait for
    embedder = Embedder(tmp_path)
    kb = KnowledgeBase(topics, embedder=embedder, background=True)
    kb.search("退款")  # never blocks, never fails while the thread works
    for _ in range(600):
        if kb.semantic_ready:
            break
        time.sleep(0.1)
    assert kb.semantic_ready and embedder.passages_computed >= 60


def test_a_quoted_error_code_no_topic_knows_is_never_answered(kb: KnowledgeBase) -> None:
    # The words are close to the code-commit topic, but 85086 is another error: offer, don't answer.
    known = kb.search("提交代码审核报错 85009 怎么办")
    assert known.confident and known.topic.id == "code_commit_85xxx"
    quoted = '提交审核返回 {"errcode":85086,"errmsg":"must commit before submit"}'
    for text in ("提交代码审核报错 85086 怎么办", quoted):
        res = kb.search(text)
        assert not res.confident and res.topic is None, text
        assert res.decision in ("suggest", "decline")


def test_unknown_codes_ignore_ids_urls_and_small_numbers() -> None:
    known = frozenset({"61004", "-10008"})
    assert unknown_codes("报 45009 错误", known) == ["45009"]
    assert unknown_codes('{"errcode":40164,"errmsg":"invalid ip"}', known) == ["40164"]
    assert unknown_codes("errcode 61004，等了 10 分钟，-10008", known) == []
    assert unknown_codes("appid wx1234567 见 https://example.com/12345", known) == []


def test_evidence_explains_the_calibrated_decision(kb: KnowledgeBase) -> None:
    assert kb.evidence("errcode 61004") is None  # exact hits skip the calibrated decision
    assert kb.evidence("access clientip is not registered") is None
    question = "第三方平台推送的消息签名校验一直不通过"
    evidence = kb.evidence(question)
    result = kb.search(question)
    assert evidence is not None and evidence.topic == result.candidates[0].id
    assert 0 <= evidence.lexical <= 1 and evidence.lead >= 0 and not evidence.foreign
    assert result.score == round(fusion.calibrate(evidence.lexical, evidence.cosine, evidence.lead), 4)


REAL = ROOT / "tests" / "data" / "faq_real.tsv"
REAL2 = ROOT / "tests" / "data" / "faq_real2.tsv"
REAL3 = ROOT / "tests" / "data" / "faq_real3.tsv"


@pytest.mark.parametrize("path, size", [(REAL, 150), (REAL2, 80), (REAL3, 50)])
def test_real_questions_file_is_well_formed(kb: KnowledgeBase, path, size) -> None:
    cases = read_cases(path)
    assert len(cases) >= size
    assert {c.split for c in cases} == {"dev", "holdout"}
    assert all(c.url.startswith("https://") for c in cases)
    assert all(tid in kb.topics for c in cases for tid in c.accepted)


def test_the_real_question_files_share_no_question() -> None:
    files = [{c.question for c in read_cases(path)} for path in (REAL, REAL2, REAL3)]
    assert sum(len(f) for f in files) == len(set().union(*files))


def test_real_question_floors(kb: KnowledgeBase) -> None:
    # Floors a little under what the search reaches on the three files' rows together (dev: top-1 88.5 %,
    # confidently wrong 0.5 %, off-topic rejected 82.5 %; holdout 86.0 %, 3.5 %, 81.3 %); main's lexical
    # search had top-1 66 %.
    reports = evaluate_splits(kb, read_cases(REAL) + read_cases(REAL2) + read_cases(REAL3))
    for split, report in reports.items():
        assert report.top1_accuracy >= 0.80, (split, report.top1_accuracy)
        assert report.confidently_wrong <= 0.05, (split, report.confidently_wrong)
        assert report.off_topic_rejection >= 0.78, (split, report.off_topic_rejection)
