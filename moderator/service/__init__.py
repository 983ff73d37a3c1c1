"""The one decision path: normalise -> word rules -> classifier -> policy (-> storage).

The HTTP API, the Perspective-compatible endpoint, the dashboard and `moderator score` all
call `Moderation.decide` / `decide_batch`, so a comment gets the same decision whichever
door it came in by.

- `deciding`: `Moderation`, the decision engine (no database);
- `siterules`: `SiteRules`, a site's compiled policy, and `rules_for` / `site_settings`;
- `storing`: `moderate` / `moderate_batch` / `StoredComment`, decide then store.

`storing` (and with it SQLAlchemy and every storage module) is imported on first use of one
of its names, so `moderator score`, which never touches a database, doesn't pay for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from moderator.service.deciding import SMALL_BATCH
from moderator.service.deciding import SUPPORTED_LANGUAGES
from moderator.service.deciding import Moderation
from moderator.service.siterules import SiteRules
from moderator.service.siterules import rules_for
from moderator.service.siterules import site_settings

if TYPE_CHECKING:
    from moderator.service.storing import StoredComment
    from moderator.service.storing import moderate
    from moderator.service.storing import moderate_batch

#: Names served by moderator.service.storing, imported when first asked for.
_STORING = frozenset({"StoredComment", "moderate", "moderate_batch"})

__all__ = [
    "SMALL_BATCH",
    "SUPPORTED_LANGUAGES",
    "Moderation",
    "SiteRules",
    "StoredComment",
    "moderate",
    "moderate_batch",
    "rules_for",
    "site_settings",
]


def __getattr__(name: str):
    if name in _STORING:
        value = getattr(importlib.import_module("moderator.service.storing"), name)
        # Cached on the package, so later look-ups (and monkeypatching in tests) are plain.
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
