"""The model registry (MLflow): tracking URI, experiments, champion resolution and the champion gate."""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from runtime.config import PROJECT_ROOT, rooted
from jobs.evaluation import evaluate
from udfs.model import NetworkModel
from udfs.pyfunc import PyfuncNetwork

GATE_METRIC = "macro_f1"


def mlflow_folder(namespace: str | None = None) -> Path:
    """The project's own MLflow store (root: $DEMOGRAPHICS_MLFLOW, default var/mlflow); a demo
    namespace has its own, so a demo's models never become the real champions."""
    return Path(rooted("DEMOGRAPHICS_MLFLOW", PROJECT_ROOT / "var" / "mlflow", namespace))

def mlflow_uri(namespace: str | None = None) -> str:
    """$MLFLOW_TRACKING_URI (a server, or a test's store: taken as given), else the project's store."""
    return os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{mlflow_folder(namespace) / 'mlflow.db'}")

def set_experiment(target: str, experiment: str | None) -> None:
    import fcntl

    import mlflow

    folder = mlflow_folder()
    folder.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(mlflow_uri())
    experiment = experiment or f"demographics-{target}"
    # Two targets' train tasks opening a new store at once both ran its SQLite migrations
    # ("No such index: index_jobs_function_status_creation_time"): one at a time.
    with open(folder / ".store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if mlflow.get_experiment_by_name(experiment) is None:
            mlflow.create_experiment(experiment, artifact_location=str(folder / "artifacts" / target))
        mlflow.set_experiment(experiment)

def champion_score(model_name: str, test: pd.DataFrame, classes: list[str]) -> tuple[float | None, str | None]:
    """The current champion's gate metric on this test set (scored from the users' own columns --
    texts, profile metadata -- not from the new model's vocab positions), if any."""
    import mlflow
    from mlflow.exceptions import MlflowException

    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(model_name, "champion")
    except MlflowException:
        return None, None
    champion = mlflow.pyfunc.load_model(f"models:/{model_name}@champion")
    out = champion.predict(test.drop(columns=["indices", "counts", "label"], errors="ignore"))
    probs = out[[f"p_{c}" for c in classes]].to_numpy()
    y = test["label"].map({c: i for i, c in enumerate(classes)}).to_numpy()
    return evaluate(y, probs, classes)[GATE_METRIC], version.version

def log_and_gate(model: NetworkModel, kind: str, params: dict, metrics: dict, artifacts: list[Path], test: pd.DataFrame,
                 register_as: str | None) -> dict:
    """Log one model's run; if register_as, register it and move 'champion' only if it beats the champion."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        folder = model.save(Path(tmp) / "network")
        pd.DataFrame({"index": range(len(model.vocab)), "feature": model.vocab}).to_csv(Path(tmp) / "vocab.csv", index=False)
        with mlflow.start_run(run_name=f"{params['target']}-{kind}") as run:
            mlflow.log_params({k: v for k, v in params.items()})
            scalars = {k: v for k, v in metrics.items() if isinstance(v, (int, float, np.floating))}
            mlflow.log_metrics({k: v for k, v in scalars.items() if np.isfinite(v)})
            others = {k: v for k, v in metrics.items() if k not in scalars}
            if others:  # per-class thresholds and what they keep on the test users
                mlflow.log_dict({"classes": list(model.classes), **others}, "per_class.json")
            mlflow.log_artifact(str(Path(tmp) / "vocab.csv"))
            for a in artifacts:
                mlflow.log_artifact(str(a))
            result = {"run_id": run.info.run_id, "kind": kind}
            if register_as is None:
                return result
            old_score, old_version = champion_score(register_as, test, model.classes)
            info = mlflow.pyfunc.log_model(name="model", python_model=PyfuncNetwork(),
                                           artifacts={"network": str(folder)}, registered_model_name=register_as)
            version = str(info.registered_model_version)
            client = mlflow.MlflowClient()
            new_score = metrics[GATE_METRIC]
            if old_score is None or new_score > old_score:
                client.set_registered_model_alias(register_as, "champion", version)
                why = (f"{GATE_METRIC} {new_score:.4f} > champion v{old_version} {old_score:.4f} on the same test set"
                       if old_score is not None else "first model: becomes champion")
                alias = "champion"
            else:
                client.set_registered_model_alias(register_as, "challenger", version)
                why = (f"{GATE_METRIC} {new_score:.4f} does not beat champion v{old_version} {old_score:.4f} "
                       "on the same test set: left as challenger")
                alias = "challenger"
            client.set_model_version_tag(register_as, version, "gate", why)
            mlflow.set_tag("gate", why)
            result.update(version=version, alias=alias, gate=why, model_uri=f"models:/{register_as}/{version}")
            return result

def champion_age_days(target: str, today: dt.date, namespace: str | None = None) -> int | None:
    """Days since the champion's training night, or None without a champion."""
    import mlflow
    from mlflow.exceptions import MlflowException

    if not mlflow_folder(namespace).exists() and "MLFLOW_TRACKING_URI" not in os.environ:
        return None  # no store yet: nothing trained (and no empty database created)
    mlflow.set_tracking_uri(mlflow_uri(namespace))
    try:
        version = mlflow.MlflowClient().get_model_version_by_alias(target, "champion")
    except MlflowException:
        return None
    trained = dt.datetime.fromtimestamp(version.creation_timestamp / 1000, dt.timezone.utc).date()
    return (today - trained).days


def keep_champion_reason(target: str, night: dt.date, force_retrain: bool, settings: dict | None = None,
                         defaults: dict | None = None, retrain_days: int = 7, namespace: str | None = None) -> str | None:
    """Why this night keeps the champion instead of training (None: train): a champion younger
    than retrain_days, unless forced. Settings that differ from their defaults are named as
    not applied, so a choice made in a form never vanishes silently."""
    age = champion_age_days(target, night, namespace)
    if force_retrain or age is None or age >= retrain_days:
        return None
    when = f"{age} days old" if age >= 0 else f"trained {-age} days after this night"
    reason = f"champion of {target!r} is {when} (< {retrain_days}) and retraining is not forced: keeping it"
    changed = [f"{k}={v}" for k, v in (settings or {}).items() if (defaults or {}).get(k) != v]
    if changed:
        reason += f"; not applied: {', '.join(changed)} (force retraining to train with them)"
    return reason
