"""The access log: one JSON line per request, never an API key or comment text."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from moderator import accesslog


@pytest.fixture
def lines():
    """The access log lines written during the test, parsed."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(accesslog.JsonFormatter())
    accesslog.log.addHandler(handler)
    try:
        yield lambda: [json.loads(x) for x in stream.getvalue().splitlines()]
    finally:
        accesslog.log.removeHandler(handler)


def test_one_line_per_request_with_the_documented_fields(client, headers, lines):
    client.post("/api/v1/moderate", json={"text": "Nice piece."}, headers=headers)
    client.get("/healthz")
    first, second = lines()
    assert set(first) == {
        "ts",
        "level",
        "event",
        "method",
        "path",
        "status",
        "duration_ms",
        "site_id",
    }
    assert (first["method"], first["path"], first["status"]) == ("POST", "/api/v1/moderate", 200)
    assert isinstance(first["site_id"], int)
    assert first["duration_ms"] >= 0 and first["event"] == "request" and first["level"] == "info"
    assert first["ts"].endswith("Z")
    assert (second["path"], second["status"], second["site_id"]) == ("/healthz", 200, None)


def test_failed_authentication_logs_no_site(client, lines):
    client.post("/api/v1/moderate", json={"text": "x"}, headers={"Authorization": "Bearer nope"})
    [line] = lines()
    assert (line["status"], line["site_id"]) == (401, None)


def test_keys_query_strings_and_text_never_reach_the_log(client, site_key, headers, lines):
    secret = "my cat's name is Bartholomew 9f2e"
    client.post("/api/v1/moderate", json={"text": secret}, headers=headers)
    client.post(
        f"/v1alpha1/comments:analyze?key={site_key}",
        json={"comment": {"text": secret}, "requestedAttributes": {"TOXICITY": {}}},
    )
    client.post("/v1alpha1/comments:analyze?key=mod_wrong_key_123", json={})
    written = json.dumps(lines())
    assert site_key not in written and "mod_wrong_key_123" not in written
    assert "Bartholomew" not in written and "key=" not in written
    assert [line["path"] for line in lines()][1] == "/v1alpha1/comments:analyze"


def test_hostile_paths_stay_one_json_line(client, lines):
    client.get('/x"\n{"forged": true}<script>')
    [line] = lines()
    assert line["status"] == 404 and "forged" in line["path"]


def test_werkzeug_request_lines_have_keys_masked():
    record = logging.LogRecord(
        "werkzeug",
        logging.INFO,
        __file__,
        1,
        '%s - - "%s" %s %s',
        ("127.0.0.1", "POST /v1alpha1/comments:analyze?key=mod_secret&x=1 HTTP/1.1", "200", "-"),
        None,
    )
    assert accesslog.RedactKeyFilter().filter(record) is True
    assert "mod_secret" not in record.getMessage()
    assert "?key=REDACTED&x=1" in record.getMessage()


def test_formatter_escapes_everything_into_one_line():
    record = logging.LogRecord("moderator.access", logging.INFO, __file__, 1, "request", (), None)
    record.path = "/a\nb\u2028c"
    out = accesslog.JsonFormatter().format(record)
    assert "\n" not in out and json.loads(out)["path"] == "/a\nb\u2028c"


def test_line_is_written_byte_for_byte_as_json_dumps_would(client, headers):
    # The line is made without log.info's stack walk and with one shared encoder: same text.
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(accesslog.JsonFormatter())
    accesslog.log.addHandler(handler)
    try:
        client.get("/ünïcode/\u202e?q=1")
    finally:
        accesslog.log.removeHandler(handler)
    [written] = stream.getvalue().splitlines()
    line = json.loads(written)
    assert list(line) == ["ts", "level", "event", *accesslog.FIELDS]
    assert written == json.dumps(line, ensure_ascii=True, separators=(", ", ": "))
    assert line["path"] == "/ünïcode/\u202e" and line["status"] == 404


def test_no_line_is_made_when_the_access_logger_is_silenced(client, lines):
    accesslog.log.setLevel(logging.WARNING)
    try:
        client.get("/healthz")
        assert lines() == []
    finally:
        accesslog.log.setLevel(logging.INFO)


@pytest.fixture
def default_handler_only(monkeypatch):
    """Call in a test's body: the access logger as a server has it, init_app's handler alone
    (pytest adds its capturing handlers once the test's fixtures are set up)."""

    def only() -> None:
        mine = [h for h in accesslog.log.handlers if type(h) is accesslog.StderrHandler]
        assert len(mine) == 1
        monkeypatch.setattr(accesslog.log, "handlers", mine)
        assert accesslog._only_handler() is mine[0]

    return only


def test_the_default_handler_gets_the_line_the_formatter_would_write(
    client, headers, capsys, default_handler_only, monkeypatch
):
    default_handler_only()
    monkeypatch.setattr(accesslog, "_record", lambda fields: pytest.fail("no record is made"))
    capsys.readouterr()
    client.post("/api/v1/moderate", json={"text": "Nice piece."}, headers=headers)
    [written] = [x for x in capsys.readouterr().err.splitlines() if x.startswith('{"ts"')]
    line = json.loads(written)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/v1/moderate", 200)
    record = logging.LogRecord("moderator.access", logging.INFO, __file__, 1, "request", (), None)
    record.created = dt.datetime.fromisoformat(line["ts"].replace("Z", "+00:00")).timestamp()
    for name in accesslog.FIELDS:
        setattr(record, name, line[name])
    assert accesslog.JsonFormatter().format(record) == written


def test_a_filter_on_the_access_logger_still_sees_every_line(client, capsys, default_handler_only):
    seen = []

    class Keep(logging.Filter):
        def filter(self, record):
            seen.append(record.path)
            return record.path != "/healthz"

    keep = Keep()
    default_handler_only()
    accesslog.log.addFilter(keep)
    try:
        capsys.readouterr()
        client.get("/healthz")
        client.get("/readyz")
    finally:
        accesslog.log.removeFilter(keep)
    written = [json.loads(x) for x in capsys.readouterr().err.splitlines() if x.startswith("{")]
    assert seen == ["/healthz", "/readyz"]
    assert [x["path"] for x in written] == ["/readyz"]


def test_a_line_that_cannot_be_written_is_reported_and_the_answer_still_sent(
    client, monkeypatch, default_handler_only
):
    default_handler_only()
    reported = []
    monkeypatch.setattr(
        accesslog.StderrHandler, "write_line", lambda self, line: 1 / 0, raising=True
    )
    monkeypatch.setattr(accesslog.StderrHandler, "handleError", lambda self, r: reported.append(r))
    assert client.get("/healthz").status_code == 200
    assert [r.path for r in reported] == ["/healthz"]
