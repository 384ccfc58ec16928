"""An ONNX file of a survival model, run by onnxruntime: one written by this package
(:func:`~survinng_py.export_onnx`), whose metadata gives the grid and the labels, or any
other file of one table input whose one output is survival curves on a declared grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice, fail
from .base import HeadParam, check_time_grid
from .curves import CurvePredictor, SurvivalCurves
from .registry import register_family

#: targets an exported file may hold
FILE_TARGETS = ("survival", "cum_hazard", "hazard", "cif", "pmf", "log_risk", "logits")
#: onnxruntime's input types a file may take, as numpy types
INPUT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}


@register_family
class OnnxFile(SurvivalCurves):
    """An ONNX file of a survival model with one table input ``(batch, features)``, run
    by onnxruntime; the model is only predicted.

    - A file written by :func:`~survinng_py.export_onnx`: onnxruntime predicts the file's
      one target ``(batch, event, time)``; its metadata gives the time grid, the target
      and the event names.
    - Any other file (``time_bins`` given): its one output is read as survival curves
      ``(batch, time)`` (or ``(batch, 1, time)``) on the grid ``time_bins``; its input
      is float32 or float64. Name the features with ``feature_names`` (or give ``data``
      as a DataFrame).

    Examples
    --------
    >>> import numpy as np, torch, tempfile, os, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5))
    >>> data = np.random.default_rng(0).normal(size=(20, 3))
    >>> path = sv.export_onnx(net, os.path.join(tempfile.mkdtemp(), "m.onnx"), data=data,
    ...                       model_type="deephit", time_bins=np.arange(5.0), dynamo=False)
    >>> exp = sv.explain(path, data, model_type="onnx")
    >>> sv.surv_shap(exp, instance=0).values[0].shape
    (1, 3, 1, 5)

    A file from elsewhere, here survival curves ``exp(-cumsum(exp(.)))`` written
    by torch's own exporter:

    >>> class Curves(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.net = net
    ...     def forward(self, x):
    ...         return torch.exp(-self.net(x).exp().cumsum(1))
    >>> other = os.path.join(tempfile.mkdtemp(), "curves.onnx")
    >>> torch.onnx.export(Curves(), torch.zeros(1, 3), other, dynamo=False,
    ...                   input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    >>> exp = sv.explain(other, data, model_type="onnx", time_bins=[1.0, 2, 3, 4, 5],
    ...                  feature_names=["age", "bmi", "dose"])
    >>> res = sv.surv_shap(exp, instance=[0, 1])
    >>> res.feature_names, res.values[0].shape
    ([['age', 'bmi', 'dose']], (2, 3, 1, 5))
    """

    family = "onnx"
    model_class = "OnnxFile"
    targets = FILE_TARGETS
    per_event_targets = ("cif", "pmf", "logits")
    head_params = (
        HeadParam(
            "time_bins",
            "the time grid of the survival curves of an ONNX file not written by export_onnx()",
        ),
    )

    @classmethod
    def check_spec(cls, where, *, time, target="survival", event_names=("event",)) -> dict:
        # defaults: a file of one survival curve per row (the base declares `time` only)
        names = np.asarray(event_names)
        if names.ndim != 1 or names.size == 0 or names.dtype.kind != "U":
            fail("model", where, "a file whose metadata names its events", event_names)
        return {
            "time": check_time_grid(time, "model", where),
            "target": check_choice(target, FILE_TARGETS, "model", where),
            "event_names": names,
        }

    @classmethod
    def wrap(cls, model: Any, head: dict, where: str):
        from .._onnx_files import METADATA_KEY, onnx_session

        session = onnx_session(model, where, arg="model")
        shown = Path(model).name[:60]
        own = METADATA_KEY in session.get_modelmeta().custom_metadata_map
        if own and "time_bins" in head:
            fail(
                "time_bins",
                where,
                "left out for an ONNX file written by export_onnx() (its metadata gives "
                "the time grid)",
                head["time_bins"],
            )
        if own:
            spec, name, dtype = cls._exported(session, model, shown, where)
        elif "time_bins" not in head:
            fail(
                "time_bins",
                where,
                "given for an ONNX file not written by export_onnx() (the time grid of "
                "its survival curves)",
                None,
            )
        else:
            spec = cls.validate_spec(
                {"time": check_time_grid(head["time_bins"], "time_bins", where)}, where
            )
            name, dtype = cls._foreign(session, shown, where)

        def predict(rows: np.ndarray) -> np.ndarray:
            return session.run(None, {name: rows.astype(dtype)})[0]

        n_events = len(spec["event_names"])
        return CurvePredictor(predict, len(spec["time"]), shown, n_events), spec

    @classmethod
    def _exported(cls, session, model: Any, shown: str, where: str):
        """The spec, input name and input type of a file written by export_onnx()."""
        from .._onnx_files import NETWORK, session_labels

        meta = session_labels(session, model, where, arg="model")
        if (
            meta.get("target") == NETWORK
            or len(meta["input_names"]) != 1
            or len(meta["input_shapes"][0]) != 1
            or not isinstance(meta.get("time"), list)
            or not isinstance(meta.get("event_names"), list)
        ):
            fail(
                "model",
                where,
                "an ONNX file of a survival model with one table input (export_onnx())",
                shown,
            )
        spec = cls.validate_spec(
            {"time": meta["time"], "target": meta["target"], "event_names": meta["event_names"]},
            where,
        )
        dtype = np.float64 if meta.get("dtype") == "float64" else np.float32
        return spec, meta["input_names"][0], dtype

    @staticmethod
    def _foreign(session, shown: str, where: str):
        """The input name and type of any other file: one float table input, one output."""
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 2 or inputs[0].type not in INPUT_TYPES:
            found = ", ".join(f"{i.type} of rank {len(i.shape)}" for i in inputs)
            fail(
                "model",
                where,
                "an ONNX file with one input, a float or double table (batch, features)",
                f"{shown} takes {found or 'no input'}",
                as_text=True,
            )
        if isinstance(inputs[0].shape[0], int):
            fail(
                "model",
                where,
                "an ONNX file whose input has a free batch axis (torch.onnx.export's dynamic_axes)",
                f"{shown} takes batches of {inputs[0].shape[0]} rows only",
                as_text=True,
            )
        if len(outputs) != 1:
            fail(
                "model",
                where,
                "an ONNX file with one output, the survival curves (batch, time)",
                f"{shown} has {len(outputs)} outputs",
                as_text=True,
            )
        return inputs[0].name, INPUT_TYPES[inputs[0].type]

    def check_target(self, target: str, where: str) -> str:
        file_target = str(self.spec["target"])
        return check_choice(target, (file_target,), "target", f"{where} for this ONNX file")

    def num_risks(self, inputs) -> int:
        return len(self.spec["event_names"])

    def event_names(self, target: str, num_risks: int) -> list[str]:
        return [str(e) for e in self.spec["event_names"]]
