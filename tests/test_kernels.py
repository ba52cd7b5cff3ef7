"""numba kernels on plain arrays, without Spark: against a dense numpy forward pass."""
import numpy as np
import pyarrow as pa
import pytest

from udfs import kernels
from udfs.csr import csr_of

RNG = np.random.default_rng(0)


def _net(sizes):
    return [(RNG.normal(0, 0.5, (a, b)), RNG.normal(0, 0.1, b)) for a, b in zip(sizes[:-1], sizes[1:])]


def _dense_reference(rows, layers, width):
    x = np.zeros((len(rows), width))
    for r, idx in enumerate(rows):
        for j in set(idx or []):
            if 0 <= j < width:
                x[r, j] = 1.0
    for i, (w, b) in enumerate(layers):
        x = x @ w + b
        if i < len(layers) - 1:
            x = np.maximum(x, 0)
    if x.shape[1] == 1:
        p = 1 / (1 + np.exp(-x[:, 0]))
        return np.column_stack([1 - p, p])
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


ROWS = [[0, 3, 7], [], [5], [1, 2, 3, 4, 5, 6, 7, 8, 9], [9999, -1, 2]]  # last: out-of-vocab indices ignored


@pytest.mark.parametrize("sizes", [(10, 1), (10, 8, 1), (10, 8, 4, 1), (10, 3), (10, 8, 3), (10, 8, 4, 3)])
def test_network_matches_dense_reference(sizes):
    layers = _net(sizes)
    arr = pa.array(ROWS, pa.list_(pa.int32()))
    got = kernels.predict_network(*csr_of(arr), layers, max(2, sizes[-1]))
    assert np.allclose(got, _dense_reference(ROWS, layers, sizes[0]), atol=1e-12)
    assert np.allclose(got.sum(axis=1), 1.0)


def test_sliced_arrays_nulls_single_and_huge_rows():
    layers = _net((50, 6, 1))
    full = pa.array([[1], None, [2, 3], [], [4, 5, 6]], pa.list_(pa.int32()))
    sliced = full.slice(2, 3)  # offsets no longer start at 0
    assert np.asarray(sliced.offsets)[0] == 1
    got = kernels.predict_network(*csr_of(sliced), layers, 2)
    assert np.allclose(got, _dense_reference([[2, 3], [], [4, 5, 6]], layers, 50))
    with_null = kernels.predict_network(*csr_of(full), layers, 2)
    assert np.allclose(with_null[1], _dense_reference([[]], layers, 50)[0])  # null = no tokens
    single = kernels.predict_network(*csr_of(pa.array([[7]], pa.list_(pa.int32()))), layers, 2)
    assert single.shape == (1, 2)
    huge_row = list(range(50)) * 2000  # 100k entries, duplicates included
    huge = kernels.predict_network(*csr_of(pa.array([huge_row], pa.list_(pa.int32()))), layers, 2)
    ref = _dense_reference([list(range(50))], layers, 50)
    assert huge.shape == (1, 2) and not np.allclose(huge, ref)  # duplicates count: inputs must be distinct
    empty = kernels.predict_network(*csr_of(pa.array([], pa.list_(pa.int32()))), layers, 2)
    assert empty.shape == (0, 2)


def test_twin_networks_pick_the_strongest_response():
    nets = [_net((10, 4, 1)) for _ in range(3)]
    arr = pa.array(ROWS, pa.list_(pa.int32()))
    got = kernels.predict_twin(*csr_of(arr), nets)
    responses = np.column_stack([_dense_reference(ROWS, n, 10)[:, 1] for n in nets])
    assert np.allclose(got, responses / responses.sum(axis=1, keepdims=True))
    assert (got.argmax(axis=1) == responses.argmax(axis=1)).all()


def test_uncertain_below_threshold():
    probs = np.array([[0.9, 0.1], [0.55, 0.45], [0.2, 0.8]])
    labels, conf = kernels.label_and_confidence(probs, ["female", "male"], 0.6)
    assert list(labels) == ["female", "uncertain", "male"] and np.allclose(conf, [0.9, 0.55, 0.8])


def test_rows_without_tokens_are_uncertain():
    probs = np.array([[0.9, 0.1], [0.95, 0.05]])
    offsets = np.array([4, 6, 6])  # second row empty
    labels, _ = kernels.label_and_confidence(probs, ["female", "male"], 0.6, kernels.empty_rows(offsets))
    assert list(labels) == ["female", "uncertain"]


def test_vocab_lookup_equals_a_dict_lookup_of_the_users_tokens():
    """Users' texts -> vocab positions, as a dict over the tokeniser's own token list would give:
    known tokens only, once per user, sorted; null texts, null lists and sliced arrays included."""
    from udfs.tokenizer import FAMILIES, FEATURE_SEP, VocabLookup, token_table

    rng = np.random.default_rng(3)
    words = ["café", "#café", "#東京", "gym", "#gym", "🇫🇷", "😍", "l'amour", "x", "#a_b", "москва", "hello"]
    captions = [None if rng.random() < 0.05 else [" ".join(rng.choice(words, rng.integers(0, 6)))
                                                   for _ in range(rng.integers(0, 4))] for _ in range(300)]
    bios = [None if rng.random() < 0.2 else " ".join(rng.choice(words, 3)) for _ in range(300)]
    batch = pa.RecordBatch.from_arrays(
        [pa.array([None] * 5 + bios, pa.string()).slice(5), pa.array(["Élodie Martin"] * 300, pa.string()),
         pa.array([[]] * 5 + captions, pa.list_(pa.string())).slice(5)], names=["biography", "full_name", "captions"])
    tokens = token_table(batch, FAMILIES).to_pandas()
    pool = sorted(set(tokens["family"] + FEATURE_SEP + tokens["token"]))
    vocab = list(rng.choice(pool, len(pool) // 2, replace=False)) + ["hashtag\t#never-seen", "word\tcafe"]
    index = {f: i for i, f in enumerate(vocab)}
    offsets, values = VocabLookup(vocab).csr(batch)
    assert len(offsets) == 301 and offsets[0] == 0
    for row in range(300):
        mine = tokens[tokens["row"] == row]
        expected = sorted({index[f] for f in mine["family"] + FEATURE_SEP + mine["token"] if f in index})
        assert values[offsets[row]:offsets[row + 1]].tolist() == expected, row


def test_token_counter_over_batches_equals_counting_each_users_distinct_tokens():
    """Users per (token, class) across several batches, from a tiny table that has to regrow many
    times; unlabelled rows (-1) are skipped."""
    from collections import Counter

    from udfs.tokenizer import FAMILIES, TokenCounter, token_table

    rng = np.random.default_rng(5)
    words = ["café", "#café", "#東京", "gym", "#gym", "🇫🇷", "😍", "l'amour", "москва", "hello", "#a_b", "x"]
    batches, labels = [], []
    for size in (50, 1, 120):
        batches.append(pa.RecordBatch.from_arrays(
            [pa.array([" ".join(rng.choice(words, 2)) for _ in range(size)]),
             pa.array(["Ana Silva" if rng.random() < 0.5 else None for _ in range(size)], pa.string()),
             pa.array([[" ".join(rng.choice(words, rng.integers(0, 5))) + f" #u{rng.integers(0, 400)}"
                        for _ in range(rng.integers(0, 3))] for _ in range(size)], pa.list_(pa.string()))],
            names=["biography", "full_name", "captions"]))
        labels.append(rng.integers(-1, 3, size))
    counter = TokenCounter(FAMILIES, 3, capacity=16)
    expected = Counter()
    for batch, lab in zip(batches, labels):
        counter.add(batch, lab)
        for row in token_table(batch, FAMILIES).to_pylist():
            if lab[row["row"]] >= 0:
                expected[(row["family"], row["token"], "abc"[lab[row["row"]]])] += 1
    got = {(r["family"], r["token"], r["label"]): r["count"] for r in counter.result(["a", "b", "c"]).to_pylist()}
    assert len(got) > 100 and got == dict(expected)


def test_hashtag_only_pass_gives_the_hashtags_of_the_full_pass():
    """A hashtag-only vocabulary takes the byte-level path (no decoding of the rest of the text);
    its hashtags must be exactly those the all-family pass finds, on hard cases too."""
    from udfs.tokenizer import FAMILIES, token_table

    rng = np.random.default_rng(11)
    pieces = ["#café", "#東京", "##x", "#", "# a", "#_", "#a#b", "#paris🇫🇷", "x#in", "#Ωmega", "#١٢٣", "#a'b",
              "#🙂", "e\u0301#é", "#\u00ad", "tail#", "#ok\n#next", "#𝔘nicode", "😍#love", "plain"]
    captions = [[" ".join(rng.choice(pieces, rng.integers(0, 5))) for _ in range(rng.integers(0, 4))] for _ in range(400)]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(["#bio"] * 400), pa.array(["Ana"] * 400), pa.array(captions, pa.list_(pa.string()))],
        names=["biography", "full_name", "captions"])
    full = token_table(batch, FAMILIES).to_pylist()
    only = token_table(batch, ("hashtag",)).to_pylist()
    assert len(only) > 500 and all(r["family"] == "hashtag" for r in only)
    assert sorted(map(tuple, (r.values() for r in only))) == sorted(
        tuple(r.values()) for r in full if r["family"] == "hashtag")


def test_character_classes_come_back_from_their_cache_unchanged(tmp_path, monkeypatch):
    import udfs
    from udfs import tokenizer

    monkeypatch.setattr(udfs, "NUMBA_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tokenizer, "_CLASSES", None)
    built = tokenizer.char_classes()
    (cached,) = tmp_path.glob("char_classes-*.npy")
    monkeypatch.setattr(tokenizer, "_CLASSES", None)
    assert np.array_equal(tokenizer.char_classes(), built)
    cached.write_bytes(b"not an array")  # a damaged cache is rebuilt, not trusted
    monkeypatch.setattr(tokenizer, "_CLASSES", None)
    assert np.array_equal(tokenizer.char_classes(), tokenizer._char_class_flags())


def test_vocab_lookup_counts_each_tokens_occurrences():
    from udfs.tokenizer import VocabLookup

    batch = pa.RecordBatch.from_arrays(
        [pa.array(["gym", None]), pa.array(["Ana", "Ana Ana"]),
         pa.array([["gym gym #gym", "#gym 😍 gym"], []], pa.list_(pa.string()))], names=["biography", "full_name", "captions"])
    vocab = ["hashtag\t#gym", "word\tgym", "emoji\t😍", "name_word\tana", "bio_word\tgym", "word\tnever"]
    lookup = VocabLookup(vocab)
    offsets, indices, counts = lookup.csr_counts(batch)
    plain = lookup.csr(batch)
    assert offsets.tolist() == plain[0].tolist() and indices.tolist() == plain[1].tolist()
    got = [dict(zip(indices[offsets[r]:offsets[r + 1]].tolist(), counts[offsets[r]:offsets[r + 1]].tolist()))
           for r in range(2)]
    assert got == [{0: 2, 1: 3, 2: 1, 3: 1, 4: 1}, {3: 2}]


def test_weighted_first_layer_equals_the_dense_product():
    rng = np.random.default_rng(4)
    width, rows = 30, 50
    dense = np.where(rng.random((rows, width)) < 0.2, rng.random((rows, width)), 0.0)
    offsets = np.concatenate([[0], np.cumsum((dense > 0).sum(axis=1))]).astype(np.int64)
    indices = np.concatenate([np.flatnonzero(r) for r in dense]).astype(np.int32)
    values = dense[dense > 0]
    layers = [(rng.normal(size=(width, 6)), rng.normal(size=6)), (rng.normal(size=(6, 3)), rng.normal(size=3))]
    got = kernels.predict_network(offsets, indices, layers, 3, values)
    hidden = np.maximum(dense @ layers[0][0] + layers[0][1], 0)
    logits = hidden @ layers[1][0] + layers[1][1]
    expected = np.exp(logits - logits.max(axis=1, keepdims=True))
    assert np.allclose(got, expected / expected.sum(axis=1, keepdims=True), atol=1e-12)
    # l2-normalised sublinear tf-idf: each non-empty row has unit length
    idf = rng.uniform(1, 3, width)
    counts = rng.integers(1, 5, len(indices)).astype(np.int32)
    weighted = kernels.weighted_values(offsets, indices, counts, idf, True, True, np.zeros(0, np.int32))
    manual = (1 + np.log(counts)) * idf[indices]
    norms = np.sqrt(np.add.reduceat(manual ** 2, offsets[:-1]))
    assert np.allclose(weighted, manual / np.repeat(norms, np.diff(offsets)))
    # per group of vocab entries (a token family): each group of a row has unit length
    groups = (np.arange(width) % 3).astype(np.int32)
    per_group = kernels.weighted_values(offsets, indices, counts, idf, True, True, groups)
    row_of = np.repeat(np.arange(rows), np.diff(offsets))
    for row in range(rows):
        for g in range(3):
            mine = (row_of == row) & (groups[indices] == g)
            if mine.any():
                assert np.linalg.norm(per_group[mine]) == pytest.approx(1.0)
                assert np.allclose(per_group[mine] / per_group[mine][0], manual[mine] / manual[mine][0])
    unscaled = kernels.weighted_values(offsets, indices, np.zeros(0, np.int32), idf, False, False, groups)
    assert np.allclose(unscaled, idf[indices])  # no counts: each token once


def test_per_class_thresholds_leave_each_class_uncertain_below_its_own():
    probs = np.array([[0.7, 0.2, 0.1], [0.5, 0.3, 0.2], [0.1, 0.6, 0.3], [0.1, 0.2, 0.7]])
    labels, _ = kernels.label_and_confidence(probs, ["a", "b", "c"], [0.6, 0.65, 2.0])  # c: never
    assert list(labels) == ["a", "uncertain", "uncertain", "uncertain"]


def test_37_class_network_scores_equal_sklearn_probabilities():
    """The country model's shape: 37 classes, softmax; numba on CSR = sklearn on the dense matrix."""
    import scipy.sparse as sp
    from sklearn.neural_network import MLPClassifier

    from jobs.train import _layers

    rng = np.random.default_rng(3)
    n, width, k = 1500, 300, 37
    y = rng.integers(0, k, n)
    x = sp.random(n, width, density=0.03, random_state=4, format="csr")
    x.data[:] = 1.0
    x = (x + sp.csr_matrix((np.ones(n), (np.arange(n), y * 8 % width)), shape=(n, width))).sign().tocsr()
    clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=30, random_state=0).fit(x, y)
    assert len(clf.classes_) == k
    rows = pa.array([x.indices[x.indptr[i]:x.indptr[i + 1]].tolist() for i in range(n)], pa.list_(pa.int32()))
    got = kernels.predict_network(*csr_of(rows), _layers(clf), k)
    assert np.abs(got - clf.predict_proba(x)).max() < 1e-5
