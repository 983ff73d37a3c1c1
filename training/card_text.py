"""What model cards say that no run measures: each language's name, data credits, the
published result its official test is set beside, and the model's known limits."""

from __future__ import annotations

#: The English model's known limits, one card line each.
ENGLISH_LIMITS = [
    "A bag of words: no word order beyond bigrams, no sarcasm, and negation or context "
    "only as far as the counter-speech templates taught them; quoting or reporting abuse "
    "still often scores like abuse (the decisions benchmark's counter-speech set).",
    "Trained on tweets, Gab and Reddit posts and Civil Comments. Other "
    "registers (long reviews, chat) shift the scores.",
    "Threat has few positives (GHC cv, EDOS threats), mostly violence against groups: "
    "threats against individuals are under-represented.",
    "identity_attack is learned largely from Davidson hate, GHC hd and EDOS sexism "
    "labels: slur-heavy and gender-heavy; attacks on other identities without slurs are "
    "weaker.",
    "Labels are noisy and definitions differ between datasets (HASOC HATE includes "
    "political abuse; Davidson offensive is mostly slang profanity).",
    "Explanations are per-word linear contributions: a word that only matters in "
    "context is credited to whichever words carry the weight.",
    "The neutral identity set and the training templates are both written by this "
    "project, so the false-flag rate is an optimistic estimate for real comments. Group "
    "names that co-occur with attacks in the data (women, Muslims, Jews) still raise "
    "identity_attack on their own in short sentences.",
    "Davidson 3-class figures come from a 5-input head over the category scores, "
    "fitted on Davidson validation rows: hate vs offensive is the weak part (low hate "
    'recall); Davidson\'s "offensive" is a register, not a policy category.',
]

#: What holds for every language's model (its data's own limits are in LANGUAGES).
LANGUAGE_LIMITS = [
    "A bag of words: no word order beyond bigrams, no sarcasm, no negation or context; "
    "quoting or reporting abuse scores like abuse.",
    "Explanations are per-word linear contributions: a word that only matters in "
    "context is credited to whichever words carry the weight.",
]


def limits(language: str) -> list[str]:
    """The card's Known limits lines: English's own, or the language's data plus the generic."""
    lines = (
        ENGLISH_LIMITS
        if language == "en"
        else [*LANGUAGES.get(language, {}).get("limits", []), *LANGUAGE_LIMITS]
    )
    return [f"- {line}" for line in lines]


#: What a model card says per language other than English: its name, the published
#: result its official test is set beside, and its own limits.
LANGUAGES: dict[str, dict] = {
    "de": {
        "name": "German",
        "credits": "GermEval 2018 (Wiegand, Siegel and Ruppenhofer; CC BY 4.0) and GAHD "
        "(Goldzycher et al. 2024; CC BY 4.0)",
        "published": "GermEval 2018 coarse task: best submitted system 76.77 macro-F1 "
        "(Wiegand, Siegel and Ruppenhofer 2018, the shared task overview)",
        "limits": [
            "German: GermEval 2018 is 8.5k tweets; toxicity is learned from it alone (GAHD "
            "teaches identity_attack only: as toxicity data, its hate rows toxic and its news "
            "sentences civil, it lowered the cross-validated figures). profanity (71 training "
            "positives) is too rare to score obscene; threat is never labelled.",
            "German: the official test tweets are harder than the training tweets suggest: "
            "out-of-fold toxicity AUC and macro-F1 inside the training tweets are well above "
            "the official test's (both in the Language section above).",
        ],
        "target": 0.76,
    },
    "pt": {
        "name": "Portuguese (Brazilian)",
        "credits": "ToLD-Br (Leite, Silva, Bontcheva and Scarton 2020; CC BY-SA 4.0: the "
        "model is trained from it, the data is not redistributed)",
        "published": "ToLD-Br paper (Leite et al. 2020, AACL): monolingual BERT up to 0.76 "
        "macro-F1 on the binary task (its AutoML and multilingual BERT baselines lower)",
        "limits": [
            "Portuguese: ToLD-Br is Brazilian Twitter; European Portuguese is not in the "
            "data. Threat is never labelled. A type flagged by one of three annotators is "
            "left unlabelled in training.",
        ],
    },
    "tr": {
        "name": "Turkish",
        "credits": "OffensEval 2020 Turkish (Çöltekin 2020, the OffensTR corpus; CC BY)",
        "published": "OffensEval 2020 Turkish: best submitted system 0.8258 macro-F1 "
        "(Zampieri et al. 2020, BERT-based)",
        "limits": [
            "Turkish: OffensEval 2020 labels offensive or not, nothing finer, so this model "
            "scores toxicity alone.",
            "Turkish: a linear n-gram model; the shared task's best system (BERT-based) "
            "reached 0.826 macro-F1 on the official test.",
        ],
        "target": 0.78,
    },
}
