"""`X-Coral-Signature`: HMAC-SHA256 of the raw body, one `sha256=<hex>` per active secret.

Coral signs every external moderation request and webhook the same way
(coralproject/talk 9.11.x, server/src/core/server/models/settings/signingSecret/helpers.ts):

    crypto.createHmac("sha256", key).update(data).digest().toString("hex")
    ... .map((signature) => `sha256=${signature}`).join(",")

where `data` is the exact body sent (`JSON.stringify(data, null, 2)`, services/fetch/fetch.ts)
and every secret not yet expired signs it, so while a secret rotates the header carries two
signatures. A request is genuine when any signature in the header matches any of the site's
secrets; the comparison is constant-time (docs/docs/webhooks.md, step 4).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Coral-Signature"
#: More signatures than this in one header is not Coral (it signs with one or two secrets).
MAX_SIGNATURES = 20


def signatures(header: str | None) -> list[str]:
    """The `sha256=` values of the header, as Coral's docs extract them (step 1)."""
    if not header:
        return []
    found = []
    for element in header.split(",")[:MAX_SIGNATURES]:
        prefix, _, value = element.strip().partition("=")
        if prefix == "sha256" and value:
            found.append(value.strip().lower())
    return found


def sign(secret: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of `body` under `secret`, as Coral computes it."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def header_for(secrets: Iterable[str], body: bytes) -> str:
    """The header Coral would send for `body` signed with `secrets` (used by tests and docs)."""
    return ",".join(f"sha256={sign(secret, body)}" for secret in secrets)


def verify(body: bytes, header: str | None, secrets: Iterable[str]) -> bool:
    """True when a signature in `header` is the HMAC of `body` under one of `secrets`."""
    given = signatures(header)
    if not given:
        return False
    ok = False
    for secret in secrets:
        expected = sign(secret, body).encode("ascii")
        for value in given:
            # Every pair is compared, so the time taken doesn't tell which one matched.
            ok |= hmac.compare_digest(value.encode("ascii", "replace"), expected)
    return ok
