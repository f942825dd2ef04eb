"""What every WeCom channel shares.

The HTTP client, the callback crypto envelope, user ids and text from the wire.
"""
