"""The image model on groups of pictures drawn like the world's: it learns what the pictures lean
to, a head without labels costs nothing, and padding is zeros with a mask."""
import numpy as np
import pytest

from jobs.image_groups import GROUP_SIZE, group_arrays
from jobs.image_model import NO_LABEL, build_model, fit, head_metrics, predict
from world import images


def _groups(n_users: int, seed: int):
    """Users of two regions (EU, AS) and two genders, 3 to 11 pictures each, like world.images'."""
    rng = np.random.default_rng(seed)
    regions, genders = rng.integers(0, 2, n_users), rng.integers(0, 2, n_users)
    pixel_lists = []
    for r, g in zip(regions, genders):
        style = images.user_style(rng, ("EU", "AS")[r], "arts", ("female", "male")[g])
        pixel_lists.append([images.render(rng, style).tobytes() for _ in range(int(rng.integers(3, GROUP_SIZE + 1)))])
    volumes, mask = group_arrays(pixel_lists)
    # region classes are ("AF", "AS", "EU", "NA", "OC", "SA"): EU = 2, AS = 1
    return volumes, mask, {"gender": genders, "region": np.where(regions == 0, 2, 1),
                           "occupation": np.full(n_users, NO_LABEL)}


@pytest.fixture(scope="module")
def fitted():
    volumes, mask, targets = _groups(360, seed=1)
    fit_rows, val_rows = slice(0, 240), slice(240, 280)
    model = build_model(seed=3)
    history = fit(model, volumes[fit_rows], mask[fit_rows], {h: t[fit_rows] for h, t in targets.items()},
                  (volumes[val_rows], mask[val_rows], {h: t[val_rows] for h, t in targets.items()}), epochs=6)
    return model, history, volumes, mask, targets


def test_the_image_model_learns_what_pictures_lean_to_and_ignores_unlabelled_heads(fitted):
    model, history, volumes, mask, targets = fitted
    assert np.isfinite(history["loss"]).all() and history["loss"][-1] < history["loss"][0]
    held = slice(280, 360)
    probs = predict(model, volumes[held], mask[held])
    assert {h: p.shape for h, p in probs.items()} == {"gender": (80, 2), "region": (80, 6), "occupation": (80, 8)}
    assert np.allclose(probs["occupation"].sum(axis=1), 1, atol=1e-5)
    got = head_metrics({h: t[held] for h, t in targets.items()}, probs)
    assert "occupation" not in got  # no labels: not judged
    # Region's hue is the strongest leaning the world gives pictures.
    assert got["region"]["model"]["accuracy"] > got["region"]["majority"]["accuracy"] + 0.15, got


def test_groups_are_padded_with_zeros_and_masked():
    volumes, mask, _ = _groups(5, seed=2)
    real = mask.sum(axis=1).astype(int)
    assert ((3 <= real) & (real <= GROUP_SIZE)).all()
    for i, n in enumerate(real):
        assert mask[i, :n].all() and not mask[i, n:].any()
        assert volumes[i, n:].max(initial=0) == 0 and volumes[i, :n].max() > 0
    with pytest.raises(ValueError):
        group_arrays([[b"short"]])


def test_numba_scoring_equals_keras_on_the_exported_weights(fitted):
    from jobs.image_model import FILTERS, IMAGE_HEADS, exported_weights
    from udfs.image_cnn import predict_groups

    model, _, volumes, mask, _ = fitted
    rows = slice(280, 310)
    want = predict(model, volumes[rows], mask[rows])
    got = predict_groups(volumes[rows], mask[rows], exported_weights(model), len(FILTERS), IMAGE_HEADS)
    for head in IMAGE_HEADS:
        assert np.abs(got[head] - want[head]).max() < 1e-4, head
    # A group of one picture and one of that picture with padding after it are the same user.
    one = volumes[280:281].copy()
    one[:, 1:] = 0
    single = predict_groups(one, np.eye(1, volumes.shape[1], dtype=np.float32), exported_weights(model), len(FILTERS),
                            IMAGE_HEADS)
    assert np.abs(single["region"] - predict(model, one, np.eye(1, volumes.shape[1], dtype=np.float32))["region"]).max() < 1e-4


def test_fusion_counts_the_prior_once_and_agreeing_evidence_grows():
    from jobs.image_model import fused

    prior = np.array([0.8, 0.2])
    # An uninformative image model (its posterior is the prior) leaves the text's posterior as it is.
    text = np.array([[0.3, 0.7], [0.9, 0.1]])
    assert np.allclose(fused(text, np.tile(prior, (2, 1)), prior), text)
    # Two models each at 0.6 for the minority class against a 0.2 prior: together far surer.
    both = fused(np.array([[0.4, 0.6]]), np.array([[0.4, 0.6]]), prior)
    assert np.isclose(both[0, 1], 0.9) and np.allclose(both.sum(axis=1), 1)  # 0.6·0.6/0.2 against 0.4·0.4/0.8


def test_an_image_head_that_learnt_nothing_weighs_nothing_in_the_fusion():
    from jobs.image_model import image_weight

    rng = np.random.default_rng(4)
    prior = np.array([0.5, 0.5])
    y = rng.integers(0, 2, 2000)
    noise = rng.dirichlet([2, 2], 2000)  # confident-looking posteriors unrelated to the class
    assert image_weight(noise, y, prior) <= 0.1
    right = np.where(y[:, None] == np.arange(2), 0.7, 0.3)  # 70% sure, always right: worth more than once
    assert image_weight(right, y, prior) > 1
    assert image_weight(noise, np.full(2000, -1), prior) == 0.0  # no labels: no weight
    # against the text model's held-out posteriors: an image that only repeats a sure text adds
    # nothing, one that knows what an unsure text does not adds its evidence; NaN rows (users the
    # text model holds no held-out posterior of) are left out
    sure_text = np.where(y[:, None] == np.arange(2), 0.97, 0.03)
    unsure_text = np.full((2000, 2), 0.5)
    assert image_weight(noise, y, prior, sure_text) == 0.0
    assert image_weight(right, y, prior, unsure_text) > 1
    with_gaps = unsure_text.copy()
    with_gaps[::2] = np.nan
    assert image_weight(right, y, prior, with_gaps) > 1
    assert image_weight(right, y, prior, np.full((2000, 2), np.nan)) == 0.0


def test_the_fusion_weight_is_fitted_where_both_models_held_users_out_and_checked_on_the_other_half():
    """Eight occupations: a text sure and right for half the users and unsure (right 30%) for the
    rest, and an image right 60% of the time, independently. The users the text model holds no
    posterior of (NaN) cannot fit the weight: with only those, w = 0."""
    from jobs.image_model import fusion_weight

    rng = np.random.default_rng(5)
    n, k = 900, 8
    prior = np.full(k, 1 / k)
    y = rng.integers(0, k, n)

    def posteriors(p_right: np.ndarray) -> np.ndarray:
        """Calibrated: a signal right with probability p_right, else another class at random."""
        signal = np.where(rng.random(n) < p_right, y, (y + 1 + rng.integers(0, k - 1, n)) % k)
        out = np.repeat(((1 - p_right) / (k - 1))[:, None], k, axis=1)
        out[np.arange(n), signal] = p_right
        return out

    text = posteriors(np.where(rng.random(n) < 0.5, 0.9, 0.3))
    image = posteriors(np.full(n, 0.6))
    w, fitted_on, check = fusion_weight("occupation", image, y, prior, text)
    assert w > 0.3 and fitted_on.startswith(f"{n} labelled users"), (w, fitted_on)
    assert check["fused_cross_fitted"]["macro_f1"] > check["text"]["macro_f1"] + 0.03, check
    assert check["text"]["users"] == n
    no_text = np.full((n, k), np.nan)
    assert fusion_weight("occupation", image, y, prior, no_text)[:3:2] == (0.0, None)
    w_prior, fitted_on, check = fusion_weight("occupation", image, y, prior, None)  # no text champion
    assert w_prior > 0 and "prior" in fitted_on and check is None
    noise = rng.dirichlet(np.full(k, 2.0), n)
    w, _, check = fusion_weight("occupation", noise, y, prior, text)
    assert w == 0.0 and check["fused_cross_fitted"]["macro_f1"] <= check["text"]["macro_f1"] + 0.01, check


def test_the_champion_gate_keeps_the_better_image_model(tmp_path, monkeypatch):
    import mlflow

    from jobs import image_model

    previous_uri = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/mlflow.db")
    monkeypatch.setenv("DEMOGRAPHICS_MLFLOW", str(tmp_path / "mlflow"))
    model = image_model.build_model()
    summaries = []
    try:
        for f1 in (0.5, 0.4, 0.6):
            summary = {"test": {h: {"model": {"macro_f1": f1}} for h in image_model.IMAGE_HEADS}}
            image_model._log(model, summary, epochs=1, seed=7)
            summaries.append(summary)
            champion = image_model.champion_run(mlflow.MlflowClient())
            assert champion.info.run_id == (summaries[0] if f1 == 0.4 else summary)["run_id"], (f1, summary["gate"])
        assert "left as challenger" in summaries[1]["gate"] and "champion" in summaries[2]["gate"]
        # A night with no region labels is tested on two heads: however good, it cannot take over region.
        partial = {"test": {h: {"model": {"macro_f1": 0.9}} for h in ("gender", "occupation")}}
        image_model._log(model, partial, epochs=1, seed=7)
        assert image_model.champion_run(mlflow.MlflowClient()).info.run_id == summaries[2]["run_id"]
        assert "not tested on region" in partial["gate"] and "left as challenger" in partial["gate"], partial["gate"]
        tagged = mlflow.search_runs(experiment_names=[image_model.EXPERIMENT], filter_string="tags.champion = 'true'")
        assert len(tagged) == 1  # the old champion lost its tag
    finally:
        mlflow.set_tracking_uri(previous_uri)


def test_a_head_without_training_labels_is_not_scored(fitted):
    """Its output is the untrained initialisation: no rows for it, the trained heads as before."""
    import pyarrow as pa

    from jobs.image_model import FILTERS, IMAGE_HEADS, exported_weights, trained_heads
    from jobs.image_score import score_batches
    from udfs.image_cnn import predict_groups

    model, _, volumes, mask, targets = fitted
    summary = {"labelled_per_head": {h: int((t[:240] != NO_LABEL).sum()) for h, t in targets.items()},
               "image_weight": {h: 0.0 for h in IMAGE_HEADS},
               "priors": {"gender": [0.5, 0.5], "region": [1 / 6] * 6, "occupation": [1 / 8] * 8}}
    heads = trained_heads(summary)
    assert heads == ("gender", "region") and trained_heads({}) == IMAGE_HEADS  # older runs: every head
    users = range(300, 306)
    pixels = [[volumes[u, i].tobytes() for i in range(int(mask[u].sum()))] for u in users]
    columns = {"user_id": list(users), "n_images": [len(p) for p in pixels], "pixels": pixels}
    for h in heads:
        columns[f"text_{h}"], columns[f"text_version_{h}"] = [None] * len(pixels), [None] * len(pixels)
    batch = pa.RecordBatch.from_pydict(columns)
    weights = exported_weights(model)
    rows = pa.Table.from_batches(list(score_batches(iter([batch]), lambda: weights, summary, "run"))).to_pandas()
    assert sorted(set(rows["head"])) == ["gender", "region"] and len(rows) == 2 * len(pixels)
    want = predict_groups(volumes[300:306], mask[300:306], weights, len(FILTERS), heads)
    region = rows[rows["head"] == "region"].set_index("user_id")
    for i, u in enumerate(users):
        assert abs(region.loc[u, "confidence"] - want["region"][i].max()) < 1e-5
