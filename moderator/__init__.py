"""Moderator: self-hosted comment moderation."""
