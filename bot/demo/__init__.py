"""Demo and simulator tools.

Talk to the bot through the same signed callbacks and frames WeCom sends, with local fakes of WeCom.
"""
