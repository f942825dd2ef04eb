"""The operator view's read queries and write actions, kept free of Flask.

The web layer (``bot.admin.web`` and its route modules) only parses requests and renders what these return, so the same
queries serve the HTML pages, the JSON API, the CSV export and the benchmark.
"""
