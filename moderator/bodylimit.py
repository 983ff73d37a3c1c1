"""Bodies without a Content-Length (chunked, streamed) counted against the body limit.

For such a body Werkzeug reads at most MAX_CONTENT_LENGTH bytes and then stops without a
word, so a chunked body past the limit was cut short and its first part (say, a small
JSON object padded with spaces) accepted. `BodyLimit` reads such a body itself, at most
one byte past the limit: within the limit the app gets it with its Content-Length as if
it had been sent with one; past it the app gets a Content-Length over the limit and no
body, so Flask answers 413 through each blueprint's own error handler (a problem, Google's
error shape, or the dashboard's page), exactly as for a body that declared its length.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from collections.abc import Iterable

CHUNK = 64 * 1024


class BodyLimit:
    """WSGI middleware: buffer a length-less body of at most `max_length` bytes, else 413."""

    def __init__(self, app: Callable, max_length: int) -> None:
        self.app = app
        self.max_length = max_length

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("CONTENT_LENGTH") in (None, "") and _streamed(environ):
            body = _read_at_most(environ["wsgi.input"], self.max_length + 1)
            # From here on the body is sized: Werkzeug ignores Content-Length next to chunked.
            environ.pop("wsgi.input_terminated", None)
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["CONTENT_LENGTH"] = str(len(body))
            environ["wsgi.input"] = io.BytesIO(b"" if len(body) > self.max_length else body)
        return self.app(environ, start_response)


def _streamed(environ: dict) -> bool:
    """True when the server hands over a body it didn't size (chunked, or terminated input)."""
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding or bool(environ.get("wsgi.input_terminated"))


def _read_at_most(stream, limit: int) -> bytes:
    parts = []
    left = limit
    while left > 0:
        data = stream.read(min(CHUNK, left))
        if not data:
            break
        parts.append(data)
        left -= len(data)
    return b"".join(parts)
