"""The trained network's MLflow pyfunc face (mlflow.pyfunc.load_model / spark_udf).

Kept apart from udfs.model so the numba scoring path never imports mlflow on Spark workers.
"""
from __future__ import annotations

import mlflow.pyfunc

from udfs.arrow_adapter import csr_of_lists
from udfs.model import NetworkModel, output_frame


class PyfuncNetwork(mlflow.pyfunc.PythonModel):
    """Input: a DataFrame of users' texts — `biography`, `full_name`, `captions` (list of recent
    captions); absent columns count as empty — or `indices` (list of this model's vocab indices).
    Output: label, confidence and p_<class> columns."""

    def load_context(self, context):
        self.model = NetworkModel.load(context.artifacts["network"])

    def predict(self, context, model_input, params=None):
        if "indices" in model_input.columns:  # each listed token counted once
            offsets, indices, counts = (*csr_of_lists(model_input["indices"]), None)
        else:
            offsets, indices, counts = self.model.indices_of_texts(model_input)
        return output_frame(self.model, self.model.predict_csr(offsets, indices, counts), offsets)
