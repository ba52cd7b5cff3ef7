"""The trained network's MLflow pyfunc face (mlflow.pyfunc.load_model / spark_udf).

Kept apart from udfs.model so the numba scoring path never imports mlflow on Spark workers.
"""
from __future__ import annotations

import mlflow.pyfunc

from udfs.model import NetworkModel, output_frame


class PyfuncNetwork(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame of the columns the model's feature set reads: for text tokens, users'
    texts — `biography`, `full_name`, `captions` (list of recent captions); absent columns count
    as empty — or `indices` (list of this model's vocab indices); for profile_numeric, profile
    metadata. Output: label, confidence and p_<class> columns."""

    def load_context(self, context):
        self.model = NetworkModel.load(context.artifacts["network"])

    def predict(self, context, model_input, params=None):
        probs, offsets = self.model.predict_rows(model_input)
        return output_frame(self.model, probs, offsets)
