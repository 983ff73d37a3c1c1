"""The README and docs/ document every API endpoint, command and environment variable (as
Datasette does)."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from moderator.cli import cli
from moderator.config import settings

ROOT = Path(__file__).resolve().parents[1]
#: The README and the reference it links in docs/, read as one document.
README = "\n".join(
    path.read_text(encoding="utf-8")
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
)

#: Blueprints that serve HTML pages, documented in the README's dashboard section by purpose
#: rather than URL by URL; static files are no endpoint.
HTML_BLUEPRINTS = {"dashboard", "accounts"}


def section(name: str) -> str:
    """The README text after `<!-- SECTION:name -->`, up to the next marker."""
    match = re.search(rf"<!-- SECTION:{name} -->(.*?)(?=<!-- SECTION:|\Z)", README, re.S)
    assert match, f"README has no {name} section"
    return match.group(1)


def endpoints(app) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0]
        if rule.endpoint == "static" or blueprint in HTML_BLUEPRINTS or rule.rule == "/":
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"<\1>", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((method, path))
    return sorted(found)


def commands(group: click.Group, prefix: str = "moderator") -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += commands(command, f"{prefix} {name}")
        else:
            found.append(f"{prefix} {name}")
    return found


def test_every_endpoint_is_documented_with_its_method(app):
    api = section("api")
    missing = [f"{m} {p}" for m, p in endpoints(app) if f"{m} {p}" not in api]
    assert missing == [], "document these under <!-- SECTION:api -->"


def test_every_endpoint_has_a_curl_example(app):
    api = section("api")
    for _, path in endpoints(app):
        stem = path.split("<", 1)[0].rstrip("/")
        # A curl command, possibly continued over lines, that names the path.
        example = rf"curl (?:(?!```)[^`])*?{re.escape(stem)}"
        assert re.search(example, api), f"no curl example for {path}"


def test_every_command_is_documented():
    documented = section("commands")
    missing = [c for c in commands(cli) if f"`{c}" not in documented]
    assert missing == [], "document these under <!-- SECTION:commands -->"


@pytest.mark.parametrize("field", settings(), ids=lambda f: f.metadata["env"])
def test_every_environment_variable_is_documented(field):
    assert f"`{field.metadata['env']}`" in section("configuration")


def test_every_command_option_has_help():
    def walk(group):
        for command in group.commands.values():
            yield from walk(command) if isinstance(command, click.Group) else [command]

    for command in walk(cli):
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, f"{command.name} {param.opts[0]} has no help text"


def test_curl_examples_of_the_json_api_are_valid_requests(client, headers):
    """Every `curl ... -d '{...}'` example for /api/v1 succeeds when sent as written, in order.

    A report is created (201); an appeal is a valid request that the example comment, not
    being rejected, can only answer with the documented 409 not_rejected.
    """
    examples = re.findall(
        r"curl -s http://127\.0\.0\.1:8000(/api/v1/[^\s]+)(?:(?!```|curl ).)*?-d '(.*?)'",
        section("api"),
        re.S,
    )
    assert len(examples) >= 2
    for path, body in examples:
        response = client.post(
            path, data=body, headers={**headers, "Content-Type": "application/json"}
        )
        if path.endswith("/appeal") and response.status_code == 409:
            assert response.json["code"] == "not_rejected", response.json
            continue
        assert response.status_code in (200, 201), (path, response.json)


def test_every_word_context_rule_and_tier_is_documented():
    from moderator.rules import Tier
    from moderator.rules import context_rules

    documented = section("wordrules")
    missing = [r.name for r in context_rules() if f"`{r.name}`" not in documented]
    assert missing == [], "document these context rules under <!-- SECTION:wordrules -->"
    assert all(f"`{tier}`" in documented for tier in Tier)
    assert "`wordlist_action`" in documented
