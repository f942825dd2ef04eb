"""What every process stands on.

The Redis connection, logging, resource paths, metrics, blocking work off the gevent hub.
"""
