"""The command line.

``serve`` (everything on one machine), ``check`` (preflight), and the program name for usage lines.
"""
