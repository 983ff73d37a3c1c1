"""A site's compiled policy (thresholds, word lists, allow list, layer) and how it is built
from the site's stored settings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from moderator.policy import Category
from moderator.policy import Threshold
from moderator.rules import WordList
from moderator.sitelayer import SiteLayer
from moderator.text import normalise

if TYPE_CHECKING:
    from moderator.service.deciding import Moderation
    from moderator.storage.sites import Site


@dataclass(frozen=True)
class SiteRules:
    """A site's policy: thresholds per category and its compiled word lists."""

    thresholds: Mapping[Category, Threshold]
    wordlist: WordList
    allow: frozenset[str] = frozenset()
    #: The site's own layer over the shared model (moderator/sitelayer.py), if promoted.
    layer: SiteLayer | None = None

    def unmask(self, normalised: str) -> str:
        """The text the classifier scores: without allow-listed words, so they never trigger
        by themselves, nor words a context rule excuses (`the bitch had puppies`)."""
        normalised = self.wordlist.mask_excused(normalised)
        if not self.allow:
            return normalised
        return _allow_pattern(self.allow).sub(" ", normalised)


@lru_cache(maxsize=256)
def _allow_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(normalise(w)) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def _freeze(value):
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


def site_settings(site: Site) -> dict:
    """The keyword arguments of `Moderation.site_rules` for a site's stored settings."""
    return {
        "thresholds": site.thresholds,
        "block": site.block_words,
        "suspect": site.suspect_words,
        "allow": site.allow_words,
        "wordlist_action": site.wordlist_action,
    }


def rules_for(moderation: Moderation, site: Site) -> SiteRules:
    """The site's compiled rules from its stored settings and its promoted layer, if any
    (cached by Moderation)."""
    return moderation.site_rules(**site_settings(site), layer=moderation.layers.get(site.id))
