"""The admins' integrations pages: Coral secrets, language and Perspective settings, webhook
endpoints, and the deliveries page with every attempt."""

from __future__ import annotations

import pytest

from moderator import storage
from moderator import webhooks as worker
from moderator.storage import outbox
from moderator.storage import secrets
from moderator.storage import sites
from moderator.storage import webhooks as store

SECRET = "empsec_" + "cd" * 32


@pytest.fixture
def site_id(engine, site_key) -> int:
    with storage.reading(engine) as conn:
        return sites.get_site_by_name(conn, "example").id


@pytest.fixture
def admin(dashboard):
    dashboard.login("admin")
    return dashboard


def test_moderators_get_403_on_every_integrations_page(dashboard, site_id):
    dashboard.login("mod")
    for path in (f"/dashboard/sites/{site_id}/integrations", "/dashboard/webhooks"):
        assert dashboard.client.get(path).status_code == 403
    for path in (
        f"/dashboard/sites/{site_id}/coral-secrets",
        f"/dashboard/sites/{site_id}/settings",
        f"/dashboard/sites/{site_id}/webhooks",
    ):
        assert dashboard.post(path, {}).status_code == 403


def test_anonymous_is_sent_to_login(client, site_id):
    response = client.get(f"/dashboard/sites/{site_id}/integrations")
    assert response.status_code in (302, 303) and "/dashboard/login" in response.location


def test_page_shows_coral_urls_and_no_secret(admin, engine, site_id):
    with storage.transaction(engine) as conn:
        secrets.add_secret(conn, site_id, "coral_phase", SECRET)
    html = admin.client.get(f"/dashboard/sites/{site_id}/integrations").get_data(as_text=True)
    assert f"/coral/v1/sites/{site_id}/phase" in html
    assert f"/coral/v1/sites/{site_id}/webhook" in html
    assert SECRET not in html and SECRET[:10] in html


def test_add_and_remove_a_coral_secret(admin, engine, site_id):
    response = admin.post(
        f"/dashboard/sites/{site_id}/coral-secrets",
        {"kind": "webhook", "secret": SECRET, "expires_in": "48"},
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        [stored] = secrets.list_secrets(conn, site_id, "coral_webhook")
    assert stored.secret == SECRET and stored.expires_at is not None
    removed = admin.post(f"/dashboard/sites/{site_id}/coral-secrets/{stored.label}/remove", {})
    assert removed.status_code == 303
    with storage.reading(engine) as conn:
        assert secrets.list_secrets(conn, site_id) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "dns", "secret": SECRET}, "kind must be phase or webhook"),
        ({"kind": "phase", "secret": "short"}, "16-500 characters"),
        ({"kind": "phase", "secret": ""}, "16-500 characters"),
        ({"kind": "phase", "secret": SECRET + "\x07"}, "control characters"),
        ({"kind": "phase", "secret": "x" * 600}, "too long"),
        ({"kind": "phase", "secret": SECRET, "expires_in": "soon"}, "number of hours"),
        ({"kind": "phase", "secret": SECRET, "expires_in": "-1"}, "between 0 and 8760"),
        ({"kind": "phase", "secret": SECRET, "expires_in": "nan"}, "between 0 and 8760"),
    ],
)
def test_bad_secrets_are_400_with_a_reason(admin, engine, site_id, data, message):
    response = admin.post(f"/dashboard/sites/{site_id}/coral-secrets", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with storage.reading(engine) as conn:
        assert secrets.list_secrets(conn, site_id) == []


def test_removing_an_unknown_secret_is_400(admin, site_id):
    response = admin.post(f"/dashboard/sites/{site_id}/coral-secrets/sec_nope/remove", {})
    assert response.status_code == 400


def test_settings_are_saved_and_show_corals_threshold(admin, engine, site_id):
    response = admin.post(
        f"/dashboard/sites/{site_id}/settings",
        {"unsupported_language": "allow", "perspective_reflects_decision": "on"},
    )
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        site = sites.get_site(conn, site_id)
    assert (site.unsupported_language, site.perspective_reflects_decision) == ("allow", True)
    html = admin.client.get(f"/dashboard/sites/{site_id}/integrations").get_data(as_text=True)
    assert "Set Coral's toxicity threshold to" in html


def test_accepted_languages_are_saved_shown_and_reset(admin, engine, site_id):
    form = {"unsupported_language": "hold", "perspective_reflects_decision": "off"}
    response = admin.post(f"/dashboard/sites/{site_id}/settings", {**form, "languages": "de, EN"})
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        assert sites.get_site(conn, site_id).languages == ("de", "en")
    html = admin.client.get(f"/dashboard/sites/{site_id}/integrations").get_data(as_text=True)
    assert 'name="languages" dir="auto" maxlength="400" value="de,en"' in html
    admin.post(f"/dashboard/sites/{site_id}/settings", {**form, "languages": "all"})
    with storage.reading(engine) as conn:
        assert sites.get_site(conn, site_id).languages is None


@pytest.mark.parametrize(
    "data",
    [
        {"unsupported_language": "drop"},
        {"unsupported_language": "hold", "perspective_reflects_decision": "yes"},
        {},
        {"unsupported_language": "hold", "languages": "deutsch"},
        {"unsupported_language": "hold", "languages": "de,<script>"},
        {"unsupported_language": "hold", "languages": "x" * 401},
        {"unsupported_language": "hold", "languages": "de\x00"},
    ],
)
def test_bad_settings_are_400(admin, site_id, data):
    assert admin.post(f"/dashboard/sites/{site_id}/settings", data).status_code == 400


def test_settings_without_csrf_change_nothing(admin, engine, site_id):
    response = admin.client.post(
        f"/dashboard/sites/{site_id}/settings", data={"unsupported_language": "allow"}
    )
    assert response.status_code == 400
    with storage.reading(engine) as conn:
        assert sites.get_site(conn, site_id).unsupported_language == "hold"


def test_add_a_webhook_shows_its_secret_once(admin, engine, site_id):
    response = admin.post(
        f"/dashboard/sites/{site_id}/webhooks",
        {"url": "https://hooks.example/in", "events": ["comment.decided"], "include_note": "on"},
    )
    assert response.status_code == 200
    with storage.reading(engine) as conn:
        [endpoint] = store.list_endpoints(conn, site_id)
    html = response.get_data(as_text=True)
    assert endpoint.secret in html
    assert endpoint.events == ("comment.decided",) and endpoint.include_note
    later = admin.client.get(f"/dashboard/sites/{site_id}/integrations").get_data(as_text=True)
    assert endpoint.secret not in later
    removed = admin.post(f"/dashboard/sites/{site_id}/webhooks/{endpoint.id}/remove", {})
    assert removed.status_code == 303
    again = admin.post(f"/dashboard/sites/{site_id}/webhooks/{endpoint.id}/remove", {})
    assert again.status_code == 400


@pytest.mark.parametrize(
    "data",
    [
        {"url": "javascript:alert(1)"},
        {"url": ""},
        {"url": "https://x.example/", "events": ["comment.exploded"]},
        {"url": "https://x.example/\x01"},
    ],
)
def test_bad_webhooks_are_400(admin, engine, site_id, data):
    assert admin.post(f"/dashboard/sites/{site_id}/webhooks", data).status_code == 400
    with storage.reading(engine) as conn:
        assert store.list_endpoints(conn, site_id) == []


def test_another_sites_endpoint_cannot_be_removed_through_this_site(
    admin, engine, site_id, make_site
):
    make_site("other")
    with storage.transaction(engine) as conn:
        other = sites.get_site_by_name(conn, "other").id
        endpoint = store.add_endpoint(conn, other, "https://other.example/")
    response = admin.post(f"/dashboard/sites/{site_id}/webhooks/{endpoint.id}/remove", {})
    assert response.status_code == 400


def test_unknown_sites_are_404(admin):
    assert admin.client.get("/dashboard/sites/999/integrations").status_code == 404


def test_deliveries_page_shows_attempts_and_retries_failed_ones(admin, engine, site_id):
    with storage.transaction(engine) as conn:
        # Port 9 (discard) on loopback refuses the connection: a real failed attempt.
        store.add_endpoint(conn, site_id, "http://127.0.0.1:9/hook")
        [message] = outbox.enqueue(conn, site_id, "comment.held", "c-1", {"id": "c-1"})
    worker.deliver_due(engine, backoff=())
    html = admin.client.get("/dashboard/webhooks?status=failed").get_data(as_text=True)
    assert message in html and "comment.held" in html and "Retry now" in html
    assert "1 failed" in html
    response = admin.post(f"/dashboard/webhooks/{message}/retry", {})
    assert response.status_code == 303
    with storage.reading(engine) as conn:
        assert outbox.get_delivery(conn, message).status == "pending"


@pytest.mark.parametrize("query", ["?status=lost", "?site=abc", "?site=-1"])
def test_bad_delivery_filters_are_400(admin, query):
    assert admin.client.get(f"/dashboard/webhooks{query}").status_code == 400


def test_retrying_an_unknown_delivery_is_400(admin):
    assert admin.post("/dashboard/webhooks/msg_nope/retry", {}).status_code == 400


def test_comment_cards_show_language_and_door(admin, client, hold_all, engine):
    client.post(
        "/api/v1/moderate",
        json={"text": "Je ne suis pas du tout d'accord avec cet article."},
        headers={"Authorization": f"Bearer {hold_all}"},
    )
    html = admin.client.get("/dashboard/").get_data(as_text=True)
    assert "language <bdi>fr</bdi>" in html
