"""One package per way WeCom lets the bot meet people.

Inbound parsing, the Flask view and the outbound channel of each.
"""
