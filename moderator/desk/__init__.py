"""The moderation desk around each decision: authors, stories, reader reports, appeals.

`lookup` reads a batch's author and story standing for service.moderate_batch and keeps
their rows current; `statements` builds the statement of reasons a rejected comment's
author is shown (DSA Art. 17) and decides whether it may still be appealed (Art. 20);
`actions` is what the API and the dashboard do with them.
"""
