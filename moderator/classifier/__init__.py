"""The policy classifier: load a trained model directory, score normalised text, explain.

`model.py` loads and scores (a compiled fast path equal to the pipeline's predict_proba);
`artifact.py` compiles a pipeline and stores it as serving.npz for fast loading; `features.py`
counts a batch's features and keeps them; `explain.py` says which words drove a category's
score. No Flask and no database here, and nothing is loaded at import time.
"""

from moderator.classifier.model import METADATA_FILE
from moderator.classifier.model import MIN_CONTRIBUTION
from moderator.classifier.model import MIN_SHARE
from moderator.classifier.model import MODEL_FILE
from moderator.classifier.model import TYPE_RATIO
from moderator.classifier.model import Classifier
from moderator.classifier.model import ModelLoadError

__all__ = [
    "METADATA_FILE",
    "MIN_CONTRIBUTION",
    "MIN_SHARE",
    "MODEL_FILE",
    "TYPE_RATIO",
    "Classifier",
    "ModelLoadError",
]
