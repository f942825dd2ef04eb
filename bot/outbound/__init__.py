"""Outbound: messages the bot sends on its own, through the Redis outbox, to WeCom.

- ``entry``: the outbox entry and the channel names a producer may ask for;
- ``queue``: the outbox lists, claims, sent markers, delays and dead letters (every fate in one MULTI);
- ``pacing``: the sliding-window rate limits shared by all workers;
- ``channel``: what each channel declares (content formats and byte limits, rate limits), and the failure it
  reports in the sender's terms (``ChannelError``);
- ``routing``: which channel delivers a message (to a user: where they last spoke, the app as fallback), and
  what producers ask before writing one (whether staff, a user's group, the app can be reached);
- the channels themselves are not here: each is the ``outbound`` module of its package in ``bot.channels``
  (``app``, ``webhook``, ``longconn``, ``kf``; the AI bot's ``response_url``), so this package stays channel-neutral;
- ``sender``: the worker's loop tying them together (retries, 45009 back-off, exactly once as far as WeCom allows).

Nothing is imported here: ``bot.core.store`` imports ``bot.outbound.queue`` and the channels import the store.
"""
