"""Handlers decide what the bot says and does; they know nothing of WeCom and never read raw text:
each acts on the message's reading (bot.understand). The order they are tried in is in
handlers.registry."""
