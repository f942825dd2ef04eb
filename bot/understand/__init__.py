"""Understanding: (text, the user's context) -> one Reading the handlers act on.

Handlers never look at raw text. Everything that decides what a message means lives here: a model
learned from example phrasings (data/understanding/intents.yaml, plus what staff teach), slot rules
for step and item numbers, and a context policy that resolves short replies ("通过了" on step 1 is the
platform review, on step 3 the certification) and asks before an uncertain change of state.
"""

from bot.understand.reading import INTENTS, STATE_CHANGING, Context, Reading
from bot.understand.understander import Understander

__all__ = ["INTENTS", "STATE_CHANGING", "Context", "Reading", "Understander"]
