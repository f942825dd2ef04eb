"""The reply-size targets (issue 15), in UTF-8 bytes: the reply test asserts them and docs/replies.md quotes them."""

START_MAX, NEXT_MAX, STATUS_MAX, CHECK_MAX = 1200, 1200, 800, 500
