"""An ONNX file written by this package (:func:`~survinng_py.export_onnx`), run by
onnxruntime."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_choice, fail
from .base import check_time_grid
from .curves import CurvePredictor, SurvivalCurves
from .registry import register_family

#: targets an exported file may hold
FILE_TARGETS = ("survival", "cum_hazard", "hazard", "cif", "pmf")


@register_family
class OnnxFile(SurvivalCurves):
    """An ONNX file of a survival model with one table input, as
    :func:`~survinng_py.export_onnx` writes it: onnxruntime predicts the file's one
    target ``(batch, event, time)``; its metadata gives the time grid, the target and the
    event names. The model is only predicted.

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
    """

    family = "onnx"
    model_class = "OnnxFile"
    targets = FILE_TARGETS
    per_event_targets = ("cif", "pmf")

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
        from .._onnx_files import NETWORK, onnx_session, session_labels

        session = onnx_session(model, where, arg="model")
        meta = session_labels(session, model, where, arg="model")
        shown = Path(model).name[:60]
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
        name = meta["input_names"][0]
        dtype = np.float64 if meta.get("dtype") == "float64" else np.float32

        def predict(rows: np.ndarray) -> np.ndarray:
            return session.run(None, {name: rows.astype(dtype)})[0]

        n_events = len(spec["event_names"])
        return CurvePredictor(predict, len(spec["time"]), shown, n_events), spec

    def check_target(self, target: str, where: str) -> str:
        file_target = str(self.spec["target"])
        return check_choice(target, (file_target,), "target", f"{where} for this ONNX file")

    def num_risks(self, inputs) -> int:
        return len(self.spec["event_names"])

    def event_names(self, target: str, num_risks: int) -> list[str]:
        return [str(e) for e in self.spec["event_names"]]
