"""The self-built app (自建应用).

XML callback in (``protocol``, ``callback``, ``view``), ``message/send`` out (``outbound``).
"""
