"""The trained network's MLflow pyfunc face (mlflow.pyfunc.load_model / spark_udf).

Kept apart from udfs.model so the numba scoring path never imports mlflow on Spark workers.
"""
from __future__ import annotations

import mlflow.pyfunc
import pyarrow as pa

from udfs.arrow_adapter import csr_of
from udfs.model import NetworkModel, output_frame


class PyfuncNetwork(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame with `features` (list of "<family>\\t<token>") or `indices` (list of
    this model's vocab indices). Output: label, confidence and p_<class> columns."""

    def load_context(self, context):
        self.model = NetworkModel.load(context.artifacts["network"])

    def predict(self, context, model_input, params=None):
        if "indices" in model_input.columns:
            rows = [None if v is None else list(v) for v in model_input["indices"]]
            offsets, values = csr_of(pa.array(rows, type=pa.list_(pa.int32())))
        else:
            offsets, values = self.model.indices_of(model_input["features"].tolist())
        return output_frame(self.model, self.model.predict_csr(offsets, values), offsets)
