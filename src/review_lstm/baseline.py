"""The linear reference: class-balanced TF-IDF word 1-2-grams with logistic regression."""

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline


def fit_and_predict_baseline(train_texts: list[str], train_labels: np.ndarray, test_texts: list[str],
                             max_features: int, c: float, seed: int) -> np.ndarray:
    """Fit on the training split's raw texts and return predicted labels for the test texts."""
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=1, max_features=max_features, sublinear_tf=True),
        LogisticRegression(C=c, class_weight="balanced", max_iter=2000, random_state=seed),
    )
    pipeline.fit(train_texts, train_labels)
    return pipeline.predict(test_texts)
