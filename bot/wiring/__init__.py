"""How a process is put together from one Settings.

The shared services (``services``) and the web runtime (``runtime``).
"""
