"""The trained network's MLflow pyfunc face (mlflow.pyfunc.load_model / spark_udf).

Kept apart from udfs.model so the numba scoring path never imports mlflow on Spark workers.
"""
from __future__ import annotations

import mlflow.pyfunc
import numpy as np

from udfs.model import NetworkModel, output_frame


class PyfuncNetwork(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with `features` (list of "<family>\\t<token>") or `indices` (list of
    this model's vocab indices). Output: label, confidence and p_<class> columns."""

    def load_context(self, context):
        self.model = NetworkModel.load(context.artifacts["network"])

    def predict(self, context, model_input, params=None):
        if "indices" in model_input.columns:
            col = model_input["indices"]
            lengths = np.fromiter((0 if v is None else len(v) for v in col), dtype=np.int64, count=len(col))
            offsets = np.concatenate([[0], np.cumsum(lengths)])
            values = (np.concatenate([np.asarray(v, dtype=np.int32) for v in col if v is not None and len(v)])
                      if lengths.sum() else np.zeros(0, dtype=np.int32))
        else:
            offsets, values = self.model.indices_of(model_input["features"].tolist())
        return output_frame(self.model, self.model.predict_csr(offsets, values), offsets)
