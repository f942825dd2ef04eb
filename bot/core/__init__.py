"""The conversation's core.

The messages that flow, the pipeline, progress and the one place it changes, the store, keys and locks.
"""
