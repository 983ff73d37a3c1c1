"""Coral Talk integration: its external moderation phase and its webhooks.

signature.py  X-Coral-Signature, checked exactly as Coral computes it (rotations too)
phase.py      Coral's ExternalModerationRequest in, its response schema out
events.py     Coral's webhook events: decisions in Coral's queue become labels here
views.py      /coral/v1/sites/<site id>/phase and /webhook
"""

from __future__ import annotations

from moderator.coral.views import bp

__all__ = ["bp"]
