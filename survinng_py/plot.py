"""Matplotlib plots of a :class:`~survinng_py.SurvResult`, after survinng's ``plot()``,
plus image, sequence and modality-share plots for multimodal networks.

Every function returns a :class:`matplotlib.figure.Figure` made by pyplot (it becomes
the current figure), so ``fig.savefig(...)``, ``plt.savefig(...)``, ``plt.show()`` and
notebooks work as with any matplotlib plot; close figures you no longer need with
``plt.close(fig)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._shares import modality_shares, modality_totals
from ._validation import ResultLike, check_choice, check_flag, check_int, fail, is_result

_COMPONENTS = {  # add_comp curve -> (SurvResult field, legend label, line style)
    "pred": ("pred", "Prediction", "-"),
    "pred_ref": ("pred_ref", "Reference prediction", ":"),
    "pred_diff": ("pred_diff", "Prediction - reference", "--"),
}


def plot(result: ResultLike, type: str = "attr", **kwargs: Any):
    """Plot attributions, predictions, percentage contributions or a force plot.

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    type : {"attr", "pred", "contr", "force", "image", "sequence", "modality", "compare"}
        :func:`plot_attr`, :func:`plot_pred`, :func:`plot_contr`, :func:`plot_force`,
        :func:`plot_image`, :func:`plot_sequence`, :func:`plot_modality` or
        :func:`plot_compare` (``result`` against the results in ``others=[...]``).
    **kwargs
        Passed on to the chosen function.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, or an unknown ``type``; the plot function of that
        type checks its own arguments.

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
    survinng_py._validation.SurvinngError: `type` of plot() must be one of 'attr', 'pred', 'contr', 'force', 'image', 'sequence', 'modality', 'compare'; got 'bar'
    """
    functions: dict[str, Callable[..., Any]] = {
        "attr": plot_attr,
        "pred": plot_pred,
        "contr": plot_contr,
        "force": plot_force,
        "image": plot_image,
        "sequence": plot_sequence,
        "modality": plot_modality,
        "compare": lambda first, others=(), **rest: plot_compare(first, *others, **rest),
    }
    check_choice(type, tuple(functions), "type", "plot()")
    return functions[type](result, **kwargs)


def plot_attr(
    result: ResultLike,
    normalize: str = "none",
    add_comp: str | None = None,
    input: int | str = 0,
    ax: Any = None,
):
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

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, an unknown ``normalize`` or ``add_comp``, an
        ``input`` that is not a tabular input of the result, or an ``ax`` that does not hold one axes per panel.

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
            fail(
                "add_comp",
                where,
                f"None for {result.label} (only results with a reference "
                "prediction, IntGrad(t) and GradSHAP(t), have these curves)",
                add_comp,
            )
        if normalize != "none":
            fail(
                "add_comp",
                where,
                "None when `normalize` is not 'none' (the curves are on the prediction scale)",
                add_comp,
            )
    k, values = _tabular_values(result, input, where)
    if normalize != "none":
        # NaN where the features' attributions sum to 0: no share is defined there
        parts = np.abs(values) if normalize == "abs" else values
        with np.errstate(divide="ignore", invalid="ignore"):
            values = parts / parts.sum(axis=1, keepdims=True)

    panels = [(i, e) for i in range(len(result.instance)) for e in range(len(result.event_names))]
    fig, axes = _panel_axes(ax, len(panels), where)
    components = (
        ["pred", "pred_ref", "pred_diff"] if add_comp == "all" else [add_comp] if add_comp else []
    )
    # dense grids (Cox models: one point per event time) would turn markers into a band
    markevery = max(1, len(result.time) // 60)
    ylabel = f"Attribution {result.target}: {result.label}"
    if normalize != "none":
        ylabel += f" (normalized: {normalize})"
    for axis, (i, e) in zip(axes, panels):
        if (
            result.pred_diff_q1 is not None
            and result.pred_diff_q3 is not None
            and "pred_diff" in components
        ):
            axis.fill_between(
                result.time,
                result.pred_diff_q1[i, e],
                result.pred_diff_q3[i, e],
                color="grey",
                alpha=0.25,
                linewidth=0,
            )
        for name in components:
            field, label, style = _COMPONENTS[name]
            axis.plot(
                result.time,
                getattr(result, field)[i, e],
                color="dimgrey",
                linestyle=style,
                linewidth=1.6,
                label=label,
            )
        for j, feature in enumerate(result.feature_names[k]):
            axis.plot(
                result.time,
                values[i, j, e],
                marker="o",
                markersize=2.5,
                markevery=markevery,
                linewidth=1.2,
                label=feature,
                color=f"C{j % 10}",
            )
        axis.axhline(0, color="black", linewidth=0.8)
        axis.set_title(_panel_title(result, i, e))
        axis.set_xlabel("Time")
        axis.set_ylabel(ylabel)
    _finish(fig, axes, ax, "Feature")
    return fig


def plot_pred(result: ResultLike, ax: Any = None):
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

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, or an ``ax`` that does not hold one axes per panel.

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
    _finish(
        fig,
        [axis],
        ax,
        "Instance ID, event" if several_events else "Instance ID",
        loc="outside right upper",
    )
    return fig


def plot_contr(result: ResultLike, aggregate: bool = False, input: int | str = 0, ax: Any = None):
    """Percentage contribution of each feature to the total absolute attribution over time.

    Per instance, event and time, feature ``f`` gets ``100 * |v_f| / sum_g |v_g|``; the
    shares are drawn as stacked areas (the first feature on top) with, right of the last
    time point, a stacked bar of each feature's mean share over time. Where nothing is
    attributed at all (e.g. at ``t = 0``, where every survival curve is 1) each feature gets
    an equal share, as survinng's fill value of ``1e-12`` gives.

    Parameters
    ----------
    result : SurvResult
        An IntGrad(t) or GradSHAP(t) result (one with ``pred_diff``), whose attributions
        decompose ``pred - pred_ref``.
    aggregate : bool
        Average ``|v|`` over the instances first and draw one "Global" panel (per event).
    input : int or str
        Which network input to plot (index or name); it must have one feature axis.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per panel (instance-major, then event), instead of a new
        figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package with a reference prediction (IntGrad(t),
        GradSHAP(t), SurvSHAP(t)), a non-boolean ``aggregate``, an ``input`` that is not a
        tabular input, or an ``ax`` that does not hold one axes per panel.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_contr
    >>> res = sv.surv_intgrad(exp, instance=[0, 1])
    >>> [a.get_title() for a in plot_contr(res).axes]
    ['Instance ID: 0', 'Instance ID: 1']
    >>> plot_contr(res, aggregate=True).axes[0].get_title()
    'Global'
    >>> plot_contr(sv.surv_grad(exp, instance=[0]))
    Traceback (most recent call last):
    ...
    survinng_py._validation.SurvinngError: `result` of plot_contr() must be a result with a reference prediction (IntGrad(t) or GradSHAP(t)); got 'Grad(t)'
    """
    where = "plot_contr()"
    _check_result(result, where)
    if result.pred_diff is None:
        fail(
            "result",
            where,
            "a result with a reference prediction (IntGrad(t) or GradSHAP(t))",
            result.label,
        )
    check_flag(aggregate, "aggregate", where)
    k, values = _tabular_values(result, input, where)
    parts = np.abs(values.astype(np.float64))
    if aggregate:
        parts = parts.mean(axis=0, keepdims=True)
    total = parts.sum(axis=1, keepdims=True)
    n_features = parts.shape[1]
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(total > 0, 100 * parts / total, 100 / n_features)

    panels = [(i, e) for i in range(shares.shape[0]) for e in range(len(result.event_names))]
    fig, axes = _panel_axes(ax, len(panels), where)
    for axis, (i, e) in zip(axes, panels):
        _draw_shares(axis, result.time, shares[i, :, e], result.feature_names[k])
        axis.set_title(_panel_title(result, i, e, aggregate))
        axis.set_ylabel(f"% Contribution {result.target}: {result.label}")
    _finish(fig, axes, ax, "Feature")
    return fig


def _draw_shares(axis, time: np.ndarray, share: np.ndarray, names: list[str]) -> None:
    """Stacked percentage bands ``share`` (name, time), the first name on top, and right
    of the last time a stacked bar of each name's mean share over time."""
    width = 0.1 * (np.ptp(time) or 1.0)  # the summary bar: 10% of the time range wide
    bar_x = time.max() + 0.75 * width
    # band j spans [sum of the shares after j, sum from j on]: the first name on top
    upper = np.cumsum(share[::-1], axis=0)[::-1]
    lower = np.vstack([upper[1:], np.zeros((1, len(time)))])
    mean = np.round(share.mean(axis=1), 2)
    bar_top = np.cumsum(mean[::-1])[::-1]
    for j, name in enumerate(names):
        color = f"C{j % 10}"
        axis.fill_between(time, lower[j], upper[j], color=color, alpha=0.4, linewidth=0, label=name)
        axis.plot(time, upper[j], color="black", linewidth=0.6)
        axis.bar(
            bar_x,
            mean[j],
            width=width,
            bottom=bar_top[j] - mean[j],
            color=color,
            alpha=0.6,
            edgecolor="black",
            linewidth=0.5,
        )
        if mean[j] >= 3:  # smaller segments cannot hold their label
            axis.text(
                bar_x,
                bar_top[j] - mean[j] / 2,
                f"{mean[j]:.1f}%",
                ha="center",
                va="center",
                fontsize=7,
            )
    axis.axvline(time.max(), color="black", linewidth=0.8)
    axis.set_xlim(time.min(), time.max() + 1.25 * width)
    axis.set_ylim(0, 100)
    axis.set_xlabel("Time")


def plot_force(result: ResultLike, num_bars: int = 10, input: int | str = 0, ax: Any = None):
    """Stacked feature attributions at a few time points and their sum over all times.

    The sum of the attributions over the features is drawn as a black line over the whole
    time grid; at ``num_bars`` grid points (the ones nearest to equally spaced target
    times) each feature's attribution is a bar segment, positive parts stacked upwards
    from 0 and negative parts downwards, labelled with the value rounded to 2 decimals
    where that is not 0 and the segment is at least 5% of the panel's value range.
    Meaningful for IntGrad(t) and GradSHAP(t), whose bars add up to about
    ``pred - pred_ref``.

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    num_bars : int
        Number of target times for the bars (a coarse grid can map two targets to the same
        grid point; it is drawn once).
    input : int or str
        Which network input to plot (index or name); it must have one feature axis.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per (instance, event) panel in instance-major order,
        instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, a ``num_bars`` below 1, an ``input`` that
        is not a tabular input, or an ``ax`` that does not hold one axes per panel.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_force
    >>> fig = plot_force(sv.surv_gradshap(exp, instance=[3], seed=1), num_bars=4)
    >>> len(fig.axes[0].patches), fig.axes[0].get_ylabel()
    (12, 'Contribution survival: GradSHAP(t)')
    """
    from matplotlib.colors import to_rgba

    where = "plot_force()"
    _check_result(result, where)
    num_bars = check_int(num_bars, "num_bars", where)
    k, values = _tabular_values(result, input, where)
    time = result.time
    picks = _nearest(time, np.linspace(time.min(), time.max(), num_bars))
    bar_time = time[picks]
    gap = np.diff(bar_time).min() if len(bar_time) > 1 else (np.ptp(time) or 1.0) / num_bars
    width = 0.8 * gap

    panels = [(i, e) for i in range(len(result.instance)) for e in range(len(result.event_names))]
    fig, axes = _panel_axes(ax, len(panels), where)
    for axis, (i, e) in zip(axes, panels):
        bars = values[i, :, e][:, picks].astype(np.float64)
        span = np.ptp(bars)
        up, down = np.zeros(len(picks)), np.zeros(len(picks))
        for j, feature in enumerate(result.feature_names[k]):
            color, value = f"C{j % 10}", bars[j]
            bottom = np.where(value >= 0, up, down)
            axis.bar(
                bar_time,
                value,
                width=width,
                bottom=bottom,
                facecolor=to_rgba(color, 0.4),
                edgecolor=color,
                linewidth=1,
                label=feature,
            )
            shown = (np.round(value, 2) != 0) & (np.abs(value) >= 0.05 * span)
            for b in np.flatnonzero(shown):
                axis.text(
                    bar_time[b],
                    bottom[b] + value[b] / 2,
                    f"{value[b]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    bbox={
                        "boxstyle": "round,pad=0.15",
                        "facecolor": to_rgba(color, 0.25),
                        "edgecolor": "black",
                        "linewidth": 0.3,
                    },
                )
            up, down = up + np.clip(value, 0, None), down + np.clip(value, None, 0)
        axis.plot(
            time,
            values[i, :, e].sum(axis=0),
            color="black",
            linewidth=1.25,
            label="Sum over features",
            zorder=3,
        )
        axis.axhline(0, color="black", linewidth=0.6)
        axis.set_title(_panel_title(result, i, e))
        axis.set_xlabel("Time")
        axis.set_ylabel(f"Contribution {result.target}: {result.label}")
    _finish(fig, axes, ax, "Feature")
    return fig


def plot_image(
    result: ResultLike,
    input: int | str = 0,
    instance: int = 0,
    times: Any = None,
    event: int | str = 0,
    image: Any = None,
    overlay: bool = True,
    ax: Any = None,
):
    """Attribution heatmaps of an image input at a few time points.

    One panel per time point, all on one colour scale centred at 0 (red: the pixel raises
    the target, blue: it lowers it), so panels are comparable. Channels are summed. With
    ``overlay=True`` the heatmap is drawn over ``image`` (grey levels from white to black,
    or RGB for 3 channels), opaque where the attribution is large and transparent where
    it is near 0.

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    input : int or str
        The image input (index or name): per-row shape ``(H, W)`` or ``(C, H, W)``.
    instance : int
        Position of the instance in ``result`` (0-based, as in ``result.isel``).
    times : sequence of float, optional
        Times to show; each is drawn at the nearest grid point. Default: the grid points
        nearest to 1/4, 1/2 and 3/4 of the time range.
    event : int or str
        Position or name of the event.
    image : array or tensor, optional
        The explained image (per-row shape of the input); required with ``overlay=True``,
        since a result does not keep its inputs.
    overlay : bool
        Draw the heatmap over ``image``.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per time point, instead of a new figure (a colour bar is
        added beside them).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, an ``input`` that is not an image input,
        an ``instance`` or ``event`` out of range, ``times`` that are not finite, an
        ``image`` that does not match the input's shape, or an ``ax`` that does not hold one axes per panel.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.Tanh(),
    ...                           torch.nn.Flatten(), torch.nn.Linear(8, 5))
    >>> images = np.random.default_rng(0).uniform(size=(10, 1, 4, 4))
    >>> exp = sv.explain(net, images, model_type="deephit", time_bins=np.arange(5.0))
    >>> from survinng_py.plot import plot_image
    >>> fig = plot_image(sv.surv_grad(exp, instance=[3]), times=[1, 3], image=images[3])
    >>> [a.get_title() for a in fig.axes[:2]]
    ['t = 1', 't = 3']
    >>> plot_image(sv.surv_grad(exp, instance=[3]))
    Traceback (most recent call last):
    ...
    survinng_py._validation.SurvinngError: `image` of plot_image() must be the explained image, per-row shape (1, 4, 4), when overlay=True (a result does not keep its inputs); got None
    """
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    where = "plot_image()"
    _check_result(result, where)
    k = _input_index(result, input, where)
    values = result.values[k]
    shape = values.shape[1:-2]
    if len(shape) not in (2, 3):
        fail(
            "input",
            where,
            "an image input of per-row shape (H, W) or (C, H, W)",
            f"per-row shape {shape}",
            as_text=True,
        )
    i = _position(instance, len(result.instance), "instance", where)
    e = _event_position(result, event, where)
    overlay = check_flag(overlay, "overlay", where)
    if overlay:
        image = _image_array(image, shape, where)
    picks = _nearest(result.time, _check_times(result.time, times, where))
    maps = values[i, ..., e, :].astype(np.float64)
    maps = maps.reshape(-1, *shape[-2:], maps.shape[-1]).sum(axis=0)[..., picks]  # (H, W, times)
    limit = np.abs(maps).max() or 1.0  # one scale for all panels
    norm, cmap = Normalize(-limit, limit), colormaps["RdBu_r"]

    fig, axes = _panel_axes(
        ax,
        len(picks),
        where,
        figsize=(3.0 * min(len(picks), 3) + 1.2, 3.2 * -(-len(picks) // 3) + 0.6),
        unit="time point",
    )
    for axis, t, heat in zip(axes, result.time[picks], np.moveaxis(maps, -1, 0)):
        if overlay:
            # ink dark on white: the diverging colours stay readable over it
            axis.imshow(image, cmap="gray_r" if image.ndim == 2 else None)
            rgba = cmap(norm(heat))
            rgba[..., 3] = 0.85 * np.abs(heat) / limit  # transparent where nothing is attributed
            axis.imshow(rgba)
        else:
            axis.imshow(heat, cmap=cmap, norm=norm)
        axis.set_title(f"t = {t:.4g}")
        axis.set_xticks([])
        axis.set_yticks([])
    label = f"Attribution {result.target}: {result.label}"
    fig.colorbar(
        ScalarMappable(norm, cmap),
        ax=axes,
        shrink=0.85,
        label=label + (" (summed over channels)" if len(shape) == 3 and shape[0] > 1 else ""),
    )
    if ax is None:
        fig.suptitle(
            f"{_title(result.instance[i], result.event_names[e], len(result.event_names))}"
            f" | {result.input_names[k]}"
        )
    return fig


def plot_sequence(
    result: ResultLike,
    input: int | str = 0,
    instance: int = 0,
    event: int | str = 0,
    ax: Any = None,
):
    """Attributions of a sequence input as a (step x time) heatmap, channels summed.

    The first feature axis of the input is the sequence step; any further axes
    (channels) are summed. Red cells raise the target, blue cells lower it, on a colour
    scale centred at 0.

    Parameters
    ----------
    result : SurvResult
        From one of the attribution methods.
    input : int or str
        The sequence input (index or name), per-row shape ``(L,)`` or ``(L, channels...)``.
    instance : int
        Position of the instance in ``result`` (0-based, as in ``result.isel``).
    event : int or str
        Position or name of the event.
    ax : matplotlib Axes, optional
        Draw into this instead of a new figure (a colour bar is added beside it).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that is not an attribution result
        of this package, an ``input`` that is not a sequence
        input, an ``instance`` or ``event`` out of range, or an ``ax`` that does not hold one axes per panel.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.gru, self.out = torch.nn.GRU(2, 4, batch_first=True), torch.nn.Linear(4, 6)
    ...     def forward(self, seq):
    ...         return self.out(self.gru(seq)[0][:, -1])
    >>> seq = np.random.default_rng(0).normal(size=(10, 5, 2))
    >>> exp = sv.explain(Net(), seq, model_type="deephit", time_bins=np.arange(6.0))
    >>> from survinng_py.plot import plot_sequence
    >>> fig = plot_sequence(sv.surv_grad(exp, instance=[0, 1]), instance=1)
    >>> fig.axes[0].get_title(), fig.axes[0].get_ylabel()
    ('Instance ID: 1', 'Step of input_1 (channels summed)')
    """
    from matplotlib.colors import Normalize

    where = "plot_sequence()"
    _check_result(result, where)
    k = _input_index(result, input, where)
    values = result.values[k]
    if values.ndim < 4:
        fail(
            "input",
            where,
            "an input with at least one feature axis (the step)",
            f"per-row shape {values.shape[1:-2]}",
            as_text=True,
        )
    i = _position(instance, len(result.instance), "instance", where)
    e = _event_position(result, event, where)
    steps = values.shape[1]
    cells = values[i, ..., e, :].astype(np.float64).reshape(steps, -1, len(result.time)).sum(1)
    limit = np.abs(cells).max() or 1.0

    fig, (axis,) = _panel_axes(ax, 1, where, figsize=(6.4, 4.2), unit="panel")
    mesh = axis.pcolormesh(
        result.time,
        np.arange(1, steps + 1),
        cells,
        shading="nearest",
        cmap="RdBu_r",
        norm=Normalize(-limit, limit),
    )
    axis.set_title(_title(result.instance[i], result.event_names[e], len(result.event_names)))
    axis.set_xlabel("Time")
    axis.set_ylabel(
        f"Step of {result.input_names[k]}" + (" (channels summed)" if values.ndim > 4 else "")
    )
    fig.colorbar(mesh, ax=axis, label=f"Attribution {result.target}: {result.label}")
    return fig


def plot_modality(result: Any, cohort: bool = False, ax: Any = None):
    """Percentage share of each modality (network input) in the absolute contributions
    over time, as stacked areas with a bar of the mean share over time.

    Parameters
    ----------
    result : SurvResult or pandas.DataFrame
        A result of :func:`~survinng_py.modality_shapley` or
        :func:`~survinng_py.modality_totals`, a gradient result with several inputs
        (summed per input first, as ``modality_totals`` does), or a table of
        :func:`~survinng_py.modality_shares`. Shares are those of ``modality_shares``;
        times where nothing is attributed (e.g. ``t = 0``, where every survival is 1)
        are left out.
    cohort : bool
        Average the absolute contributions over the instances first and draw one "Global"
        panel per event (the cohort summary); only for a SurvResult.
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per (instance, event) panel, instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        One line naming the argument: for a ``result`` that holds no modality values (use
        :func:`~survinng_py.modality_shapley` or :func:`~survinng_py.modality_totals`), or an
        ``ax`` that does not hold one axes per panel.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> class Net(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.a, self.b = torch.nn.Linear(3, 4), torch.nn.Linear(2, 4)
    ...     def forward(self, u, v):
    ...         return torch.tanh(self.a(u)) * torch.tanh(self.b(v))
    >>> rng = np.random.default_rng(0)
    >>> exp = sv.explain(Net(), [rng.normal(size=(20, 3)), rng.normal(size=(20, 2))],
    ...                  model_type="deephit", time_bins=np.arange(4.0),
    ...                  input_names=["image", "table"])
    >>> from survinng_py.plot import plot_modality
    >>> fig = plot_modality(sv.modality_shapley(exp, instance=[0, 1, 2]), cohort=True)
    >>> fig.axes[0].get_title(), [t.get_text() for t in fig.legends[0].get_texts()]
    ('Global', ['image', 'table'])
    """
    import pandas as pd

    where = "plot_modality()"
    cohort = check_flag(cohort, "cohort", where)
    if is_result(result):
        if not _is_modality_result(result):
            if len(result.values) < 2:
                fail(
                    "result",
                    where,
                    "a result of modality_shapley() or modality_totals(), "
                    "or of a method on a network with several inputs",
                    result.label,
                )
            result = modality_totals(result)
        frame = modality_shares(result, cohort=cohort)
        ylabel = f"% of |contribution| {result.target}: {result.label}"
    elif isinstance(result, pd.DataFrame) and {"modality", "event", "time", "share"} <= set(
        result.columns
    ):
        if cohort and "instance" in result.columns:
            fail(
                "cohort",
                where,
                "False for a table of shares (pass the SurvResult to average over the cohort)",
                cohort,
            )
        frame, ylabel = result, "% of |contribution|"
    else:
        fail(
            "result",
            where,
            "a SurvResult of modality_shapley()/modality_totals() or a table of modality_shares()",
            type(result).__name__,
        )
    names = list(pd.unique(frame["modality"]))
    events = list(pd.unique(frame["event"]))
    ids = list(pd.unique(frame["instance"])) if "instance" in frame.columns else [None]
    time = np.sort(pd.unique(frame["time"])).astype(np.float64)

    fig, axes = _panel_axes(ax, len(ids) * len(events), where)
    panels = [(instance, event) for instance in ids for event in events]
    for axis, (instance, event) in zip(axes, panels):
        rows = (
            frame[frame["event"] == event]
            if instance is None
            else frame[(frame["event"] == event) & (frame["instance"] == instance)]
        )
        share = (
            rows.pivot_table(index="modality", columns="time", values="share", sort=False)
            .reindex(index=names, columns=time)
            .to_numpy(np.float64)
        )
        defined = share.sum(axis=0) > 0  # no share where nothing is attributed (S = 1 at t = 0)
        _draw_shares(axis, time[defined], share[:, defined], names)
        axis.set_title(_title(instance, event, len(events)))
        axis.set_ylabel(ylabel)
    _finish(fig, axes, ax, "Modality")
    return fig


def plot_compare(*results: Any, names: list[str] | None = None, ax: Any = None):
    """The global feature rankings of several methods side by side, as grouped bars.

    A feature's importance is its mean absolute value over instances, events and time
    points (the global ranking of :func:`survinng_py.compare`), divided by the largest
    importance of the same result so that methods on different scales can be compared.
    Features are ordered by the first result's importance, the most important on top.

    Parameters
    ----------
    *results : SurvResult
        At least two results for the same instances, features, target, events and time
        grid.
    names : list of str, optional
        One name per result (default: their labels, numbered where labels repeat).
    ax : matplotlib Axes, optional
        Draw into this instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        Fewer than two results, or results that do not describe the same explanations.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(30, 3)),
    ...                  model_type="deepsurv", baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> from survinng_py.plot import plot_compare
    >>> fig = plot_compare(sv.surv_shap(exp, instance=range(5), seed=0),
    ...                    sv.surv_grad(exp, instance=range(5)))
    >>> len(fig.axes[0].patches), fig.axes[0].get_xlabel()
    (6, 'Mean |attribution| / largest')
    """
    from .metrics import _comparable, _flat_names, _flat_values

    where = "plot_compare()"
    labels = _comparable(results, names, where)
    importance = [np.abs(_flat_values(r)).mean(axis=(0, 2, 3)) for r in results]
    scaled = [imp / imp.max() if imp.max() > 0 else imp for imp in importance]
    order = np.argsort(-scaled[0], kind="stable")
    features = np.asarray(_flat_names(results[0]))[order]
    fig, (axis,) = _panel_axes(
        ax, 1, where, figsize=(6.4, 1.2 + 0.35 * len(order) * len(results) ** 0.5)
    )
    height = 0.8 / len(results)
    rows = np.arange(len(order))
    for k, (label, values) in enumerate(zip(labels, scaled)):
        axis.barh(rows + (k - (len(results) - 1) / 2) * height, values[order], height, label=label)
    axis.set_yticks(rows, features)
    axis.invert_yaxis()
    axis.set_xlabel("Mean |attribution| / largest")
    axis.legend(title="Method", fontsize="small")
    return fig


def _check_result(result: Any, where: str) -> None:
    if not is_result(result):
        fail("result", where, "a SurvResult from an attribution method", type(result).__name__)


def _input_index(result: ResultLike, input: Any, where: str) -> int:
    if isinstance(input, str) and input in result.input_names:
        return result.input_names.index(input)
    if (
        isinstance(input, (int, np.integer))
        and not isinstance(input, bool)
        and 0 <= input < len(result.values)
    ):
        return int(input)
    fail(
        "input",
        where,
        f"an input index below {len(result.values)} or one of {result.input_names}",
        input,
    )


def _tabular_values(result: ResultLike, input: Any, where: str) -> tuple[int, np.ndarray]:
    """The index and the ``(instance, feature, event, time)`` values of a tabular input."""
    k = _input_index(result, input, where)
    values = result.values[k]
    if values.ndim != 4:
        fail(
            "input",
            where,
            "an input with a single feature axis (plot_image and plot_sequence draw the others)",
            f"per-row shape {values.shape[1:-2]}",
            as_text=True,
        )
    return k, values


def _panel_title(result: ResultLike, i: int, e: int, aggregate: bool = False) -> str:
    return _title(
        None if aggregate else result.instance[i], result.event_names[e], len(result.event_names)
    )


def _title(instance: Any, event: str, n_events: int) -> str:
    """``Instance ID: <id>`` (``Global`` for ``None``), with the event if there are several."""
    title = "Global" if instance is None else f"Instance ID: {instance}"
    return title + f" | Event: {event}" if n_events > 1 else title


def _position(value: Any, size: int, arg: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < size:
        fail(arg, where, f"a position in [0, {size - 1}]", value)
    return int(value)


def _event_position(result: ResultLike, event: Any, where: str) -> int:
    if isinstance(event, str) and event in result.event_names:
        return result.event_names.index(event)
    if isinstance(event, str):
        fail("event", where, f"a position or one of {result.event_names}", event)
    return _position(event, len(result.event_names), "event", where)


def _nearest(time: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Sorted unique indices of the grid points nearest to ``targets``."""
    return np.unique(np.abs(time[None, :] - np.asarray(targets)[:, None]).argmin(axis=1))


def _check_times(time: np.ndarray, times: Any, where: str) -> np.ndarray:
    if times is None:  # 1/4, 1/2, 3/4 of the range: the ends are often degenerate (S = 1)
        return np.linspace(time.min(), time.max(), 5)[1:-1]
    try:
        targets = np.atleast_1d(np.asarray(times, dtype=np.float64))
    except (TypeError, ValueError):
        targets = np.array([np.nan])
    if targets.ndim != 1 or targets.size == 0 or not np.all(np.isfinite(targets)):
        fail("times", where, "a non-empty sequence of finite times", times)
    return targets


def _image_array(image: Any, shape: tuple, where: str) -> np.ndarray:
    """The explained image as ``(H, W)`` grey or ``(H, W, 3)`` RGB scaled to [0, 1]."""
    if image is not None and hasattr(image, "detach"):  # a torch tensor
        image = image.detach().cpu().numpy()
    array = None if image is None else np.asarray(image, dtype=np.float64)
    if array is None or array.shape != tuple(shape):
        fail(
            "image",
            where,
            f"the explained image, per-row shape {tuple(shape)}, when "
            "overlay=True (a result does not keep its inputs)",
            None if array is None else f"shape {array.shape}",
            as_text=array is not None,
        )
    if array.ndim == 3:
        array = np.moveaxis(array, 0, -1) if shape[0] == 3 else array.mean(axis=0)
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def _is_modality_result(result: ResultLike) -> bool:
    return result.method == "Modality_Shapley" or "aggregated_from" in result.args


def _panel_axes(
    ax: Any,
    n_panels: int,
    where: str,
    figsize: tuple | None = None,
    unit: str = "instance and event",
):
    """The given axes (checked against the panel count) or a new figure's grid."""
    if ax is not None:
        axes = list(np.ravel(np.asarray(ax, dtype=object)))
        if len(axes) != n_panels or not all(hasattr(a, "plot") for a in axes):
            fail(
                "ax",
                where,
                f"{n_panels} matplotlib Axes (one per {unit})",
                f"{len(axes)} object(s)",
                as_text=True,
            )
        return axes[0].figure, axes
    ncols = min(n_panels, 3)
    nrows = -(-n_panels // ncols)
    fig = new_figure(figsize or (4.2 * ncols, 3.4 * nrows + 0.6))
    grid = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel()
    for spare in grid[n_panels:]:
        spare.remove()
    return fig, list(grid[:n_panels])


def new_figure(figsize: tuple):
    """A constrained-layout figure that pyplot knows (``plt.savefig``/``plt.show`` see it).

    Every plot of this package draws into such a figure when no ``ax`` is given.

    Parameters
    ----------
    figsize : tuple of float
        Width and height in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The current pyplot figure.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from survinng_py.plot import new_figure
    >>> fig = new_figure((4, 3))
    >>> fig is plt.gcf(), fig.get_size_inches().tolist()
    (True, [4.0, 3.0])
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    return plt.figure(figsize=figsize, layout="constrained")


def _finish(
    fig, axes: list, ax_given: Any, legend_title: str, loc: str = "outside lower center"
) -> None:
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
    fig.legend(
        handles,
        labels,
        title=legend_title,
        loc=loc,
        ncols=min(len(labels), 6) if below else 1,
        fontsize="small",
    )


# -- second-order results: feature interactions ------------------------------------------------
def plot_interactions(
    result: ResultLike,
    times: Any = None,
    instance: int = 0,
    event: int | str = 0,
    main_effects: bool = False,
    ax: Any = None,
):
    """Heatmaps of the (feature, feature) matrix of a second-order result at chosen times.

    One panel per time (the grid point nearest to each of ``times``), on one diverging
    colour scale centred at 0 and shared by the panels, so that the strongest pairs
    stand out at a glance; values are written in the cells for up to 8 features. The
    diagonal (main effects, often much larger) is left blank unless ``main_effects``.

    Parameters
    ----------
    result : SurvResult
        From :func:`~survinng_py.surv_hessian` or :func:`~survinng_py.surv_inthess`.
    times : sequence of float, optional
        Times to show (default: 1/4, 1/2 and 3/4 of the time range).
    instance : int
        Position of the instance.
    event : int or str
        Position or name of the event.
    main_effects : bool
        Draw the diagonal too (it then shares the colour scale).
    ax : matplotlib Axes or sequence of Axes, optional
        Draw into these, one per time, instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        For a first-order result or a bad selector.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_interactions
    >>> fig = plot_interactions(sv.surv_inthess(exp, instance=[1], n=4), times=[1.0, 4.0])
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['Instance ID: 1 | t = 1.111', 'Instance ID: 1 | t = 3.889']
    """
    where = "plot_interactions()"
    matrix, names = _pair_matrix(result, where)
    i = _position(instance, len(result.instance), "instance", where)
    e = _event_position(result, event, where)
    main_effects = check_flag(main_effects, "main_effects", where)
    picks = _nearest(result.time, _check_times(result.time, times, where))
    p = len(names)
    fig, axes = _panel_axes(
        ax, len(picks), where, figsize=(3.2 * min(len(picks), 3) + 1.2, 3.6 + 0.25 * p), unit="time"
    )
    cells = matrix[i, :, :, e][..., picks].astype(np.float64)  # (p, p, times)
    if not main_effects:
        cells[np.arange(p), np.arange(p)] = np.nan
    scale = float(np.nanmax(np.abs(cells), initial=0.0)) or 1.0
    image = None
    for axis, (m, t) in zip(axes, enumerate(picks)):
        image = axis.imshow(cells[..., m], cmap="RdBu_r", vmin=-scale, vmax=scale)
        axis.set_xticks(range(len(names)), names, rotation=90)
        axis.set_yticks(range(len(names)), names)
        if len(names) <= 8:
            for r, c in zip(*np.nonzero(np.isfinite(cells[..., m]))):
                axis.text(c, r, f"{cells[r, c, m]:.2g}", ha="center", va="center", fontsize=6)
        title = _title(result.instance[i], result.event_names[e], len(result.event_names))
        axis.set_title(f"{title} | t = {result.time[t]:.4g}")
    fig.colorbar(image, ax=axes, label=f"{result.label} of {result.target}", shrink=0.8)
    return fig


def plot_pairs(
    result: ResultLike,
    top_k: int = 5,
    instance: int = 0,
    event: int | str = 0,
    main_effects: bool = False,
    ax: Any = None,
):
    """The ``top_k`` feature pairs of a second-order result over time.

    Pairs ``i < j`` are ranked by their largest absolute entry over time; each is one
    curve of entry ``(i, j)`` (for Integrated Hessians the pair's whole interaction is
    ``Gamma_ij + Gamma_ji``, twice the curve). With ``main_effects`` the diagonal
    entries compete too.

    Parameters
    ----------
    result : SurvResult
        From :func:`~survinng_py.surv_hessian` or :func:`~survinng_py.surv_inthess`.
    top_k : int
        Number of pairs drawn.
    instance : int
        Position of the instance.
    event : int or str
        Position or name of the event.
    main_effects : bool
        Rank the diagonal (one feature with itself) along with the pairs.
    ax : matplotlib Axes, optional
        Draw into it instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    SurvinngError
        For a first-order result or a bad selector.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 10))
    >>> exp = sv.explain(net, np.random.default_rng(0).normal(size=(20, 3)),
    ...                  model_type="deephit", time_bins=np.linspace(0, 5, 10))
    >>> from survinng_py.plot import plot_pairs
    >>> fig = plot_pairs(sv.surv_hessian(exp, instance=[0]), top_k=2)
    >>> len(fig.axes[0].lines)
    3
    """
    where = "plot_pairs()"
    matrix, names = _pair_matrix(result, where)
    top_k = check_int(top_k, "top_k", where)
    main_effects = check_flag(main_effects, "main_effects", where)
    i = _position(instance, len(result.instance), "instance", where)
    e = _event_position(result, event, where)
    rows, cols = np.triu_indices(len(names), k=0 if main_effects else 1)
    curves = matrix[i, rows, cols, e].astype(np.float64)  # (pairs, time)
    order = np.argsort(-np.abs(curves).max(axis=1), kind="stable")[:top_k]
    fig, (axis,) = _panel_axes(ax, 1, where, unit="plot")
    for rank, pair in enumerate(order):
        label = f"{names[rows[pair]]}:{names[cols[pair]]}"
        axis.plot(result.time, curves[pair], color=f"C{rank % 10}", label=label)
    axis.axhline(0, color="black", linewidth=0.6)
    axis.set_title(_title(result.instance[i], result.event_names[e], len(result.event_names)))
    axis.set_xlabel("Time")
    axis.set_ylabel(f"{result.label} of {result.target}")
    axis.legend(title="Pair", fontsize="small")
    return fig


def _pair_matrix(result: ResultLike, where: str) -> tuple[np.ndarray, list[str]]:
    """The ``(instance, p, p, event, time)`` values of a second-order result and the names
    of its ``p`` features."""
    _check_result(result, where)
    pairs = getattr(result, "feature_pairs", None)
    values = result.values[0]
    if not pairs or values.ndim != 5 or values.shape[1] != values.shape[2]:
        fail(
            "result",
            where,
            "a second-order result with a (feature, feature) matrix (surv_hessian(), "
            "surv_inthess())",
            f"{result.label} with feature shape {values.shape[1:-2]}",
            as_text=True,
        )
    p = values.shape[1]
    return values, [pairs[0][j * p + j][0] for j in range(p)]
