"""The local simulator, as a newcomer uses it: a scripted conversation piped into `python -m bot chat`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """开始
完成
完成
我已经提交认证了
认证失败了
我已经提交认证了
认证通过了
完成
完成
完成
进度
"""


def test_scripted_conversation_from_start_to_done(env, redis_client):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", "sim-user"],
        input=SCRIPT, capture_output=True, text=True, timeout=120, cwd=ROOT,
        env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    turns = out.split("you> ")[1:]
    assert len(turns) == 11
    assert "第1步" in turns[0]
    assert "10 分钟" in turns[3]
    assert "逐项检查" in turns[4]
    assert "第 2 次" in turns[5]
    assert "认证通过" in turns[6] and "第4步" in turns[6]
    assert "恭喜" in turns[9]
    assert "✅ 第6步" in turns[10]
    assert "[HTTP" not in out


def test_simulator_reports_http_errors(env, redis_client, tmp_path):
    """Against a server with other credentials every message is rejected, and the exit code says so."""
    bad_env = {**os.environ, **env, "WECOM_TOKEN": "someoneelse1"}
    result = subprocess.run(
        [sys.executable, "-c",
         "import sys; from bot.demo.chat import converse; "
         "sys.exit(converse(['hi'], lambda t: (403, 'bad signature'), sys.stdout, True))"],
        capture_output=True, text=True, timeout=60, cwd=ROOT, env=bad_env,
    )
    assert result.returncode == 1 and "[HTTP 403]" in result.stdout
