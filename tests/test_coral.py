"""Coral's external moderation phase and webhooks, replayed exactly as Coral 9.11.x sends them.

Bodies and signatures are built the way Coral builds them (coralproject/talk 9.11.8):

    server/src/core/server/services/fetch/fetch.ts, generateFetchOptions:
        const body = JSON.stringify(data, null, 2);
        const signature = generateSignatures(signingSecrets, body, now);
        const headers = { "Content-Type": "application/json", "X-Coral-Signature": signature };

    server/src/core/server/models/settings/signingSecret/helpers.ts:
        crypto.createHmac("sha256", key).update(data).digest().toString("hex")
        signingSecrets.filter(filterActiveSigningSecrets(now)).map(({ secret }) =>
            generateSignature(secret, data)).map((signature) => `sha256=${signature}`).join(",")

    generateSigningSecret("empsec", now): prefix + "_" + 32-37 random bytes as hex

and our answers are checked with a port of Coral's own Joi schema for them
(server/src/core/server/services/comments/pipeline/phases/external.ts,
ExternalModerationResponseSchema), plus its external.spec.ts cases.
"""

from __future__ import annotations

import hmac
import json
import secrets as random
from datetime import timedelta

import pytest

from moderator import storage
from moderator.coral import signature
from moderator.storage import now
from moderator.storage import secrets
from moderator.storage import sites
from moderator.storage.tables import comments

pytestmark = pytest.mark.all_databases

# server/src/core/server/graph/schema/schema.graphql (9.11.8)
COMMENT_STATUS = {"NONE", "APPROVED", "REJECTED", "PREMOD", "SYSTEM_WITHHELD"}
REJECTION_REASON_CODE = {
    "OFFENSIVE", "ABUSIVE", "SPAM", "BANNED_WORD", "AD", "ILLEGAL_CONTENT",
    "HARASSMENT_BULLYING", "MISINFORMATION", "HATE_SPEECH", "IRRELEVANT_CONTENT", "OTHER",
}  # fmt: skip


def coral_secret() -> str:
    """A secret as Coral generates one: generateSigningSecret("empsec", now)."""
    return "empsec_" + random.token_hex(32 + random.randbelow(5))


def coral_body(data: dict) -> bytes:
    """JSON.stringify(data, null, 2): two-space indent, ': ' and ',' separators, raw UTF-8."""
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def coral_headers(body: bytes, *signing: str) -> dict[str, str]:
    """generateFetchOptions' headers, signed with every secret Coral still has active."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "Coral Moderation/9.11.8",
        "X-Coral-Signature": ",".join(
            "sha256=" + hmac.new(s.encode(), body, "sha256").hexdigest() for s in signing
        ),
    }


def phase_request(text: str, action: str = "NEW", parent_id=None, story_id="story-1") -> dict:
    """An ExternalModerationRequest as processPhase builds it (external.ts)."""
    return {
        "action": action,
        "comment": {"body": text, "parentID": parent_id},
        "author": {"id": "baf4e943-3594-4fcc-b2ba-3e8de7a76352", "role": "COMMENTER"},
        "story": {"id": story_id, "url": "http://localhost:1313/posts/a-story-url/"},
        "site": {"id": "a4bede88-2d2c-4424-bc18-4322a9e285a6"},
        "tenantID": "19ba5794-7eeb-4d46-a81b-c00c61672501",
        "tenantDomain": "localhost",
    }


def validate_response(body: dict) -> dict:
    """A port of Coral's ExternalModerationResponseSchema: raises AssertionError like Joi."""
    allowed = {"moderationAction", "actions", "status", "tags"}
    assert set(body) <= allowed, f"unknown keys {set(body) - allowed}"  # stripped by Coral
    if "status" in body:
        assert body["status"] in COMMENT_STATUS
    for action in body.get("actions", []):
        assert action["actionType"] == "FLAG"
        assert action["reason"] in ("COMMENT_DETECTED_TOXIC", "COMMENT_DETECTED_SPAM")
    for tag in body.get("tags", []):
        assert tag in ("FEATURED", "STAFF")
    if "moderationAction" in body:
        moderation = body["moderationAction"]
        assert set(moderation) <= {"status", "rejectionReason"}
        assert moderation["status"] in COMMENT_STATUS
        reason = moderation.get("rejectionReason", {})
        assert set(reason) <= {"code", "legalGrounds", "detailedExplanation", "customReason"}
        assert reason.get("code", "OTHER") in REJECTION_REASON_CODE
        for key in ("legalGrounds", "detailedExplanation", "customReason"):
            assert isinstance(reason.get(key, ""), str)
    return body


def test_the_schema_port_agrees_with_corals_spec():
    # external.spec.ts: the responses Coral accepts and those it refuses.
    spam = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_SPAM"}
    unreal = {"actionType": "FLAG", "reason": "COMMENT_DETECTED_NOT_REAL"}
    for ok in ({}, {"status": "SYSTEM_WITHHELD"}, {"tags": ["FEATURED"]}, {"actions": [spam]}):
        validate_response(ok)
    for bad in ({"status": "fail"}, {"status": "approved"}, {"tags": ["x"]}, {"actions": [unreal]}):
        with pytest.raises(AssertionError):
            validate_response(bad)


@pytest.fixture
def site_id(engine, site_key) -> int:
    with storage.transaction(engine) as conn:
        return sites.get_site_by_name(conn, "example").id


@pytest.fixture
def phase_secret(engine, site_id) -> str:
    secret = coral_secret()
    with storage.transaction(engine) as conn:
        secrets.add_secret(conn, site_id, "coral_phase", secret)
    return secret


def post_phase(client, site_id, data, *signing, raw: bytes | None = None):
    body = raw if raw is not None else coral_body(data)
    return client.post(
        f"/coral/v1/sites/{site_id}/phase", data=body, headers=coral_headers(body, *signing)
    )


def rows(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(comments.select().order_by(comments.c.created_at)))


def set_words(engine, kind, words):
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "example", kind, words)


# -- deciding --------------------------------------------------------------------------------


def test_new_comment_we_allow_is_204_and_stored_with_corals_ids(
    client, engine, site_id, phase_secret
):
    set_words(engine, "allow", ["bananas"])
    response = post_phase(client, site_id, phase_request("I like bananas a lot"), phase_secret)
    if response.status_code == 200:
        pytest.skip("the test model does not allow this sentence")
    assert response.status_code == 204
    assert response.get_data() == b""
    [row] = rows(engine)
    assert (row.text, row.decision, row.door) == ("I like bananas a lot", "allow", "coral")
    assert row.author_id == "baf4e943-3594-4fcc-b2ba-3e8de7a76352"
    assert row.url == "http://localhost:1313/posts/a-story-url/"
    assert row.context == {
        "action": "NEW",
        "tenant_id": "19ba5794-7eeb-4d46-a81b-c00c61672501",
        "tenant_domain": "localhost",
        "site_id": "a4bede88-2d2c-4424-bc18-4322a9e285a6",
        "story_id": "story-1",
        "author_role": "COMMENTER",
    }
    assert row.language == "en"


def test_corals_author_and_story_are_the_desks(client, engine, site_id, phase_secret):
    from moderator.storage import authors as authors_store
    from moderator.storage import stories as stories_store

    first = post_phase(client, site_id, phase_request("A calm first comment."), phase_secret)
    assert first.status_code in (200, 204)
    [row] = rows(engine)
    with storage.transaction(engine) as conn:
        story = stories_store.get_story(conn, row.story)
        assert (story.external_id, story.url) == (
            "story-1",
            "http://localhost:1313/posts/a-story-url/",
        )
        stories_store.set_premoderation(
            conn, story.id, True, actor="api", reason="thread turned ugly"
        )
        author = authors_store.get_author(conn, site_id, row.author_id)
    assert author is not None
    # A pre-moderated story withholds Coral's next comment on it, and only on it.
    held = post_phase(client, site_id, phase_request("Another calm comment."), phase_secret)
    assert held.status_code == 200
    assert validate_response(held.json)["status"] == "SYSTEM_WITHHELD"
    elsewhere = phase_request("Another calm comment.", story_id="story-2")
    assert post_phase(client, site_id, elsewhere, phase_secret).status_code in (200, 204)
    # A story id too long to be the desk's keeps the comment, on the story's URL alone.
    long_id = post_phase(client, site_id, phase_request("Calm.", story_id="s" * 300), phase_secret)
    assert long_id.status_code in (200, 204)
    with storage.transaction(engine) as conn:
        last = max(rows(engine), key=lambda r: r.created_at)
        assert stories_store.get_story(conn, last.story).external_id is None


def test_suspect_word_is_withheld_with_a_toxic_flag(client, engine, site_id, phase_secret):
    # The case: "bananas" on the suspect list held by the API, not by Perspective.
    set_words(engine, "suspect", ["bananas"])
    response = post_phase(client, site_id, phase_request("I like bananas a lot"), phase_secret)
    assert response.status_code == 200
    body = validate_response(response.json)
    assert body["status"] in ("SYSTEM_WITHHELD", "REJECTED")
    if body["status"] == "SYSTEM_WITHHELD":
        assert body == {
            "status": "SYSTEM_WITHHELD",
            "actions": [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}],
        }
    [row] = rows(engine)
    assert row.status in ("hold", "reject")


def test_block_word_is_rejected_with_a_dsa_reason_and_explanation(
    client, engine, site_id, phase_secret
):
    set_words(engine, "block", ["wombat"])
    response = post_phase(client, site_id, phase_request("You absolute wombat."), phase_secret)
    body = validate_response(response.json)
    assert body["status"] == "REJECTED"
    assert body["actions"] == [{"actionType": "FLAG", "reason": "COMMENT_DETECTED_TOXIC"}]
    reason = body["moderationAction"]["rejectionReason"]
    assert body["moderationAction"]["status"] == "REJECTED"
    assert reason["code"] == "BANNED_WORD"
    assert '"wombat"' in reason["detailedExplanation"]
    assert reason["detailedExplanation"].startswith("Rejected by Moderator")


def test_classifier_rejection_maps_its_category_to_a_dsa_code(
    client, engine, site_id, phase_secret, app
):
    if app.extensions["moderator"].moderation.model_label is None:
        pytest.skip("no test model")
    everything = {c: {"hold": 0.0, "reject": 0.0} for c in ("insult", "toxicity")}
    with storage.transaction(engine) as conn:
        sites.set_thresholds(conn, "example", everything)
    response = post_phase(client, site_id, phase_request("You are a pathetic idiot"), phase_secret)
    body = validate_response(response.json)
    assert body["status"] == "REJECTED"
    assert body["moderationAction"]["rejectionReason"]["code"] in ("ABUSIVE", "OFFENSIVE")


def test_edit_and_reply_are_decided_and_keep_corals_ids(client, engine, site_id, phase_secret):
    set_words(engine, "suspect", ["kitten"])
    edit = phase_request("kitten, edited", action="EDIT", parent_id="d79b787f-parent")
    response = post_phase(client, site_id, edit, phase_secret)
    assert validate_response(response.json)["status"] in ("SYSTEM_WITHHELD", "REJECTED")
    [row] = rows(engine)
    assert row.context["action"] == "EDIT"
    assert row.context["parent_id"] == "d79b787f-parent"


def test_a_comment_in_another_language_is_withheld_not_scored_as_english(
    client, engine, site_id, phase_secret
):
    text = "Je ne suis pas du tout d'accord avec cet article, c'est n'importe quoi."
    response = post_phase(client, site_id, phase_request(text), phase_secret)
    # Held for a person, without a toxic flag: nothing toxic was found, the model can't read it.
    assert response.status_code == 200
    assert validate_response(response.json) == {"status": "SYSTEM_WITHHELD"}
    [row] = rows(engine)
    assert row.language == "fr"
    assert [r["category"] for r in row.reasons][-1] == "language_unsupported"


def test_a_site_may_allow_other_languages(client, engine, site_id, phase_secret):
    with storage.transaction(engine) as conn:
        sites.set_options(conn, "example", unsupported_language="allow")
    text = "Je ne suis pas du tout d'accord avec cet article, c'est n'importe quoi."
    response = post_phase(client, site_id, phase_request(text), phase_secret)
    assert response.status_code == 204
    assert rows(engine)[0].language == "fr"


def test_classifier_unavailable_is_withheld_never_lost(app, client, engine, site_id, phase_secret):
    app.extensions["moderator"].moderation.classifier = None
    response = post_phase(client, site_id, phase_request("a fine day"), phase_secret)
    assert validate_response(response.json) == {"status": "SYSTEM_WITHHELD"}
    assert rows(engine)[0].status == "hold"


# -- signatures ------------------------------------------------------------------------------


def test_rotated_secrets_either_signature_matches(client, engine, site_id, phase_secret):
    # While Coral rotates, it signs with the old and the new secret: "sha256=a,sha256=b".
    new = coral_secret()
    data = phase_request("hello there")
    assert post_phase(client, site_id, data, new, phase_secret).status_code in (200, 204)
    assert post_phase(client, site_id, data, phase_secret, new).status_code in (200, 204)
    # Once the operator stored the new one too, either alone is accepted; then the old goes.
    with storage.transaction(engine) as conn:
        added = secrets.add_secret(conn, site_id, "coral_phase", new)
        old = [s for s in secrets.list_secrets(conn, site_id) if s.secret == phase_secret][0]
    assert post_phase(client, site_id, data, new).status_code in (200, 204)
    with storage.transaction(engine) as conn:
        secrets.remove_secret(conn, site_id, old.label)
    assert post_phase(client, site_id, data, phase_secret).status_code == 401
    assert post_phase(client, site_id, data, new).status_code in (200, 204)
    assert added.label.startswith("sec_")


def test_an_expired_secret_no_longer_signs(client, engine, site_id):
    secret = coral_secret()
    with storage.transaction(engine) as conn:
        secrets.add_secret(
            conn, site_id, "coral_phase", secret, expires_at=now() - timedelta(seconds=1)
        )
    assert post_phase(client, site_id, phase_request("hi"), secret).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        "sha1=0123456789abcdef",
        "sha256=" + "0" * 64,
        "garbage",
        "sha256=" + "é" * 64,
        ",".join(["sha256=" + "0" * 64] * 500),
    ],
)
def test_missing_or_wrong_signatures_are_401_and_store_nothing(
    client, engine, site_id, phase_secret, header
):
    body = coral_body(phase_request("hello"))
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["X-Coral-Signature"] = header
    response = client.post(f"/coral/v1/sites/{site_id}/phase", data=body, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert rows(engine) == []


def test_a_body_changed_after_signing_is_401(client, engine, site_id, phase_secret):
    body = coral_body(phase_request("hello"))
    headers = coral_headers(body, phase_secret)
    tampered = body.replace(b"hello", b"HELLO")
    response = client.post(f"/coral/v1/sites/{site_id}/phase", data=tampered, headers=headers)
    assert response.status_code == 401


def test_the_signature_is_over_the_exact_bytes_not_the_json(client, site_id, phase_secret):
    # Re-serialising (compact instead of Coral's two-space indent) breaks the signature.
    data = phase_request("hello")
    signed = coral_body(data)
    compact = json.dumps(data).encode()
    headers = coral_headers(signed, phase_secret)
    response = client.post(f"/coral/v1/sites/{site_id}/phase", data=compact, headers=headers)
    assert response.status_code == 401


@pytest.mark.parametrize("target", [999, 0, 2**40])
def test_unknown_sites_look_like_wrong_signatures(client, phase_secret, target):
    response = post_phase(client, target, phase_request("hi"), phase_secret)
    assert response.status_code == 401


def test_another_sites_secret_does_not_sign_for_this_site(
    client, engine, site_id, phase_secret, make_site
):
    make_site("other")
    with storage.transaction(engine) as conn:
        other = sites.get_site_by_name(conn, "other").id
    assert post_phase(client, other, phase_request("hi"), phase_secret).status_code == 401


def test_a_revoked_site_is_401(client, engine, site_id, phase_secret):
    with storage.transaction(engine) as conn:
        sites.revoke_site(conn, "example")
    assert post_phase(client, site_id, phase_request("hi"), phase_secret).status_code == 401


def test_webhook_secrets_do_not_sign_phase_requests(client, engine, site_id):
    secret = coral_secret()
    with storage.transaction(engine) as conn:
        secrets.add_secret(conn, site_id, "coral_webhook", secret)
    assert post_phase(client, site_id, phase_request("hi"), secret).status_code == 401


def test_signature_module_matches_corals_header_format():
    body = b'{\n  "a": 1\n}'
    header = signature.header_for(["k1", "k2"], body)
    assert header.count("sha256=") == 2 and "," in header
    assert signature.verify(body, header, ["k2"])
    assert not signature.verify(body, header, ["k3"])
    assert signature.signatures(" sha256=AB , md5=cd,sha256=") == ["ab"]


# -- bad input, correctly signed ---------------------------------------------------------------


BAD = [
    (b"", 400),
    (b"not json", 400),
    (b"[1, 2]", 400),
    (b"\xff\xfe", 400),
    (b'{"action": "DELETE"}', 400),
    (coral_body({**phase_request("x"), "action": "new"}), 400),
    (coral_body({**phase_request("x"), "comment": "text"}), 400),
    (coral_body({**phase_request("x"), "comment": {"body": 5, "parentID": None}}), 400),
    (coral_body({**phase_request(""), "action": "NEW"}), 400),
    (coral_body({**phase_request("   ")}), 400),
    (coral_body({**phase_request("x"), "author": {"id": "", "role": "COMMENTER"}}), 400),
    (coral_body({**phase_request("x"), "author": {"id": "u", "role": "KING"}}), 400),
    (coral_body({**phase_request("x"), "story": None}), 400),
    (coral_body({**phase_request("x"), "story": {"id": "\t", "url": None}}), 400),
    (coral_body({**phase_request("x"), "story": {"id": " " * 300, "url": None}}), 400),
    (coral_body({**phase_request("x"), "tenantID": 7}), 400),
    (coral_body(phase_request("nul \x00 byte")), 400),
    (coral_body(phase_request("x")).replace(b'"x"', b'"\\ud800"'), 400),
    (coral_body(phase_request("x" * 20481)), 413),
    (b"[" * 100_000, 400),
]


@pytest.mark.parametrize(("raw", "status"), BAD)
def test_bad_bodies_are_problems_never_500_and_store_nothing(
    client, engine, site_id, phase_secret, raw, status
):
    response = post_phase(client, site_id, None, phase_secret, raw=raw)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    assert rows(engine) == []


def test_html_and_odd_unicode_are_stored_verbatim(client, engine, site_id, phase_secret):
    text = "<script>alert(1)</script> \u202eevil\u202c 💩 e\u0301"
    response = post_phase(client, site_id, phase_request(text), phase_secret)
    assert response.status_code in (200, 204)
    assert rows(engine)[0].text == text


# -- Coral's webhooks: decisions in Coral's queue become labels ----------------------------------


@pytest.fixture
def webhook_secret(engine, site_id) -> str:
    secret = "whsec_" + random.token_hex(32)
    with storage.transaction(engine) as conn:
        secrets.add_secret(conn, site_id, "coral_webhook", secret)
    return secret


def coral_event(event_type: str, data: dict) -> dict:
    """A webhook as processor.ts sends it: {...event, tenantID, tenantDomain}."""
    return {
        "id": "6ac5c2b5-7a3c-4b6e-8f5e-" + random.token_hex(6),
        "type": event_type,
        "data": data,
        "createdAt": "2026-11-27T12:00:00.000Z",
        "tenantID": "19ba5794-7eeb-4d46-a81b-c00c61672501",
        "tenantDomain": "localhost",
    }


def post_event(client, site_id, event, *signing):
    body = coral_body(event)
    headers = coral_headers(body, *signing)
    headers["X-Coral-Event"] = event["type"]  # processor.ts adds it
    return client.post(f"/coral/v1/sites/{site_id}/webhook", data=body, headers=headers)


def queue_event(kind: str, coral_id: str, status: str, story_id: str = "story-1") -> dict:
    # services/events/comments.ts, publishModerationQueueChanges
    return coral_event(
        f"COMMENT_{kind}_MODERATION_QUEUE",
        {
            "queue": "PENDING",
            "commentID": coral_id,
            "status": status,
            "storyID": story_id,
            "siteID": "a4bede88-2d2c-4424-bc18-4322a9e285a6",
        },
    )


def test_a_decision_in_corals_queue_becomes_a_label(
    client, engine, site_id, phase_secret, webhook_secret, tmp_path, config, hold_all
):
    post_phase(client, site_id, phase_request("a kitten comment"), phase_secret)
    entered = post_event(
        client, site_id, queue_event("ENTERED", "coral-c1", "SYSTEM_WITHHELD"), webhook_secret
    )
    assert entered.status_code == 204
    [row] = rows(engine)
    assert row.external_id == "coral-c1"
    left = post_event(client, site_id, queue_event("LEFT", "coral-c1", "REJECTED"), webhook_secret)
    assert left.status_code == 204
    [row] = rows(engine)
    assert (row.human_decision, row.decided_by, row.status) == ("reject", "coral", "reject")

    from click.testing import CliRunner

    from training.cli import cli as training_cli

    out = tmp_path / "labels.csv"
    result = CliRunner(env={"DATABASE_URL": config.database_url}).invoke(
        training_cli, ["export-labels", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "a kitten comment" in text and "coral" in text


def test_two_candidates_on_one_story_are_not_guessed(
    client, engine, site_id, phase_secret, webhook_secret, hold_all
):
    # hold_all: every comment is held (thresholds hold 0, reject 1), so both are candidates.
    post_phase(client, site_id, phase_request("kitten one"), phase_secret)
    post_phase(client, site_id, phase_request("kitten two"), phase_secret)
    post_event(
        client, site_id, queue_event("ENTERED", "coral-x", "SYSTEM_WITHHELD"), webhook_secret
    )
    assert [r.external_id for r in rows(engine)] == [None, None]


def test_other_stories_and_events_are_acknowledged_and_ignored(
    client, engine, site_id, phase_secret, webhook_secret, hold_all
):
    post_phase(client, site_id, phase_request("kitten one"), phase_secret)
    other_story = queue_event("ENTERED", "coral-y", "SYSTEM_WITHHELD", story_id="story-2")
    assert post_event(client, site_id, other_story, webhook_secret).status_code == 204
    created = coral_event("STORY_CREATED", {"storyID": "s", "storyURL": "u", "siteID": "x"})
    assert post_event(client, site_id, created, webhook_secret).status_code == 204
    unknown = queue_event("LEFT", "never-seen", "APPROVED")
    assert post_event(client, site_id, unknown, webhook_secret).status_code == 204
    assert [r.external_id for r in rows(engine)] == [None]


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"[]",
        b'{"id": 1}',
        b'{"id": "e", "type": "X"}',
        b'{"id": "e", "type": "X", "data": []}',
    ],
)
def test_malformed_events_are_400(client, site_id, webhook_secret, raw):
    headers = coral_headers(raw, webhook_secret)
    response = client.post(f"/coral/v1/sites/{site_id}/webhook", data=raw, headers=headers)
    assert response.status_code == 400


def test_events_signed_with_the_phase_secret_are_401(client, site_id, phase_secret):
    event = queue_event("LEFT", "c", "APPROVED")
    assert post_event(client, site_id, event, phase_secret).status_code == 401
