"""Initial word vectors for the embedding layer, learned from the training split's own text.

With about a thousand training reviews, embeddings that start from random values see
most words only a few times. The positive pointwise mutual information (PPMI) of word
co-occurrences, reduced to `embedding_dim` dimensions by a truncated SVD, gives every
vocabulary word a starting vector that is close to the vectors of words used in
similar contexts. Nothing is downloaded: the vectors come from the training reviews.
"""

import numpy as np
from scipy import sparse
from sklearn.utils.extmath import randomized_svd

from review_lstm.encoded import EncodedSplit
from review_lstm.vocab import PAD_ID

# Co-occurrences count up to this many tokens apart.
PPMI_WINDOW = 4
# Tokens whose pairs are counted at once.
CHUNK_TOKENS = 1_000_000
# Context distribution smoothing: raising context counts to this power lowers the PMI of rare contexts.
CONTEXT_SMOOTHING = 0.75


def cooccurrence_counts(split: EncodedSplit, vocab_size: int, window: int) -> sparse.csr_matrix:
    """Count token pairs up to `window` positions apart within each review, weighted 1 / distance.

    The matrix is symmetric: a pair counts for both tokens. Reviews are read in chunks of
    about CHUNK_TOKENS tokens, so memory grows with the distinct pairs, not with the split.
    """
    counts = sparse.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    first = 0
    while first < len(split):
        last = int(np.searchsorted(split.offsets, split.offsets[first] + CHUNK_TOKENS, side="right")) - 1
        last = min(max(last, first + 1), len(split))
        counts = counts + _chunk_counts(split, first, last, vocab_size, window)
        first = last
    return counts


def _chunk_counts(split: EncodedSplit, first: int, last: int, vocab_size: int, window: int) -> sparse.csr_matrix:
    """Count the pairs of reviews first..last - 1."""
    offsets = np.asarray(split.offsets[first:last + 1])
    token_ids = np.asarray(split.token_ids[offsets[0]:offsets[-1]], dtype=np.int64)
    review_of_position = np.repeat(np.arange(last - first), np.diff(offsets))

    rows, columns, weights = [], [], []
    for distance in range(1, window + 1):
        same_review = review_of_position[:-distance] == review_of_position[distance:]
        left, right = token_ids[:-distance][same_review], token_ids[distance:][same_review]
        rows += [left, right]
        columns += [right, left]
        weights.append(np.full(2 * len(left), 1.0 / distance))

    pairs = sparse.coo_matrix((np.concatenate(weights), (np.concatenate(rows), np.concatenate(columns))),
                              shape=(vocab_size, vocab_size))
    return pairs.tocsr()  # duplicate pairs are summed here


def ppmi_matrix(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Positive pointwise mutual information of a co-occurrence count matrix, with smoothed contexts."""
    word_totals = np.asarray(counts.sum(axis=1)).ravel()
    context_totals = np.asarray(counts.sum(axis=0)).ravel() ** CONTEXT_SMOOTHING
    context_probabilities = context_totals / context_totals.sum()

    coo = counts.tocoo()
    pmi = np.log(coo.data / (word_totals[coo.row] * context_probabilities[coo.col]))
    positive = pmi > 0
    return sparse.csr_matrix((pmi[positive], (coo.row[positive], coo.col[positive])), shape=counts.shape)


def ppmi_svd_vectors(split: EncodedSplit, vocab_size: int, dimensions: int, window: int, seed: int) -> np.ndarray:
    """Return a (vocab_size, dimensions) float32 array of word vectors from the split's co-occurrences.

    Vectors are U * sqrt(S) of a truncated SVD of the PPMI matrix, scaled to standard
    deviation 1 like PyTorch's default embedding initialisation. Tokens without any
    co-occurrence, and the padding token, get zero vectors.
    """
    counts = cooccurrence_counts(split, vocab_size, window)
    vectors = np.zeros((vocab_size, dimensions), dtype=np.float32)
    if counts.nnz == 0:
        return vectors

    ppmi = ppmi_matrix(counts)
    rank = min(dimensions, vocab_size - 1)
    left, singular_values, _ = randomized_svd(ppmi, n_components=rank, random_state=seed)
    vectors[:, :rank] = left * np.sqrt(singular_values)
    vectors /= max(float(vectors.std()), 1e-8)
    vectors[PAD_ID] = 0.0
    return vectors
