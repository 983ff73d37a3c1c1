"""Training, evaluation and label export for Moderator's policy classifier."""
