"""The one decision path: normalise -> word rules -> classifier -> policy (-> storage).

The HTTP API, the Perspective-compatible endpoint, the dashboard and `moderator score` all
call `Moderation.decide` / `decide_batch`, so a comment gets the same decision whichever
door it came in by.
"""

from __future__ import annotations

import dataclasses
import logging
import re
import uuid
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from moderator import policy
from moderator import standing
from moderator import storage
from moderator.classifier import Classifier
from moderator.desk import lookup
from moderator.desk import statements
from moderator.explaining import explain_reasons
from moderator.language import MODEL_LANGUAGES
from moderator.language import Identification
from moderator.language import LanguageIdentifier
from moderator.policy import Category
from moderator.policy import Decision
from moderator.policy import RuleHit
from moderator.policy import Threshold
from moderator.rules import WORDLIST_ACTIONS
from moderator.rules import WordList
from moderator.rules import policy_wordlist
from moderator.sitelayer import SiteLayer
from moderator.storage import comments as comments_store
from moderator.storage import outbox
from moderator.text import normalise
from moderator.text import sentences

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from moderator.routing import LanguageModels
    from moderator.schemas import CommentIn
    from moderator.storage.sites import Site

log = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = MODEL_LANGUAGES

#: Up to this many texts (one comment and its sentences) are scored one by one: the batch
#: path's fixed cost only pays off above it.
SMALL_BATCH = 4


@dataclass(frozen=True)
class SiteRules:
    """A site's policy: thresholds per category and its compiled word lists."""

    thresholds: Mapping[Category, Threshold]
    wordlist: WordList
    allow: frozenset[str] = frozenset()
    #: The site's own layer over the shared model (moderator/sitelayer.py), if promoted.
    layer: SiteLayer | None = None

    def unmask(self, normalised: str) -> str:
        """The text the classifier scores: without allow-listed words, so they never trigger
        by themselves, nor words a context rule excuses (`the bitch had puppies`)."""
        normalised = self.wordlist.mask_excused(normalised)
        if not self.allow:
            return normalised
        return _allow_pattern(self.allow).sub(" ", normalised)


@lru_cache(maxsize=256)
def _allow_pattern(words: frozenset[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(normalise(w)) for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


class Moderation:
    """The long-lived decision engine: one per process, built in create_app or the CLI."""

    def __init__(
        self,
        classifier: Classifier | None,
        thresholds: Mapping[Category, Threshold] | None = None,
        wordlist: WordList | None = None,
        identifier: LanguageIdentifier | None = None,
        languages: Sequence[str] = SUPPORTED_LANGUAGES,
        others: LanguageModels | None = None,
        default_words: bool = True,
    ) -> None:
        self.classifier = classifier
        #: The language comments are normalised for: the classifier's (English without one).
        self.language = getattr(classifier, "language", "en") if classifier is not None else "en"
        #: Identifies each comment's language; None records no language and holds nothing.
        self.identifier = identifier
        #: The languages the model was trained for; others get the site's language policy.
        self.languages = tuple(languages)
        #: The other languages' models (moderator.routing), each loaded on first use.
        self.others = others
        #: False for another language's engine: the default word list is English, so only a
        #: site's own lists apply.
        self.default_words = default_words
        if thresholds is None:
            thresholds = classifier.thresholds if classifier is not None else {}
        if wordlist is None:
            wordlist = policy_wordlist() if default_words else WordList.compile(block=())
        self.default_rules = SiteRules(thresholds=dict(thresholds), wordlist=wordlist)
        self._site_rules: dict[tuple, SiteRules] = {}
        #: Site id -> the site's promoted layer over this model (set by moderator.serving).
        self.layers: dict[int, SiteLayer] = {}

    @property
    def model_label(self) -> str | None:
        """`name@version` of the loaded model, or None when none is loaded."""
        return self.classifier.label() if self.classifier is not None else None

    def site_rules(
        self,
        thresholds: Mapping[str, Mapping[str, float]] | None = None,
        block: Iterable[str] | None = None,
        suspect: Iterable[str] = (),
        allow: Iterable[str] = (),
        wordlist_action: str = WORDLIST_ACTIONS[0],
        layer: SiteLayer | None = None,
    ) -> SiteRules:
        """A site's rules from its stored settings, compiled once and cached.

        `thresholds` overrides the model's defaults category by category. The default list
        (data/default_words.tsv) always applies: its reject-tier words reject under
        `wordlist_action="reject"` and hold under `"hold"`, its hold-tier words hold at most.
        A site's own block words always reject, its suspect words hold, its allow words never
        trigger (rules/defaults.py). A site `layer` decides `toxicity` with its own probability
        and hold threshold and never rejects on that category alone (moderator/sitelayer.py).
        """
        key = (
            _freeze(thresholds),
            tuple(block or ()),
            tuple(suspect),
            tuple(allow),
            wordlist_action,
            layer,
        )
        rules = self._site_rules.get(key)
        if rules is not None:
            return rules
        merged = dict(self.default_rules.thresholds)
        overrides = policy.thresholds_from_dict(thresholds or {})
        scored = getattr(self.classifier, "categories", None)
        if scored is not None:
            # A category this model doesn't score has no threshold to override.
            overrides = {c: t for c, t in overrides.items() if str(c) in set(scored)}
        merged.update(overrides)
        if layer is not None:
            merged[Category.TOXICITY] = Threshold(hold=layer.hold, reject=1.0)
        if not self.default_words:
            wordlist = WordList.compile(block=key[1], suspect=key[2], allow=key[3])
        elif not (key[1] or key[2] or key[3]) and wordlist_action == WORDLIST_ACTIONS[0]:
            wordlist = self.default_rules.wordlist
        else:
            wordlist = policy_wordlist(wordlist_action, key[1], key[2], key[3])
        rules = SiteRules(
            thresholds=merged,
            wordlist=wordlist,
            allow=frozenset(w.strip().lower() for w in key[3] if w.strip()),
            layer=layer,
        )
        if len(self._site_rules) > 1024:
            self._site_rules.clear()
        self._site_rules[key] = rules
        return rules

    def decide(self, text: str, site: SiteRules | None = None) -> Decision:
        """Decide one comment."""
        return self.decide_batch([text], site)[0]

    def decide_batch(self, texts: Sequence[str], site: SiteRules | None = None) -> list[Decision]:
        """Decide many comments with one classifier call; results in input order.

        Every comment is scored whole and, when it has more than one sentence, sentence by
        sentence (moderator.text.sentences), all in the same batch. A category's score is
        the highest of the whole comment's and its sentences', so one abusive sentence is not
        diluted by polite ones; its reason's words come from the text that gave that score.
        """
        rules = site or self.default_rules
        normalised = [normalise(t, self.language) for t in texts]
        combined = self._combined(texts, normalised, rules)
        if rules.layer is not None:
            for best in combined:
                if best.scores is not None:
                    best.scores = rules.layer.apply(best.scores)
        explained = self._explain(texts, combined, rules)
        decided = [
            policy.decide(
                self._hits(text, norm, rules),
                best.scores,
                rules.thresholds,
                explain=explanations.get,
            )
            for text, norm, best, explanations in zip(
                texts, normalised, combined, explained, strict=True
            )
        ]
        if rules.layer is not None and self.model_label is not None:
            # The stored `model` names the layer too, so a decision can be traced to it.
            label = f"{self.model_label}+{rules.layer.label}"
            decided = [dataclasses.replace(d, model=label) if d.scores else d for d in decided]
        return decided

    def identify(self, texts: Sequence[str]) -> list[Identification]:
        """Each text's language; undetermined for all when no identifier is loaded or it fails."""
        if self.identifier is None:
            return [Identification(None)] * len(texts)
        try:
            return self.identifier.identify_batch(texts)
        except Exception:
            # Never lose a comment to a broken identifier: it is then scored as English.
            log.exception("language identification failed for %d comment(s)", len(texts))
            return [Identification(None)] * len(texts)

    def decide_with_language(
        self,
        texts: Sequence[str],
        site: SiteRules | None = None,
        unsupported: str = "hold",
        *,
        settings: Mapping | None = None,
        accepted: Sequence[str] | None = None,
        declared: Sequence[str | None] | None = None,
    ) -> list[tuple[Decision, Identification]]:
        """decide_batch, after language identification, by the model of each comment's language.

        A comment's language is the identified one; when that is undetermined, the one
        `declared` for it (a Perspective client's `languages`: Coral declares `en` for every
        locale it can't map, so a declaration never overrides what was identified), else the
        site's first accepted language (English when the site names none). English goes to this
        engine; a language with a model in `others` to that model, with the site's
        `settings` (service.site_settings) compiled for it; any other language, or one the
        site doesn't accept (`accepted`, None = every language with a model), is judged by
        the word lists alone and, when `unsupported` is `hold`, held with reason
        `language_unsupported`. Each result is (decision, the language it was judged as);
        a decision by another model names it in `Decision.model`. Results in input order.
        """
        rules = site or self.default_rules
        found = self.identify(texts)
        if declared is not None:
            found = [
                Identification(d, f.guesses) if d and f.language is None else f
                for d, f in zip(declared, found, strict=True)
            ]
        fallback = accepted[0] if accepted else None
        groups: dict[str | None, list[int]] = {}
        for i, f in enumerate(found):
            language = f.language
            if language is None and fallback not in (None, *self.languages):
                language = fallback
            if language is not None and accepted is not None and language not in accepted:
                groups.setdefault("", []).append(i)  # not accepted by the site
            elif language is None or language in self.languages:
                groups.setdefault(None, []).append(i)
            else:
                groups.setdefault(language, []).append(i)
            if language != f.language:
                found[i] = Identification(language, f.guesses)
        decisions: dict[int, Decision] = {}
        for language, rows in groups.items():
            batch = [texts[i] for i in rows]
            if language is None:
                decisions.update(zip(rows, self.decide_batch(batch, rules), strict=True))
                continue
            engine = self.others.engine(language) if self.others and language else None
            if engine is not None:
                local = engine.site_rules(**settings) if settings else engine.default_rules
                judged = [
                    dataclasses.replace(d, model=engine.model_label if d.scores else None)
                    for d in engine.decide_batch(batch, local)
                ]
                decisions.update(zip(rows, judged, strict=True))
                continue
            # No thresholds: the classifier's scores are recorded, only word lists act.
            words_only = dataclasses.replace(rules, thresholds={})
            for i, decision in zip(rows, self.decide_batch(batch, words_only), strict=True):
                decisions[i] = policy.unsupported_language(decision, hold=unsupported == "hold")
        return [(decisions[i], found[i]) for i in range(len(texts))]

    def scores(self, texts: Sequence[str]) -> list[dict[str, float] | None]:
        """Sentence-aware scores of raw texts, as decide_batch uses them (None: no model)."""
        normalised = [normalise(t, self.language) for t in texts]
        return [c.scores for c in self._combined(texts, normalised, self.default_rules)]

    def _combined(
        self, texts: Sequence[str], normalised: Sequence[str], rules: SiteRules
    ) -> list[_Scored]:
        """Each text scored whole and, with more than one sentence, sentence by sentence."""
        batch = [rules.unmask(n) for n in normalised]
        owners: list[tuple[int, int, int]] = []
        unmasked = [b is n or b == n for b, n in zip(batch, normalised, strict=True)]
        if self.classifier is not None and getattr(self.classifier, "sentence_scoring", True):
            for i, text in enumerate(texts):
                spans = sentences(text)
                if len(spans) > 1:
                    # A comment with nothing to mask has no sentence with anything to mask.
                    masking = not unmasked[i]
                    for start, end in spans:
                        owners.append((i, start, end))
                        piece = normalise(text[start:end], self.language)
                        masked = rules.unmask(piece) if masking else piece
                        batch.append(masked)
                        unmasked.append(masked == piece)
        scored, found = self._score(batch)
        combined = [_Scored(s) for s in scored[: len(texts)]]
        for i, best in enumerate(combined):
            best.features = found
            best.rows[(0, len(texts[i]))] = i if unmasked[i] else None
        for k, ((i, start, end), scores) in enumerate(
            zip(owners, scored[len(texts) :], strict=True), start=len(texts)
        ):
            combined[i].add(scores, start, end)
            combined[i].rows[(start, end)] = k if unmasked[k] else None
        return combined

    def _score(self, normalised: list[str]) -> tuple[list[dict[str, float] | None], object]:
        """Scores, and the batch's features when the batch path counted them (else None)."""
        if self.classifier is None:
            return [None] * len(normalised), None
        try:
            if len(normalised) <= SMALL_BATCH:
                return [self.classifier.score_one(text) for text in normalised], None
            score_batch = getattr(self.classifier, "score_batch", None)
            if score_batch is None:  # a classifier without features: reasons analysed afresh
                return list(self.classifier.score(normalised)), None
            scores, found = score_batch(normalised)
            return list(scores), found
        except Exception:
            # Never lose a comment to a broken model: the policy holds it for a person instead.
            log.exception("classifier failed; holding %d comment(s)", len(normalised))
            return [None] * len(normalised), None

    def _hits(self, text: str, normalised: str, rules: SiteRules) -> list[RuleHit]:
        """Word-list hits with spans in the original text, context rules applied.

        Matched once on the normalised text (disguised words hit like plain ones) and mapped
        back to `text` by `WordList.check_comment`.
        """
        return rules.wordlist.check_comment(text, normalised, self.language)

    def _explain(
        self, texts: Sequence[str], combined: Sequence[_Scored], rules: SiteRules
    ) -> list[dict[Category, tuple]]:
        """Per comment, the explanation of every category that fires, all analysed in one batch:
        (words, spans into the comment, the sentence that fired or None)."""
        out: list[dict[Category, tuple]] = [{} for _ in texts]
        if self.classifier is None:
            return out
        wanted = []
        for i, (text, best) in enumerate(zip(texts, combined, strict=True)):
            if best.scores is None:
                continue
            for category, _ in policy.firing(best.scores, rules.thresholds):
                start, end = best.source.get(str(category), (0, len(text)))
                wanted.append((i, category, start, end))
        if not wanted:
            return out
        try:
            results = explain_reasons(self.classifier, texts, combined, wanted)
        except Exception:
            # Never lose a decision to an explanation: the reasons just lack their words.
            log.exception("explanations failed for %d reason(s)", len(wanted))
            results = [([], [])] * len(wanted)
        for (i, category, start, end), (words, spans) in zip(wanted, results, strict=True):
            kept = [
                (w, (a + start, b + start))
                for w, (a, b) in zip(words, spans, strict=True)
                if w.lower() not in rules.allow
            ]
            sentence = (start, end) if (start, end) != (0, len(texts[i])) else None
            out[i][category] = ([w for w, _ in kept], [s for _, s in kept], sentence)
        return out


class _Scored:
    """A comment's per-category scores: the highest of the whole text's and its sentences'."""

    __slots__ = ("features", "rows", "scores", "source")

    def __init__(self, scores: dict[str, float] | None) -> None:
        self.scores = None if scores is None else dict(scores)
        #: category -> [start, end) of the sentence that gave its score, if not the whole.
        self.source: dict[str, tuple[int, int]] = {}
        #: The scored batch's features (moderator.explaining), None when scored one by one.
        self.features = None
        #: [start, end) of the whole text or a sentence -> its row in the scored batch, None
        #: when masking changed what was scored (then its explanation is analysed afresh).
        self.rows: dict[tuple[int, int], int | None] = {}

    def add(self, scores: dict[str, float] | None, start: int, end: int) -> None:
        if self.scores is None or scores is None:
            return
        for category, value in scores.items():
            if value > self.scores[category]:
                self.scores[category] = value
                self.source[category] = (start, end)


def _freeze(value):
    if isinstance(value, Mapping):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


# -- persistence: decide, then store, in one direction (api, batch) ---------------------------


@dataclass(frozen=True)
class StoredComment:
    """A moderated comment as the API returns it; `id` is None when it was not stored."""

    id: str | None
    external_id: str | None
    decision: str
    reasons: list[dict]
    scores: dict[str, float]
    model: str | None
    #: The decision made for this request; None when an earlier one was returned instead.
    fresh: Decision | None = None
    #: The identified language (ISO 639-1), None when undetermined.
    language: str | None = None

    def to_dict(self) -> dict:
        """`{"id", "external_id", "decision", "reasons", "scores", "model", "language"}`."""
        return {
            "id": self.id,
            "external_id": self.external_id,
            "decision": self.decision,
            "reasons": self.reasons,
            "scores": self.scores,
            "model": self.model,
            "language": self.language,
        }

    @classmethod
    def from_row(cls, row: comments_store.Comment) -> StoredComment:
        """The stored decision of a comment sent before (an idempotent retry)."""
        return cls(
            id=row.id,
            external_id=row.external_id,
            decision=row.decision,
            reasons=list(row.reasons),
            scores=dict(row.scores),
            model=row.model,
            language=row.language,
        )


def site_settings(site: Site) -> dict:
    """The keyword arguments of `Moderation.site_rules` for a site's stored settings."""
    return {
        "thresholds": site.thresholds,
        "block": site.block_words,
        "suspect": site.suspect_words,
        "allow": site.allow_words,
        "wordlist_action": site.wordlist_action,
    }


def rules_for(moderation: Moderation, site: Site) -> SiteRules:
    """The site's compiled rules from its stored settings and its promoted layer, if any
    (cached by Moderation)."""
    return moderation.site_rules(**site_settings(site), layer=moderation.layers.get(site.id))


def moderate(
    engine: Engine, moderation: Moderation, site: Site, comment: CommentIn
) -> StoredComment:
    """Decide one comment and commit it (unless `store` is false) before returning."""
    return moderate_batch(engine, moderation, site, [comment])[0]


def moderate_batch(
    engine: Engine, moderation: Moderation, site: Site, comments: Sequence[CommentIn]
) -> list[StoredComment]:
    """Decide and store many comments with one classifier call; results in input order.

    A comment whose (site, id) is already stored gets the stored decision back, without
    being decided again, so a client can retry safely. Two concurrent requests with the
    same id both decide, but the unique constraint lets only one row in; the other request
    returns that row. `store: false` comments are decided and never written. Database
    failures raise `storage.StorageUnavailable`: nothing is returned for a comment that
    should have been stored and wasn't.

    After the text is decided, the author's and the story's standing apply (standing.py):
    a banned or suspended author's comment is rejected (`author_banned`), a pre-moderated
    author's, a new author's or a pre-moderated story's is held at least.
    """
    wanted = [c.external_id for c in comments if c.external_id is not None]
    existing: dict[str, comments_store.Comment] = {}
    new = list(range(len(comments)))
    standings = [standing.CLEAR] * len(comments)
    if wanted or any(c.author_id is not None or lookup.story_ref(c).key_hash for c in comments):
        with storage.reading(engine) as conn:
            if wanted:
                existing = comments_store.find_by_external_ids(conn, site.id, wanted)
            new = [i for i, c in enumerate(comments) if c.external_id not in existing]
            standings = lookup.read_standings(conn, site, [comments[i] for i in new]) if new else []

    judged = (
        moderation.decide_with_language(
            [comments[i].text for i in new],
            rules_for(moderation, site),
            unsupported=site.unsupported_language,
            settings=site_settings(site),
            accepted=site.languages,
            declared=[c.language for c in (comments[i] for i in new)],
        )
        if new
        else []
    )
    # Who wrote it and where, after the text is judged: bans reject, pre-moderation holds.
    decisions = {
        i: standing.apply(decision, found)
        for i, (decision, _), found in zip(new, judged, standings, strict=True)
    }
    languages = {i: found.language for i, (_, found) in zip(new, judged, strict=True)}

    results: list[StoredComment | None] = [None] * len(comments)
    for i, comment in enumerate(comments):
        if comment.external_id in existing:
            results[i] = StoredComment.from_row(existing[comment.external_id])
    to_store = [i for i in new if comments[i].store]
    for i in new:
        if not comments[i].store:
            results[i] = _result(None, comments[i], decisions[i], moderation, languages[i])
    if to_store:
        at = storage.now()
        with storage.transaction(engine) as conn:
            stored = [comments[i] for i in to_store]
            story_ids = lookup.touch_authors_and_stories(conn, site, stored, at)
            for i, story_id in zip(to_store, story_ids, strict=True):
                row = _row(site, comments[i], decisions[i], moderation, languages[i], story_id, at)
                if comments_store.insert_comment(conn, row):
                    results[i] = _result(
                        row.id, comments[i], decisions[i], moderation, languages[i]
                    )
                    _announce(conn, row, site)
                else:
                    # Same (site, id) stored meanwhile, by a concurrent request or earlier in
                    # this batch: answer with that row, as a retry would get.
                    winner = comments_store.find_by_external_ids(
                        conn, site.id, [comments[i].external_id]
                    )[comments[i].external_id]
                    results[i] = StoredComment.from_row(winner)
    return results


def _announce(conn, row: comments_store.Comment, site: Site) -> None:
    """Queue the site's comment.held / comment.rejected webhooks, in the storing transaction.

    A rejection carries its statement of reasons, as GET /api/v1/comments/<id> gives it.
    """
    if row.decision in ("hold", "reject"):
        event = "comment.held" if row.decision == "hold" else "comment.rejected"
        data = outbox.decision_data(row)
        if row.decision == "reject":
            data["statement"] = statements.for_new_rejection(row, site.appeal_days)
        outbox.enqueue(conn, row.site_id, event, row.id, data)


def _model_for(decision: Decision, moderation: Moderation) -> str | None:
    # A decision without scores wasn't made by the model (classifier unavailable).
    if not decision.scores:
        return None
    return decision.model or moderation.model_label


def _result(
    comment_id: str | None,
    comment: CommentIn,
    decision: Decision,
    moderation: Moderation,
    language: str | None = None,
) -> StoredComment:
    data = decision.to_dict()
    return StoredComment(
        id=comment_id,
        external_id=comment.external_id,
        decision=data["decision"],
        reasons=data["reasons"],
        scores=data["scores"],
        model=_model_for(decision, moderation),
        fresh=decision,
        language=language,
    )


def _row(
    site: Site,
    comment: CommentIn,
    decision: Decision,
    moderation: Moderation,
    language: str | None = None,
    story_id: int | None = None,
    at=None,
) -> comments_store.Comment:
    data = decision.to_dict()
    return comments_store.Comment(
        id=uuid.uuid4().hex,
        site_id=site.id,
        external_id=comment.external_id,
        text=comment.text,
        author_id=comment.author_id,
        author_name=comment.author_name,
        url=comment.url,
        parent_text=comment.parent_text,
        decision=data["decision"],
        status=data["decision"],
        scores=data["scores"],
        reasons=data["reasons"],
        model=_model_for(decision, moderation),
        created_at=at or storage.now(),
        language=language,
        door=comment.door,
        context=comment.context,
        story=story_id,
        top_score=max(data["scores"].values(), default=None),
    )
