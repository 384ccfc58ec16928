"""`SurvResult`: the one labelled result type of every attribution method."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _arrow
from ._validation import PRED_FIELDS, RESULT_FIELDS, fail


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
    feature_pairs : list of list of [str, str], or None
        For second-order results (Hessian(t), Integrated Hessians(t)): per input, the
        pair of feature names of each of its (flattened) features, whose names read
        ``"a:b"``; ``None`` for first-order results.
    """

    def __init__(
        self,
        values: Sequence[np.ndarray],
        *,
        pred: np.ndarray,
        time: np.ndarray,
        feature_names: Sequence[Sequence[str]],
        input_names: Sequence[str],
        event_names: Sequence[str],
        instance: np.ndarray,
        method: str,
        model_class: str,
        target: str,
        args: dict[str, Any],
        pred_ref: np.ndarray | None = None,
        pred_diff: np.ndarray | None = None,
        pred_diff_q1: np.ndarray | None = None,
        pred_diff_q3: np.ndarray | None = None,
        feature_pairs: Sequence[Sequence[Sequence[str]]] | None = None,
    ):
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
        self.feature_pairs = (
            None
            if feature_pairs is None
            else [[[str(a), str(b)] for a, b in pairs] for pairs in feature_pairs]
        )

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
        """The attribution array of one input, ``(instance, *feature_dims, event, time)``.

        Parameters
        ----------
        input : int or str
            Position or name of the network input.

        Returns
        -------
        numpy.ndarray
            ``values`` of that input, shape ``(instance, *feature_dims, event, time)``.

        Raises
        ------
        SurvinngError
            For an input that is neither a valid position nor one of ``input_names``.

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> sv.surv_grad(exp, instance=[0, 1]).to_numpy("input_1").shape
        (2, 2, 1, 2)
        """
        return self.values[self._input_index(input)]

    def _input_index(self, input: int | str, where: str = "SurvResult") -> int:
        if isinstance(input, str) and input in self.input_names:
            return self.input_names.index(input)
        if (
            isinstance(input, (int, np.integer))
            and not isinstance(input, bool)
            and 0 <= input < len(self.values)
        ):
            return int(input)
        fail(
            "input",
            where,
            f"an input index below {len(self.values)} or one of {self.input_names}",
            input,
        )

    def replace(self, **fields: Any) -> SurvResult:
        """A new result with ``fields`` replaced; the others are shared with this one.

        Parameters
        ----------
        **fields
            Any of ``values``, ``pred``, ``pred_ref``, ``pred_diff``, ``pred_diff_q1``,
            ``pred_diff_q3``, ``time``, ``feature_names``, ``input_names``,
            ``event_names``, ``instance``, ``method``, ``model_class``, ``target``, ``args``,
            ``feature_pairs``.

        Returns
        -------
        SurvResult

        Raises
        ------
        SurvinngError
            For a name that is not a field.

        Examples
        --------
        >>> res.replace(target="cif")  # doctest: +SKIP
        """
        for name in fields:
            if name not in RESULT_FIELDS:
                fail(
                    name,
                    "replace()",
                    "a SurvResult field (" + ", ".join(RESULT_FIELDS) + ")",
                    fields[name],
                )
        kept = {name: fields.get(name, getattr(self, name)) for name in RESULT_FIELDS}
        return SurvResult(kept.pop("values"), **kept)

    def isel(
        self,
        *,
        instance: Any = None,
        event: Any = None,
        time: Any = None,
        input: Any = None,
        feature: Any = None,
    ) -> SurvResult:
        """Select by position; labels follow.

        Each selector is ``None`` (all), a position, a list of positions, a slice or a
        boolean mask; a single position keeps its axis.

        Parameters
        ----------
        instance, event, time : optional
            Positions along those axes.
        input : optional
            Positions (or names) of the inputs to keep.
        feature : optional
            Flat (row-major) positions of the features to keep, for a result with one
            input (after ``input``); the feature axis becomes one-dimensional.

        Returns
        -------
        SurvResult

        Raises
        ------
        SurvinngError
            For a position out of range or a selector of the wrong kind.

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> res = sv.surv_grad(exp, instance=[0, 1, 2])
        >>> one = res.isel(instance=[1], time=slice(0, 1))
        >>> one.values[0].shape, one.instance.tolist(), one.time.tolist()
        ((1, 2, 1, 1), [1], [1.0])
        """
        i = _positions(instance, len(self.instance), "instance", "isel()")
        e = _positions(event, len(self.event_names), "event", "isel()")
        t = _positions(time, len(self.time), "time", "isel()")
        if input is None:
            k = list(range(len(self.values)))
        else:
            k = [
                self._input_index(one, "isel()")
                for one in np.atleast_1d(np.asarray(input, dtype=object))
            ]
            if not k:
                fail("input", "isel()", "at least one input", input)
        values = [self.values[j][i][..., e, :][..., t] for j in k]
        names = [self.feature_names[j] for j in k]
        pairs = None if self.feature_pairs is None else [self.feature_pairs[j] for j in k]
        if feature is not None:
            if len(values) != 1:
                fail(
                    "feature",
                    "isel()",
                    "used on a result with one input (choose it with `input`)",
                    f"{len(values)} inputs",
                    as_text=True,
                )
            f = _positions(feature, len(names[0]), "feature", "isel()")
            values = [values[0].reshape(len(i), -1, len(e), len(t))[:, f]]
            names = [[names[0][j] for j in f]]
            pairs = None if pairs is None else [[pairs[0][j] for j in f]]

        def cut(a):
            return None if a is None else a[i][:, e][:, :, t]

        return self.replace(
            values=values,
            time=self.time[t],
            feature_names=names,
            input_names=[self.input_names[j] for j in k],
            event_names=[self.event_names[j] for j in e],
            instance=self.instance[i],
            feature_pairs=pairs,
            **{f: cut(getattr(self, f)) for f in PRED_FIELDS},
        )

    def sel(
        self,
        *,
        instance: Any = None,
        event: Any = None,
        time: Any = None,
        input: Any = None,
        feature: Any = None,
    ) -> SurvResult:
        """Select by label; labels follow (see :meth:`isel` for positions).

        A single label keeps its axis.

        Parameters
        ----------
        instance : int or list of int, optional
            Instance ids (the first row of each id).
        event : str or list of str, optional
            Event names.
        time : float or list of float, optional
            Times; each picks the nearest time of the grid (the earlier one on a tie).
        input : str or list of str, optional
            Input names.
        feature : str or list of str, optional
            Feature names of the one input (after ``input``).

        Returns
        -------
        SurvResult

        Raises
        ------
        SurvinngError
            For a label the result does not have.

        Examples
        --------
        >>> res.sel(instance=[3, 7], time=2.5, feature=["age", "size"])  # doctest: +SKIP
        """
        ids, first = np.unique(self.instance, return_index=True)
        i = (
            None
            if instance is None
            else _by_label(instance, dict(zip(ids.tolist(), first.tolist())), "instance", int)
        )
        e = None if event is None else _by_label(event, _index(self.event_names), "event", str)
        k = None if input is None else _by_label(input, _index(self.input_names), "input", str)
        t = None if time is None else self._nearest_times(time)
        f = None
        if feature is not None:
            inputs = range(len(self.values)) if k is None else k
            if len(inputs) != 1:
                fail(
                    "feature",
                    "sel()",
                    "used on a result with one input (choose it with `input`)",
                    f"{len(inputs)} inputs",
                    as_text=True,
                )
            f = _by_label(feature, _index(self.feature_names[inputs[0]]), "feature", str)
        return self.isel(instance=i, event=e, time=t, input=k, feature=f)

    def _nearest_times(self, time: Any) -> np.ndarray:
        wanted = np.atleast_1d(np.asarray(time, dtype=object))
        if wanted.ndim != 1 or not all(
            isinstance(v, (int, float, np.integer, np.floating))
            and not isinstance(v, (bool, np.bool_))
            and np.isfinite(v)
            for v in wanted
        ):
            fail("time", "sel()", "a finite number or a list of them", time)
        wanted = wanted.astype(np.float64)
        if len(self.time) == 1:
            return np.zeros(len(wanted), np.int64)
        right = np.clip(np.searchsorted(self.time, wanted), 1, len(self.time) - 1)
        left = right - 1
        return np.where(wanted - self.time[left] <= self.time[right] - wanted, left, right)

    # -- comparison -----------------------------------------------------------------
    def equals(self, other: Any) -> bool:
        """Whether ``other`` is a result with exactly the same numbers (dtype and shape
        included; NaN equals NaN), labels, method, model class, target and args.

        Parameters
        ----------
        other : Any

        Returns
        -------
        bool

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> a = sv.surv_grad(exp, instance=[0, 1])
        >>> a.equals(sv.surv_grad(exp, instance=[0, 1])), a == sv.surv_grad(exp, instance=[0, 1])
        (True, True)
        >>> a.equals(sv.surv_grad(exp, instance=[0, 1], times_input=True))
        False
        """
        if not isinstance(other, SurvResult) or len(self.values) != len(other.values):
            return False
        arrays = list(zip(self.values, other.values))
        arrays += [(getattr(self, f), getattr(other, f)) for f in PRED_FIELDS]
        arrays += [(self.time, other.time), (self.instance, other.instance)]
        for a, b in arrays:
            if a is None or b is None:
                if a is not b:
                    return False
                continue
            a, b = np.asarray(a), np.asarray(b)
            if not (
                a.dtype == b.dtype
                and a.shape == b.shape
                and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
            ):
                return False
        return all(
            getattr(self, name) == getattr(other, name)
            for name in (
                "feature_names",
                "input_names",
                "event_names",
                "method",
                "model_class",
                "target",
                "args",
                "feature_pairs",
            )
        )

    # defining __eq__ sets __hash__ to None: a result is mutable, so not hashable
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SurvResult):
            return NotImplemented
        return self.equals(other)

    # -- conversions ----------------------------------------------------------------
    def to_pandas(self, layout: str = "long"):
        """A pandas DataFrame with the columns of :meth:`to_arrow` (labels as categories).

        Parameters
        ----------
        layout : {"long", "wide"}
            ``"long"``: one row per (input, instance, feature, event, time) with columns
            ``instance, input, feature, feature_index, event, time, value`` and the
            prediction columns. ``"wide"``: one row per (instance, event, time), one
            column per feature (prefixed ``<input>:`` when there are several inputs)
            and the prediction columns.

        Returns
        -------
        pandas.DataFrame

        Raises
        ------
        SurvinngError
            For a layout other than ``"long"`` and ``"wide"``.

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> res = sv.surv_grad(exp, instance=[0, 1])
        >>> res.to_pandas().shape, list(res.to_pandas(layout="wide").columns[:5])
        ((8, 8), ['instance', 'event', 'time', 'age', 'bmi'])
        """
        return _arrow.build_table(self, layout, "to_pandas()").to_pandas()

    def to_arrow(self, layout: str = "long"):
        """A ``pyarrow.Table`` with the labels in its schema (see :mod:`survinng_py.exchange`).

        Parameters
        ----------
        layout : {"long", "wide"}
            As in :meth:`to_pandas`; the layouts are described in :mod:`survinng_py.exchange`.

        Returns
        -------
        pyarrow.Table
            With the labels, time grid and call arguments in the schema metadata: enough to
            rebuild this result exactly with :meth:`from_arrow`.

        Raises
        ------
        SurvinngError
            For a layout other than ``"long"`` and ``"wide"``.

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> res = sv.surv_grad(exp, instance=[0, 1])
        >>> table = res.to_arrow()
        >>> table.num_rows, sv.SurvResult.from_arrow(table).equals(res)
        (8, True)
        """
        return _arrow.to_arrow(self, layout)

    @classmethod
    def from_arrow(cls, table) -> SurvResult:
        """Rebuild a result from :meth:`to_arrow`'s table (long or wide layout)."""
        return cls(**_arrow.fields_from_table(table))

    def plot(self, type: str = "attr", **kwargs):
        """Plot with :mod:`survinng_py.plot` (``type``: ``"attr"``, ``"pred"``, ``"contr"``,
        ``"force"``, ``"image"``, ``"sequence"`` or ``"modality"``).

        Parameters
        ----------
        type : str
            ``"attr"``, ``"pred"``, ``"contr"``, ``"force"``, ``"image"``, ``"sequence"``,
            ``"modality"`` or ``"compare"``.
        **kwargs
            Passed to the plot function of that type (see :mod:`survinng_py.plot`).

        Returns
        -------
        matplotlib.figure.Figure
            The figure drawn (known to pyplot, so ``plt.savefig`` and ``plt.show`` work).

        Raises
        ------
        SurvinngError
            For an unknown type, or arguments the plot function refuses.

        Examples
        --------
        >>> import numpy as np, torch, survinng_py as sv
        >>> net = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
        >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 2)), model_type="deepsurv",
        ...                  baseline_hazard=([1.0, 2.0], [0.1, 0.2]), feature_names=["age", "bmi"])
        >>> fig = sv.surv_grad(exp, instance=[0, 1]).plot(type="attr")
        >>> fig.axes[0].get_ylabel()
        'Attribution survival: Grad(t)'
        """
        from . import plot as _plot

        return _plot.plot(self, type=type, **kwargs)

    def to_shap(self, time: float, event: str | None = None, *, data: Any = None):
        """The attributions at one time as a ``shap.Explanation``, for shap's plots.

        Parameters
        ----------
        time : float
            A time; the nearest time of the grid is taken (the earlier one on a tie).
        event : str, optional
            The event, required when the result has several.
        data : array-like, optional
            The explained rows, ``(instance, feature)`` with one column per feature of
            all inputs in order (e.g. ``x_test[res.instance]``): shown as feature values.

        Returns
        -------
        shap.Explanation
            ``values`` ``(instance, feature)`` at the time; ``base_values`` the reference
            prediction at that time (``pred_ref``: IntGrad(t), GradSHAP(t), SurvSHAP(t)),
            ``None`` for methods without one (shap's waterfall needs it; beeswarm and bar
            do not); ``data``; ``feature_names`` (``<input>:<feature>`` with several
            inputs).

        Raises
        ------
        SurvinngError
            Without shap installed, for a time that is not a finite number, an event the
            result does not have (or none with several events), or ``data`` of another
            shape.

        Examples
        --------
        With ``res`` a SurvSHAP(t) result of rows ``x`` (importing shap takes seconds):

        >>> import shap  # doctest: +SKIP
        >>> shown = res.to_shap(time=2.0, data=x[res.instance])  # doctest: +SKIP
        >>> shap.plots.waterfall(shown[0])  # doctest: +SKIP
        >>> shap.plots.beeswarm(shown)  # doctest: +SKIP
        """
        from ._validation import SurvinngError

        where = "to_shap()"
        try:
            import shap
        except ImportError as err:
            raise SurvinngError("to_shap() needs shap: pip install shap") from err
        if (
            isinstance(time, (bool, np.bool_))
            or not isinstance(time, (int, float, np.integer, np.floating))
            or not np.isfinite(time)
        ):
            fail("time", where, "a finite number", time)
        if event is None and len(self.event_names) > 1:
            fail("event", where, f"one of {self.event_names} (the result has several)", event)
        if event is not None and event not in self.event_names:
            fail("event", where, f"one of {self.event_names}", event)
        e = 0 if event is None else self.event_names.index(event)
        t = int(self._nearest_times(time)[0])
        names, values = self._flat_features()
        rows = None
        if data is not None:
            rows = np.asarray(data)
            if rows.shape != values.shape[:2]:
                fail(
                    "data",
                    where,
                    f"the explained rows, an array of shape {values.shape[:2]} (instance, feature)",
                    f"shape {rows.shape}",
                    as_text=True,
                )
        return shap.Explanation(
            values=values[:, :, e, t],
            base_values=None if self.pred_ref is None else self.pred_ref[:, e, t],
            data=rows,
            feature_names=names,
        )

    def _flat_features(self) -> tuple[list[str], np.ndarray]:
        """Every feature of every input, ``(instance, feature, event, time)``, with names
        prefixed by the input's where there are several inputs."""
        several = len(self.values) > 1
        names = [
            f"{input_name}:{name}" if several else name
            for input_name, features in zip(self.input_names, self.feature_names)
            for name in features
        ]
        n = len(self.instance)
        values = np.concatenate([v.reshape(n, -1, *v.shape[-2:]) for v in self.values], axis=1)
        return names, values

    def _repr_html_(self) -> str:
        """A compact summary for notebooks: labels, shapes and the top features (mean
        |attribution| over instances, events and times)."""
        from html import escape

        names, values = self._flat_features()
        importance = np.abs(values.astype(np.float64)).mean(axis=(0, 2, 3))
        top = np.argsort(-importance, kind="stable")[:5]
        shapes = ", ".join(
            f"{name} {tuple(shape)}" for name, shape in zip(self.input_names, self.feature_shapes)
        )
        rows = [
            ("method", f"{self.label} ({self.method})"),
            ("target", self.target),
            ("model", self.model_class),
            ("instances", str(len(self.instance))),
            ("inputs", shapes),
            ("events", ", ".join(self.event_names)),
            ("times", f"{len(self.time)} in [{self.time.min():.4g}, {self.time.max():.4g}]"),
            ("reference", "pred_ref, pred_diff" if self.pred_diff is not None else "none"),
        ]
        cells = "".join(
            f"<tr><th style='text-align:left'>{escape(k)}</th><td style='text-align:left'>"
            f"{escape(v)}</td></tr>"
            for k, v in rows
        )
        ranked = "".join(
            f"<tr><td style='text-align:left'>{escape(names[j])}</td><td>{importance[j]:.4g}"
            "</td></tr>"
            for j in top
        )
        return (
            f"<div><strong>SurvResult</strong><table>{cells}</table>"
            "<table><tr><th style='text-align:left'>top feature</th><th>mean |attribution|</th>"
            f"</tr>{ranked}</table></div>"
        )

    def __repr__(self) -> str:
        inputs = ", ".join(
            f"{name}{tuple(shape)}" for name, shape in zip(self.input_names, self.feature_shapes)
        )
        return (
            f"<SurvResult {self.label} of {self.target} | {self.model_class} | "
            f"{len(self.instance)} instance(s) | inputs: {inputs} | "
            f"events: {len(self.event_names)} | {len(self.time)} times in "
            f"[{self.time.min():.4g}, {self.time.max():.4g}]>"
        )


def _positions(selector: Any, length: int, arg: str, where: str) -> np.ndarray:
    """Positions along an axis of ``length`` from a position, list, slice or boolean mask."""
    if selector is None:
        return np.arange(length)
    if isinstance(selector, slice):
        return np.arange(length)[selector]
    index = np.asarray(selector)
    rule = (
        f"positions below {length} (or from the end), a slice or a boolean mask of length {length}"
    )
    if index.size == 0 and index.ndim == 1:
        return np.zeros(0, np.int64)
    index = np.atleast_1d(index) if index.dtype != bool else index
    if index.dtype == bool:
        if index.shape != (length,):
            fail(arg, where, rule, selector)
        return np.flatnonzero(index)
    if (
        index.ndim != 1
        or index.dtype.kind not in "iu"
        or (index < -length).any()
        or (index >= length).any()
    ):
        fail(arg, where, rule, selector)
    return np.arange(length)[index]


def _index(labels: Sequence[str]) -> dict:
    return {label: p for p, label in enumerate(labels)}


def _by_label(labels: Any, position: dict, arg: str, kind: type) -> list[int]:
    """Positions of ``labels`` (one or a list of ``kind``) by ``position``; an unknown one
    is an error."""
    wanted = list(labels) if isinstance(labels, (list, tuple, np.ndarray)) else [labels]
    wanted = [w.item() if isinstance(w, np.generic) else w for w in wanted]
    if all(isinstance(w, kind) and not isinstance(w, bool) and w in position for w in wanted):
        return [position[w] for w in wanted]
    shown = ", ".join(map(repr, list(position)[:5])) + (", ..." if len(position) > 5 else "")
    fail(arg, "sel()", f"labels of this result ({shown})", labels)
