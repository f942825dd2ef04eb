"""``/wecom/aibot``: the AI bot (智能机器人) callback URL — to be filled in by the AI-bot work."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("wecom_aibot", __name__)
