"""The decision engine: normalise -> word rules -> classifier -> policy, no storage."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import TYPE_CHECKING

from moderator import policy
from moderator.classifier import Classifier
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
from moderator.service.siterules import SiteRules
from moderator.service.siterules import _freeze
from moderator.sitelayer import SiteLayer
from moderator.text import normalise
from moderator.text import sentences

if TYPE_CHECKING:
    from moderator.routing import LanguageModels

log = logging.getLogger(__name__)

SUPPORTED_LANGUAGES = MODEL_LANGUAGES

#: Up to this many texts (one comment and its sentences) are scored by `score_few`, without
#: the features the batch path keeps for explanations: that path's fixed cost pays off above it.
SMALL_BATCH = 8


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
                score_few = getattr(self.classifier, "score_few", None)
                if score_few is None:
                    return [self.classifier.score_one(text) for text in normalised], None
                return score_few(normalised), None
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
