"""Matplotlib plots of a :class:`~survinng_py.SurvResult`, after survinng's ``plot()``.

Figures are built as :class:`matplotlib.figure.Figure` objects without pyplot, so no
GUI backend or global figure state is touched; save them with ``fig.savefig(...)``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_choice, fail
from .result import SurvResult

_COMPONENTS = {  # add_comp curve -> (SurvResult field, legend label, line style)
    "pred": ("pred", "Prediction", "-"),
    "pred_ref": ("pred_ref", "Reference prediction", ":"),
    "pred_diff": ("pred_diff", "Prediction - reference", "--"),
}


def plot(result: SurvResult, type: str = "attr", **kwargs: Any):
    """Plot attributions (``type="attr"``) or predictions (``type="pred"``).

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    type : {"attr", "pred"}
        :func:`plot_attr` or :func:`plot_pred`.
    **kwargs
        Passed on to the chosen function.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> fig = sv.surv_grad(exp, instance=[0, 1]).plot(type="attr")
    >>> [ax.get_title() for ax in fig.axes]
    ['Instance ID: 0', 'Instance ID: 1']
    >>> sv.surv_grad(exp, instance=[0, 1]).plot(type="bar")
    Traceback (most recent call last):
    ...
    survinng_py._validation.SurvinngError: `type` of plot() must be one of 'attr', 'pred'; got 'bar'
    """
    check_choice(type, ("attr", "pred"), "type", "plot()")
    return (plot_attr if type == "attr" else plot_pred)(result, **kwargs)


def plot_attr(result: SurvResult, normalize: str = "none", add_comp: str | None = None,
              input: int | str = 0, ax: Any = None):
    """Attribution over time per feature, one panel per instance (and event).

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    normalize : {"none", "abs", "rel"}
        Per instance, event and time, across features: ``"abs"`` plots
        ``|v| / sum(|v|)`` (share of the total absolute attribution), ``"rel"`` plots
        ``v / sum(v)``. Where the denominator is 0 the value is NaN (a gap in the line).
    add_comp : {None, "pred", "pred_ref", "pred_diff", "all"}
        Also draw the prediction, the reference prediction and/or their difference (with
        its interquartile band where available) as grey curves. Only for results with a
        reference (IntGrad(t), GradSHAP(t)) and ``normalize="none"``.
    input : int or str
        Which network input to plot (index or name); it must have one feature axis.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per (instance, event) panel in instance-major order,
        instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_attr
    >>> fig = plot_attr(sv.surv_grad(exp, instance=[4]), normalize="abs")
    >>> fig.axes[0].get_ylabel()
    'Attribution survival: Grad(t) (normalized: abs)'
    """
    where = "plot_attr()"
    _check_result(result, where)
    check_choice(normalize, ("none", "abs", "rel"), "normalize", where)
    if add_comp is not None:
        check_choice(add_comp, ("pred", "pred_ref", "pred_diff", "all"), "add_comp", where)
        if result.pred_diff is None:
            fail("add_comp", where, f"None for {result.label} (only results with a reference "
                 "prediction, IntGrad(t) and GradSHAP(t), have these curves)", add_comp)
        if normalize != "none":
            fail("add_comp", where, "None when `normalize` is not 'none' (the curves are "
                 "on the prediction scale)", add_comp)
    k = _input_index(result, input, where)
    values = result.values[k]
    if values.ndim != 4:
        fail("input", where, "an input with a single feature axis (image-like inputs "
             "cannot be plotted)", f"per-row shape {values.shape[1:-2]}", as_text=True)
    if normalize != "none":
        # NaN where the features' attributions sum to 0: no share is defined there
        parts = np.abs(values) if normalize == "abs" else values
        with np.errstate(divide="ignore", invalid="ignore"):
            values = parts / parts.sum(axis=1, keepdims=True)

    panels = [(i, e) for i in range(len(result.instance)) for e in range(len(result.event_names))]
    fig, axes = _panel_axes(ax, len(panels), where)
    components = ["pred", "pred_ref", "pred_diff"] if add_comp == "all" else \
        [add_comp] if add_comp else []
    # dense grids (Cox models: one point per event time) would turn markers into a band
    markevery = max(1, len(result.time) // 60)
    ylabel = f"Attribution {result.target}: {result.label}"
    if normalize != "none":
        ylabel += f" (normalized: {normalize})"
    for axis, (i, e) in zip(axes, panels):
        if result.pred_diff_q1 is not None and "pred_diff" in components:
            axis.fill_between(result.time, result.pred_diff_q1[i, e], result.pred_diff_q3[i, e],
                              color="grey", alpha=0.25, linewidth=0)
        for name in components:
            field, label, style = _COMPONENTS[name]
            axis.plot(result.time, getattr(result, field)[i, e], color="dimgrey",
                      linestyle=style, linewidth=1.6, label=label)
        for j, feature in enumerate(result.feature_names[k]):
            axis.plot(result.time, values[i, j, e], marker="o", markersize=2.5,
                      markevery=markevery, linewidth=1.2, label=feature, color=f"C{j % 10}")
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set_title(_panel_title(result, i, e))
        axis.set_xlabel("Time")
        axis.set_ylabel(ylabel)
    _finish(fig, axes, ax, "Feature")
    return fig


def plot_pred(result: SurvResult, ax: Any = None):
    """The explained prediction over time, one line per instance (and event).

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods (its ``pred`` is plotted).
    ax : matplotlib Axes, optional
        Draw into this instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_pred
    >>> fig = plot_pred(sv.surv_grad(exp, instance=[0, 1, 2]))
    >>> len(fig.axes[0].get_lines()), fig.axes[0].get_ylabel()
    (3, 'Predicted survival')
    """
    where = "plot_pred()"
    _check_result(result, where)
    fig, (axis,) = _panel_axes(ax, 1, where, figsize=(6.4, 4.2))
    several_events = len(result.event_names) > 1
    for i, instance in enumerate(result.instance):
        for e, event in enumerate(result.event_names):
            label = f"{instance}, {event}" if several_events else str(instance)
            axis.plot(result.time, result.pred[i, e], linewidth=1.4, label=label)
    axis.set_xlabel("Time")
    axis.set_ylabel(f"Predicted {result.target}")
    _finish(fig, [axis], ax, "Instance ID, event" if several_events else "Instance ID",
            loc="outside right upper")
    return fig


def _check_result(result: Any, where: str) -> None:
    if not isinstance(result, SurvResult):
        fail("result", where, "a SurvResult from an attribution method", type(result).__name__)


def _input_index(result: SurvResult, input: Any, where: str) -> int:
    if isinstance(input, str) and input in result.input_names:
        return result.input_names.index(input)
    if isinstance(input, (int, np.integer)) and not isinstance(input, bool) \
            and 0 <= input < len(result.values):
        return int(input)
    fail("input", where, f"an input index below {len(result.values)} or one of "
         f"{result.input_names}", input)


def _panel_title(result: SurvResult, i: int, e: int) -> str:
    title = f"Instance ID: {result.instance[i]}"
    return title + f" | Event: {result.event_names[e]}" if len(result.event_names) > 1 else title


def _panel_axes(ax: Any, n_panels: int, where: str, figsize: tuple | None = None):
    """The given axes (checked against the panel count) or a new figure's grid."""
    if ax is not None:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != n_panels or not all(hasattr(a, "plot") for a in axes):
            fail("ax", where, f"{n_panels} matplotlib Axes (one per instance and event)",
                 f"{len(axes)} object(s)", as_text=True)
        return axes[0].figure, axes
    from matplotlib.figure import Figure

    ncols = min(n_panels, 3)
    nrows = -(-n_panels // ncols)
    fig = Figure(figsize=figsize or (4.2 * ncols, 3.4 * nrows + 0.6), layout="constrained")
    grid = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for spare in grid[n_panels:]:
        spare.remove()
    return fig, list(grid[:n_panels])


def _finish(fig, axes: list, ax_given: Any, legend_title: str,
            loc: str = "outside lower center") -> None:
    """One legend (at ``loc`` of a new figure, else in the last given axes); outer labels only."""
    handles, labels = axes[-1].get_legend_handles_labels()
    if ax_given is not None:
        axes[-1].legend(handles, labels, title=legend_title, fontsize="small")
        return
    for idx, axis in enumerate(axes):
        ncols = axis.get_subplotspec().get_gridspec().ncols
        if idx + ncols < len(axes):
            axis.set_xlabel("")
        else:  # shared x hid these tick labels, but no panel is below (spare cells removed)
            axis.xaxis.set_tick_params(labelbottom=True)
        if idx % ncols:
            axis.set_ylabel("")
    below = loc.endswith("center")
    fig.legend(handles, labels, title=legend_title, loc=loc,
               ncols=min(len(labels), 6) if below else 1, fontsize="small")
