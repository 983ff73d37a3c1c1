"""Word rules: better-profanity's matching, the default list in tiers, and context rules.

- `matcher`: `WordList`, better-profanity 0.7.0's matching as dict lookups (`check`), and the
  decision path's `check_comment` (normalised text, spans in the original, context rules);
- `defaults`: data/default_words.tsv (reject / hold / allow tier and category per entry) and
  `policy_wordlist(action, block, suspect, allow)`, a site's compiled lists;
- `context`: data/word_contexts.toml, the rules that skip a held word in an innocent context.

No Flask, no database.
"""

from moderator.rules.context import ContextRule
from moderator.rules.context import context_rules
from moderator.rules.defaults import WORDLIST_ACTIONS
from moderator.rules.defaults import DefaultEntry
from moderator.rules.defaults import Tier
from moderator.rules.defaults import default_entries
from moderator.rules.defaults import policy_wordlist
from moderator.rules.matcher import MAX_ENTRIES
from moderator.rules.matcher import MAX_ENTRY_LENGTH
from moderator.rules.matcher import WordList
from moderator.rules.matcher import default_wordlist

__all__ = [
    "MAX_ENTRIES",
    "MAX_ENTRY_LENGTH",
    "WORDLIST_ACTIONS",
    "ContextRule",
    "DefaultEntry",
    "Tier",
    "WordList",
    "context_rules",
    "default_entries",
    "default_wordlist",
    "policy_wordlist",
]
