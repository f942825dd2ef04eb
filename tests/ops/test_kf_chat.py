"""``python -m bot chat --kf``: a customer's lines through the fake 微信客服's control API to a bot served over
HTTP (as under ``serve`` in demo mode), and what the bot sent back printed — menus, silence with a person."""

from __future__ import annotations

import io
import threading

from werkzeug.serving import make_server

from bot.demo.kf_chat import chat
from tests.support.kf import build_bot, new_fake
from tests.support.phrases import HANDED_TO_A_PERSON, STEP_2_MARKED_CURRENT


def test_chat_kf_prints_replies_menus_and_the_silence_while_a_person_has_the_session(tmp_path, redis_client,
                                                                                       clock):
    with new_fake(clock) as fake:
        kf = build_bot(tmp_path, fake, redis_client, clock, SUPPORT_STAFF="recep1")
        server = make_server("127.0.0.1", 0, kf.app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop = threading.Event()
        sender = threading.Thread(target=kf.sender.run, args=(stop,), daemon=True)
        sender.start()
        fake.bot_url = f"http://127.0.0.1:{server.server_port}"
        out = io.StringIO()
        try:
            missing = chat(fake.control_url.removesuffix("/demo/"), "wmCli01",
                           ["/enter", "开始", "/click done", "人工", "还在吗", "/end", "进度"], out, echo=True,
                           reply_timeout=4)
        finally:
            stop.set()
            server.shutdown()
            sender.join(5)
    text = out.getvalue()
    assert missing == 0, text
    assert "[welcome]" in text and "  [done] " in text  # the welcome's menu items
    assert "第1步" in text and "第2步" in text  # the click on "done" finished step 1
    assert HANDED_TO_A_PERSON in text and "(a person has the session: the bot stays silent)" in text
    assert STEP_2_MARKED_CURRENT in text.split("you> 进度")[-1]  # back with the bot, from the customer's step
