"""`SurvResult`: the one labelled result type of every attribution method."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ._validation import fail

PRED_FIELDS = ("pred", "pred_ref", "pred_diff", "pred_diff_q1", "pred_diff_q3")


class SurvResult:
    """Time-resolved attributions with their labels.

    Attributes
    ----------
    values : list of ndarray
        One array per network input, axes ``(instance, *feature_dims, event, time)``.
    pred : ndarray
        The target at the explained points, ``(instance, event, time)``.
    pred_ref, pred_diff, pred_diff_q1, pred_diff_q3 : ndarray or None
        Reference predictions and ``pred - reference`` (IntGrad(t), GradSHAP(t)).
    time : ndarray
        The time grid on the original time scale.
    feature_names : list of list of str
        Per input, one name per element of its feature dims (row-major).
    input_names, event_names : list of str
    instance : ndarray
        Row ids of the explained points (0-based rows of the explainer data, or of ``x``).
    method, model_class, target : str
    args : dict
        Every argument of the call that produced the result.
    """

    def __init__(self, values: Sequence[np.ndarray], *, pred: np.ndarray, time: np.ndarray,
                 feature_names: Sequence[Sequence[str]], input_names: Sequence[str],
                 event_names: Sequence[str], instance: np.ndarray, method: str, model_class: str,
                 target: str, args: dict[str, Any], pred_ref: np.ndarray | None = None,
                 pred_diff: np.ndarray | None = None, pred_diff_q1: np.ndarray | None = None,
                 pred_diff_q3: np.ndarray | None = None):
        self.values = [np.asarray(v) for v in values]
        self.pred = np.asarray(pred)
        self.pred_ref, self.pred_diff = pred_ref, pred_diff
        self.pred_diff_q1, self.pred_diff_q3 = pred_diff_q1, pred_diff_q3
        self.time = np.asarray(time, dtype=np.float64)
        self.feature_names = [list(map(str, names)) for names in feature_names]
        self.input_names = list(map(str, input_names))
        self.event_names = list(map(str, event_names))
        self.instance = np.asarray(instance, dtype=np.int64)
        self.method, self.model_class, self.target = method, model_class, target
        self.args = dict(args)

    # -- shape and labels -----------------------------------------------------------
    @property
    def label(self) -> str:
        """Display name of the method, e.g. ``GxI(t)`` (from the method table; the method id
        for a method that is not registered)."""
        from .methods.registry import method_label
        return method_label(self.method, bool(self.args.get("times_input")))

    @property
    def feature_shapes(self) -> list[tuple[int, ...]]:
        return [v.shape[1:-2] for v in self.values]

    def to_numpy(self, input: int | str = 0) -> np.ndarray:
        """The attribution array of one input, ``(instance, *feature_dims, event, time)``."""
        return self.values[self._input_index(input)]

    def _input_index(self, input: int | str) -> int:
        if isinstance(input, str) and input in self.input_names:
            return self.input_names.index(input)
        if isinstance(input, (int, np.integer)) and 0 <= input < len(self.values):
            return int(input)
        fail("input", "SurvResult", f"an input index below {len(self.values)} or one of "
             f"{self.input_names}", input)

    def isel(self, *, instance=None, event=None, time=None) -> "SurvResult":
        """Select by position along instance, event and time; labels follow."""
        def pick(axis_len, sel):
            return np.arange(axis_len) if sel is None else np.atleast_1d(np.arange(axis_len)[sel])
        i = pick(len(self.instance), instance)
        e = pick(len(self.event_names), event)
        t = pick(len(self.time), time)

        def cut(a):
            return None if a is None else a[i][:, e][:, :, t]
        values = [v[i][..., e, :][..., t] for v in self.values]
        return SurvResult(values, time=self.time[t], feature_names=self.feature_names,
                          input_names=self.input_names,
                          event_names=[self.event_names[k] for k in e], instance=self.instance[i],
                          method=self.method, model_class=self.model_class, target=self.target,
                          args=self.args, **{f: cut(getattr(self, f)) for f in PRED_FIELDS})

    # -- conversions ----------------------------------------------------------------
    def to_pandas(self, long: bool = True):
        """A pandas DataFrame.

        ``long=True``: one row per (instance, input, feature, event, time) with columns
        ``instance, input, feature, event, time, value`` and the prediction columns.
        ``long=False``: one row per (instance, event, time), one column per feature
        (prefixed ``<input>:`` when there are several inputs) and the prediction columns.
        """
        import pandas as pd

        n, n_e, n_t = len(self.instance), len(self.event_names), len(self.time)
        preds = {f: getattr(self, f) for f in PRED_FIELDS if getattr(self, f) is not None}
        if not long:
            cols: dict[str, Any] = {
                "instance": np.repeat(self.instance, n_e * n_t),
                "event": pd.Categorical(np.tile(np.repeat(self.event_names, n_t), n),
                                        categories=self.event_names),
                "time": np.tile(self.time, n * n_e)}
            for k, values in enumerate(self.values):
                flat = values.reshape(n, -1, n_e * n_t)
                prefix = f"{self.input_names[k]}:" if len(self.values) > 1 else ""
                for j, name in enumerate(self.feature_names[k]):
                    cols[prefix + name] = flat[:, j, :].reshape(-1)
            cols.update({f: p.reshape(-1) for f, p in preds.items()})
            return pd.DataFrame(cols)
        frames = []
        for k, values in enumerate(self.values):
            n_f = len(self.feature_names[k])
            frame = {
                "instance": np.repeat(self.instance, n_f * n_e * n_t),
                "input": np.full(values.size, self.input_names[k], dtype=object),
                "feature": np.tile(np.repeat(self.feature_names[k], n_e * n_t), n),
                "event": np.tile(np.repeat(self.event_names, n_t), n * n_f),
                "time": np.tile(self.time, n * n_f * n_e),
                "value": values.reshape(-1)}
            for f, p in preds.items():
                frame[f] = np.repeat(p.reshape(n, 1, n_e * n_t), n_f, axis=1).reshape(-1)
            frames.append(pd.DataFrame(frame))
        out = pd.concat(frames, ignore_index=True)
        for col, cats in (("input", self.input_names), ("event", self.event_names),
                          ("feature", list(dict.fromkeys(sum(self.feature_names, []))))):
            out[col] = pd.Categorical(out[col], categories=cats)
        return out

    def to_arrow(self, layout: str = "long"):
        """A ``pyarrow.Table`` with the labels in its schema (see :mod:`survinng_py.exchange`)."""
        from .exchange import to_arrow
        return to_arrow(self, layout)

    @classmethod
    def from_arrow(cls, table) -> "SurvResult":
        """Rebuild a result from :meth:`to_arrow`'s table (long or wide layout)."""
        from .exchange import from_arrow
        return from_arrow(table)

    def plot(self, type: str = "attr", **kwargs):
        """Plot with :mod:`survinng_py.plot` (``type``: ``"attr"``, ``"pred"``, ``"contr"``,
        ``"force"``, ``"image"``, ``"sequence"`` or ``"modality"``)."""
        from . import plot as _plot
        return _plot.plot(self, type=type, **kwargs)

    def __repr__(self) -> str:
        inputs = ", ".join(f"{name}{tuple(shape)}" for name, shape in
                           zip(self.input_names, self.feature_shapes))
        return (f"<SurvResult {self.label} of {self.target} | {self.model_class} | "
                f"{len(self.instance)} instance(s) | inputs: {inputs} | "
                f"events: {len(self.event_names)} | {len(self.time)} times in "
                f"[{self.time.min():.4g}, {self.time.max():.4g}]>")
