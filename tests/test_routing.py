"""Routing by language: German, Portuguese and Turkish comments go to their shipped models.

These tests use the shipped models/de, models/pt and models/tr (each loaded on its
language's first comment) beside the small English test model.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from moderator import create_app
from moderator import storage
from moderator.config import Config
from moderator.routing import LanguageModels
from moderator.routing import discover
from moderator.storage import sites
from moderator.storage.sites import SiteError
from moderator.storage.tables import comments

PROJECT = Path(__file__).resolve().parents[1]
MODELS = PROJECT / "models"
ANALYZE = "/v1alpha1/comments:analyze"

GERMAN = "Du bist ein dummer Idiot und ein elender Vollpfosten, halt einfach die Klappe."
GERMAN_NICE = "Vielen Dank für den ausführlichen Artikel über die Bahnstrecke nach München."
PORTUGUESE = "Você é um idiota imbecil, cala essa boca e vai se ferrar, seu otário."
TURKISH = "Sen tam bir aptalsın, salak herif, defol git buradan gerizekalı."
FRENCH = "Je ne suis pas du tout d'accord avec cet article, c'est une honte absolue."


def _shipped(language: str) -> bool:
    return (MODELS / language / "model.json").is_file()


pytestmark = pytest.mark.skipif(
    not all(_shipped(lang) for lang in ("de", "pt", "tr")), reason="language models not shipped"
)


@pytest.fixture
def routed_config(config) -> Config:
    return Config(
        instance_path=config.instance_path,
        database_url=config.database_url,
        model_path=config.model_path,
        rate_limit="10000/minute",
        language_models=str(MODELS),
    )


@pytest.fixture
def routed_app(routed_config):
    app = create_app(routed_config)
    app.config["TESTING"] = True
    engine = app.extensions["moderator"].engine
    storage.upgrade(engine)
    yield app
    engine.dispose()


@pytest.fixture
def routed(routed_app):
    """(client, key, engine) for a fresh site on an app that routes by language."""
    from moderator import auth

    engine = routed_app.extensions["moderator"].engine
    key = auth.generate_key()
    with storage.transaction(engine) as conn:
        sites.create_site(conn, "routed", auth.hash_key(key), auth.display_prefix(key))
    return routed_app.test_client(), key, engine


def moderate(client, key, text, **extra):
    response = client.post(
        "/api/v1/moderate",
        json={"text": text, **extra},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json


def set_languages(engine, languages, unsupported=None):
    values = {"languages": languages}
    if unsupported:
        values["unsupported_language"] = unsupported
    with storage.transaction(engine) as conn:
        return sites.set_options(conn, "routed", **values)


def stored(engine) -> list:
    with engine.connect() as conn:
        return list(conn.execute(comments.select().order_by(comments.c.created_at)))


# -- discovery and lazy loading ----------------------------------------------------------------


def test_the_shipped_language_models_are_found_without_loading_them():
    found = discover(MODELS, MODELS / "default")
    assert set(found) >= {"de", "pt", "tr"}
    assert found["tr"].categories == ("toxicity",)
    assert "threat" not in found["de"].categories and "toxicity" in found["de"].categories
    models = LanguageModels(found)
    assert models.loaded() == ()
    assert models.engine("tr").model_label.startswith("tr@")
    assert models.loaded() == ("tr",)
    assert models.engine("xx") is None


def test_a_broken_model_json_is_skipped_and_a_broken_model_is_not_loaded(tmp_path, caplog):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.json").write_text("{not json")
    shutil.copytree(MODELS / "tr", tmp_path / "tr")
    (tmp_path / "tr" / "model.joblib").write_bytes(b"not a model")
    found = discover(tmp_path)
    assert set(found) == {"tr"}
    assert LanguageModels(found).engine("tr") is None
    assert "the tr model did not load" in caplog.text


def test_no_folder_means_english_only(tmp_path):
    assert discover(None) == {} and discover(tmp_path / "missing") == {}


# -- the API -------------------------------------------------------------------------------------


def test_a_german_comment_reaches_the_german_model(routed):
    client, key, engine = routed
    result = moderate(client, key, GERMAN, id="g1")
    assert result["language"] == "de"
    assert result["model"].startswith("de@")
    # The German model scores only what its data labels: no threat, no obscene.
    assert "toxicity" in result["scores"] and "threat" not in result["scores"]
    assert result["decision"] in ("hold", "reject")
    row = stored(engine)[0]
    assert (row.language, row.model) == ("de", result["model"])


def test_a_polite_german_comment_is_allowed_by_the_german_model(routed):
    client, key, _ = routed
    result = moderate(client, key, GERMAN_NICE)
    assert (result["language"], result["decision"]) == ("de", "allow")
    assert result["model"].startswith("de@")


@pytest.mark.parametrize(("text", "language"), [(PORTUGUESE, "pt"), (TURKISH, "tr")])
def test_portuguese_and_turkish_reach_their_models(routed, text, language):
    client, key, _ = routed
    result = moderate(client, key, text)
    assert result["language"] == language
    assert result["model"].startswith(f"{language}@")
    assert result["decision"] in ("hold", "reject")
    assert all(r["category"] != "language_unsupported" for r in result["reasons"])


def test_english_still_reaches_the_english_model(routed, routed_app):
    client, key, _ = routed
    result = moderate(client, key, "Thanks for the thoughtful article about the new railway line.")
    assert result["language"] in ("en", None)
    assert result["model"] == routed_app.extensions["moderator"].moderation.model_label


def test_a_language_without_a_model_is_held(routed):
    client, key, _ = routed
    result = moderate(client, key, FRENCH)
    assert (result["language"], result["decision"]) == ("fr", "hold")
    assert result["reasons"][-1]["category"] == "language_unsupported"


def test_a_site_that_accepts_only_english_holds_german(routed):
    client, key, engine = routed
    set_languages(engine, ["en"])
    result = moderate(client, key, GERMAN_NICE)
    assert (result["language"], result["decision"]) == ("de", "hold")
    assert result["reasons"][-1]["category"] == "language_unsupported"


def test_a_site_may_allow_what_it_does_not_accept(routed):
    client, key, engine = routed
    set_languages(engine, ["en"], unsupported="allow")
    assert moderate(client, key, GERMAN_NICE)["decision"] == "allow"


def test_a_german_site_scores_undetermined_comments_in_german(routed):
    client, key, engine = routed
    set_languages(engine, ["de", "en"])
    result = moderate(client, key, "Idiot!")
    assert result["language"] == "de"
    assert result["model"].startswith("de@")


def test_site_word_lists_apply_to_other_languages_but_the_english_default_does_not(routed):
    client, key, engine = routed
    with storage.transaction(engine) as conn:
        sites.set_words(conn, "routed", "suspect", ["bahnstrecke"])
    held = moderate(client, key, GERMAN_NICE)
    assert held["decision"] == "hold"
    assert [r["words"] for r in held["reasons"] if r["source"] == "wordlist"] == [["Bahnstrecke"]]
    # The English default list is not applied: "hell" in "hell erleuchtet" is German.
    calm = moderate(client, key, "Der Bahnhof war hell erleuchtet und die Züge fuhren pünktlich.")
    assert all(r["source"] != "wordlist" for r in calm["reasons"])


# -- the site setting ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ([], "at least one"),
        ("en", "list of language codes"),
        (["EN"], "is not a language code"),
        (["english"], "is not a language code"),
        ([1], "is not a language code"),
        (["de\u202e"], "is not a language code"),
        (["aa"] * 51, "at most 50"),
    ],
)
def test_bad_accepted_languages_are_refused(routed, value, needle):
    _, _, engine = routed
    with pytest.raises(SiteError, match=needle):
        set_languages(engine, value)


def test_accepted_languages_are_deduplicated_audited_and_reset(routed):
    _, _, engine = routed
    site = set_languages(engine, ["de", "en", "de"])
    assert site.languages == ("de", "en")
    assert site.settings()["languages"] == ["de", "en"]
    assert set_languages(engine, None).languages is None


def test_the_cli_sets_and_resets_languages(routed_app, routed_config):
    from click.testing import CliRunner

    from moderator.cli import cli

    engine = routed_app.extensions["moderator"].engine
    with storage.transaction(engine) as conn:
        sites.create_site(conn, "cli-site", "h" * 64, "mod_x")
    env = {
        "MODERATOR_INSTANCE_PATH": str(routed_config.instance_path),
        "DATABASE_URL": routed_config.database_url,
        "MODERATOR_MODEL_PATH": str(routed_config.model_path),
    }
    runner = CliRunner(env=env)
    result = runner.invoke(cli, ["sites", "set", "cli-site", "--languages", "de,EN"])
    assert result.exit_code == 0, result.output
    assert "languages de,en" in result.output
    result = runner.invoke(cli, ["sites", "set", "cli-site", "--languages", "all"])
    assert "languages all" in result.output
    result = runner.invoke(cli, ["sites", "set", "cli-site", "--languages", "de,x1"])
    assert result.exit_code != 0 and "not a language code" in result.output


# -- the Perspective door ----------------------------------------------------------------------


def analyze(client, key, text, languages, *attributes, drop=False):
    payload = {
        "comment": {"text": text},
        "requestedAttributes": {a: {} for a in attributes},
        "languages": languages,
    }
    if drop:
        payload["dropUnsupportedAttributes"] = True
    return client.post(
        f"{ANALYZE}?key={key}", data=json.dumps(payload), content_type="application/json"
    )


@pytest.mark.parametrize(
    ("text", "language"), [(GERMAN, "de"), (PORTUGUESE, "pt"), (TURKISH, "tr")]
)
def test_perspective_scores_toxicity_in_german_portuguese_and_turkish(routed, text, language):
    client, key, engine = routed
    response = analyze(client, key, text, [language], "TOXICITY")
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert body["languages"] == [language]
    assert body["detectedLanguages"] == [language]
    assert body["attributeScores"]["TOXICITY"]["summaryScore"]["value"] > 0.5
    assert stored(engine)[0].model.startswith(f"{language}@")


@pytest.mark.parametrize(
    ("text", "language", "attribute"),
    [
        (TURKISH, "tr", "INSULT"),
        (TURKISH, "tr", "SEVERE_TOXICITY"),
        (GERMAN, "de", "THREAT"),
        (GERMAN, "de", "PROFANITY"),
        (PORTUGUESE, "pt", "THREAT"),
    ],
)
def test_perspective_refuses_attributes_a_languages_model_lacks(routed, text, language, attribute):
    client, key, engine = routed
    response = analyze(client, key, text, [language], "TOXICITY", attribute)
    assert response.status_code == 400
    detail = response.json["error"]["details"][0]
    assert detail["errorType"] == "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    assert detail["languageNotSupportedByAttributeError"]["attribute"] == attribute
    assert response.json["error"]["message"] == (
        f"Attribute {attribute} does not support request languages: {language}"
    )
    assert stored(engine) == []


def test_perspective_drops_what_the_language_lacks_when_asked(routed):
    client, key, _ = routed
    response = analyze(client, key, TURKISH, ["tr"], "TOXICITY", "INSULT", drop=True)
    assert response.status_code == 200
    assert set(response.json["attributeScores"]) == {"TOXICITY"}


def test_perspective_german_answers_what_its_model_scores(routed):
    client, key, _ = routed
    response = analyze(client, key, GERMAN, ["de"], "TOXICITY", "INSULT", "IDENTITY_ATTACK")
    assert response.status_code == 200
    assert set(response.json["attributeScores"]) == {"TOXICITY", "INSULT", "IDENTITY_ATTACK"}


def test_perspective_undeclared_turkish_is_scored_and_reported_truthfully(routed):
    # Perspective's error only for a language the client asked for: an identified language's
    # missing attributes are left out, and detectedLanguages says why.
    client, key, engine = routed
    response = analyze(client, key, TURKISH, [], "TOXICITY", "INSULT")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["detectedLanguages"] == ["tr"]
    assert set(response.json["attributeScores"]) == {"TOXICITY"}
    assert stored(engine)[0].model.startswith("tr@")


def test_perspective_a_language_without_a_model_is_still_refused(routed):
    client, key, _ = routed
    response = analyze(client, key, FRENCH, ["fr"], "TOXICITY")
    assert response.status_code == 400
    assert response.json["error"]["details"][0]["errorType"] == (
        "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"
    )


def test_moderator_score_routes_rows_by_language(tmp_path):
    from click.testing import CliRunner

    from moderator.cli import cli

    source = tmp_path / "in.jsonl"
    rows = [{"text": GERMAN}, {"text": "What a lovely photo of the harbour."}, {"text": FRENCH}]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["score", str(source), "--model", str(MODELS / "default"), "--output", "-"]
    )
    assert result.exit_code == 0, result.output
    german, english, french = [json.loads(line) for line in result.stdout.splitlines()]
    assert german["language"] == "de" and german["model"].startswith("de@")
    assert "model" not in english
    assert french["decision"] == "hold" and "model" not in french


def test_readyz_lists_the_language_models_and_which_are_loaded(routed):
    client, key, _ = routed
    before = client.get("/readyz").json["languages"]
    assert set(before) >= {"de", "pt", "tr"}
    assert before["de"]["model"].startswith("de@") and before["de"]["loaded"] is False
    moderate(client, key, GERMAN)
    after = client.get("/readyz").json["languages"]
    assert after["de"]["loaded"] is True and after["tr"]["loaded"] is False
