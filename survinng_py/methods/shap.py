"""SurvSHAP(t): Shapley values of the features for the whole survival curve at once.

The value of a coalition S of players (features, or groups of columns) for an explained
row x is the interventional one of Krzyziński et al., "SurvSHAP(t): Time-dependent
explanations of machine learning survival models" (2023):

    v(S)(t) = mean over background rows b of  f(t; x_S, b_{-S}).

It is evaluated for every coalition, background row and instance in batched forward
passes without gradients, over all events and time points at once. Every estimate is a
fixed linear map from the coalition values to the Shapley values (exact weights, or the
Kernel SHAP least-squares solution), computed once and applied to all instances, events
and time points. The model is only predicted, never differentiated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .registry import BATCH_SIZE_HELP, GIVEN_HELP, register_method

if TYPE_CHECKING:
    import numpy as np

    from ..explainer import Explainer
    from ..result import SurvResult

#: most players whose 2^p coalitions are enumerated when ``num_coalitions`` is not given
MAX_EXACT_PLAYERS = 12
#: coalitions sampled by default above :data:`MAX_EXACT_PLAYERS`
DEFAULT_COALITIONS = 2048
#: most coalitions that may be sampled (each one costs ``num_background`` model rows per
#: instance)
MAX_COALITIONS = 2**24


def surv_shap(
    explainer: Explainer,
    x: Any = None,
    *,
    instance: Any = None,
    target: str = "survival",
    given: float | None = None,
    background: Any = None,
    num_background: int | None = 100,
    num_coalitions: int | None = None,
    groups: dict | None = None,
    seed: int | np.random.Generator | None = None,
    batch_size: int | None = None,
    progress: bool | None = None,
) -> SurvResult:
    """SurvSHAP(t): Shapley values of the features (or groups of columns) over time.

    The value of a coalition S is the target with the players in S taken from the
    instance and the others from a background row, averaged over the background rows.
    With at most 12 players and no ``num_coalitions`` the 2^p coalitions are enumerated
    and the values are the exact Shapley values; otherwise Kernel SHAP estimates them
    from ``num_coalitions`` coalitions (default 2048) drawn from the Shapley kernel in
    complementary pairs, by one weighted least-squares solve whose efficiency
    constraint is exact (one player is eliminated). Coalitions and background rows are
    shared by all instances.

    Parameters
    ----------
    explainer : Explainer
        From :func:`survinng_py.explain`; the model is only predicted.
    x : array, DataFrame, tensor or list of them, optional
        New rows to explain. Give exactly one of ``x`` and ``instance``.
    instance : int or sequence of int, optional
        0-based rows of the explainer data.
    target : str
        A target of the model (``"survival"``, ``"cum_hazard"``, ``"cif"``, ...) or a
        conditional target (``"conditional_survival"``, ``"conditional_cif"``).
    given : float, optional
        The time ``s`` of a conditional target (explained given no event by ``s``).
    background : array, DataFrame, tensor or list of them, optional
        The background rows (default: the explainer data).
    num_background : int or None
        Background rows drawn without replacement (from ``seed``) when there are more;
        ``None`` uses all of them.
    num_coalitions : int, optional
        Coalitions drawn for Kernel SHAP (rounded up to an even number: each is drawn
        with its complement). Default: exact enumeration for at most 12 players, else
        2048 coalitions. With one player the value is exact.
    groups : dict of str to list, optional
        Players made of several columns: ``{name: [column names or 0-based flat column
        indices]}`` (a factor's dummies, an image patch, a whole input). Columns in no
        group stay players of their own. Players are listed in the order of their
        first column.
    seed : int or numpy.random.Generator, optional
        Seed of the background rows (first) and the coalitions (then).
    batch_size : int, optional
        Model rows per batch (default: as many as the memory budget allows). Results do
        not depend on it.
    progress : bool, optional
        Show a progress bar (default: only in a terminal, for more than one batch).

    Returns
    -------
    SurvResult
        Without ``groups``, ``values[k]`` of shape ``(instance, *feature_dims_k, event,
        time)``; with ``groups``, one input ``"groups"`` of shape ``(instance, player,
        event, time)`` named by the players. ``pred``, ``pred_ref`` (the mean prediction
        over the background) and ``pred_diff``; the values sum to ``pred_diff``.
        ``args["exact"]`` says whether all coalitions were enumerated.

    Raises
    ------
    SurvinngError
        Bad arguments, in one line, before any prediction.

    Examples
    --------
    >>> import numpy as np, torch, survinng_py as sv
    >>> torch.manual_seed(0) and None
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))
    >>> exp = sv.explain(net, np.random.default_rng(1).normal(size=(30, 3)),
    ...                  model_type="deepsurv", baseline_hazard=([1.0, 2.0], [0.1, 0.2]))
    >>> res = sv.surv_shap(exp, instance=[0, 1], num_background=10, seed=0)
    >>> res.label, res.values[0].shape
    ('SurvSHAP(t)', (2, 3, 1, 2))
    >>> bool(np.allclose(res.values[0].sum(1), res.pred_diff, atol=1e-6))
    True
    """
    import numpy as np
    import torch

    from .._validation import check_int
    from ._core import for_target, make_rng, predict, prepare, reference_rows, seed_label

    where = "surv_shap()"
    explainer = for_target(explainer, target, where, given=given)
    inputs, ids, names = prepare(
        explainer, x, instance, target, batch_size, where, progress, gradients=False
    )
    if num_background is not None:
        num_background = check_int(num_background, "num_background", where)
    if num_coalitions is not None:
        num_coalitions = check_int(num_coalitions, "num_coalitions", where, maximum=MAX_COALITIONS)
    players, player_names = _players(groups, names, where)
    pool = reference_rows(explainer, background, "background", where)
    pool_size = pool[0].shape[0]
    rng = make_rng(seed, where)
    if num_background is not None and num_background < pool_size:
        rows = np.sort(rng.choice(pool_size, size=num_background, replace=False))
    else:
        rows = np.arange(pool_size)
    index = torch.as_tensor(rows, device=inputs[0].device)
    refs = [p.index_select(0, index) for p in pool]

    n_players = len(players)
    exact = n_players == 1 or (num_coalitions is None and n_players <= MAX_EXACT_PLAYERS)
    if exact:
        coalitions = _all_coalitions(n_players)
        combine = _exact_combiner(coalitions)
    else:
        drawn = DEFAULT_COALITIONS if num_coalitions is None else num_coalitions
        _check_coalitions(explainer, inputs, drawn, n_players, where)
        coalitions, counts = _sample_coalitions(n_players, drawn, rng)
        combine = _kernel_combiner(coalitions, counts)
    values, empty = _shapley(
        explainer, inputs, refs, players, coalitions, combine, target, batch_size, progress
    )
    args = {
        "target": target,
        "instance": ids.tolist(),
        "exact": exact,
        "num_coalitions": len(coalitions),
        "num_background": len(rows),
        "background": "explainer data" if background is None else "given",
        "background_rows": rows.tolist(),
        "groups": None if groups is None else _group_columns(players, player_names, names),
        "seed": seed_label(seed),
    }
    return _result(
        explainer,
        inputs,
        ids,
        names,
        values,
        predict(explainer, inputs, target),
        empty,
        target,
        args,
        player_names if groups is not None else None,
    )


def _check_coalitions(explainer, inputs, drawn: int, n_players: int, where: str) -> None:
    """Drawn coalitions are held up front (their masks, the least-squares map and one
    instance's coalition values, float64): refuse counts that do not fit in the
    explainer's memory budget rather than exhausting memory."""
    from .. import engine
    from .._validation import fail

    per_coalition = 8 * max(
        n_players, engine.num_risks(explainer.model, inputs) * len(explainer.model.time)
    )
    limit = max(1, explainer.memory_budget // per_coalition)
    if drawn > limit:
        fail(
            "num_coalitions",
            where,
            f"at most {limit} ({per_coalition} bytes each, within the explainer's "
            f"memory_budget of {explainer.memory_budget} bytes)",
            drawn,
        )


def _group_columns(players, player_names, names) -> dict:
    """The players as recorded: each player's name and its columns' names."""
    columns = [name for input_names in names for name in input_names]
    return {name: [columns[j] for j in player] for name, player in zip(player_names, players)}


def _players(groups: Any, names: list[list[str]], where: str):
    """The players as lists of flat column indices (over all inputs) and their names."""
    import numbers

    from .._validation import fail

    columns = [name for input_names in names for name in input_names]
    if groups is None:
        return [[j] for j in range(len(columns))], columns
    if not isinstance(groups, dict) or not groups:
        fail("groups", where, "a non-empty dict of group names to lists of columns", groups)
    by_name: dict[str, list[int]] = {}
    for j, name in enumerate(columns):
        by_name.setdefault(name, []).append(j)
    owner: dict[int, str] = {}
    for group, members in groups.items():
        if not isinstance(group, str) or not group:
            fail("groups", where, "keyed by non-empty group names", group)
        if isinstance(members, (str, bytes)) or not hasattr(members, "__iter__"):
            fail(f"groups[{group!r}]", where, "a list of column names or indices", members)
        members = list(members)
        if not members:
            fail(f"groups[{group!r}]", where, "a non-empty list of columns", members)
        for member in members:
            if isinstance(member, str):
                found = by_name.get(member, [])
                if len(found) != 1:
                    rule = "a column name" if not found else "a column name that is unique"
                    fail(f"groups[{group!r}]", where, f"{rule} ({len(columns)} columns)", member)
                column = found[0]
            elif (
                isinstance(member, numbers.Integral)
                and not isinstance(member, bool)
                and (0 <= int(member) < len(columns))
            ):
                column = int(member)
            else:
                fail(
                    f"groups[{group!r}]",
                    where,
                    f"column names or 0-based column indices below {len(columns)}",
                    member,
                )
            if column in owner:
                fail(
                    f"groups[{group!r}]",
                    where,
                    f"columns in no other group ({columns[column]!r} is in {owner[column]!r})",
                    member,
                    as_text=True,
                )
            owner[column] = group
    # keyed by group, or by column for the others (two inputs may share a column name)
    players: dict[tuple, list[int]] = {}
    for j, name in enumerate(columns):
        if j not in owner and name in groups:
            fail("groups", where, "named apart from the columns in no group", name)
        key = ("group", owner[j]) if j in owner else ("column", j)
        players.setdefault(key, []).append(j)
    return list(players.values()), [
        key[1] if key[0] == "group" else columns[key[1]] for key in players
    ]


def _all_coalitions(n_players: int) -> np.ndarray:
    """All 2^p coalitions as 0/1 rows, in the order of ``itertools.product([0, 1])``
    (row 0 empty, the last row full)."""
    import numpy as np

    bits = (np.arange(2**n_players)[:, None] >> np.arange(n_players - 1, -1, -1)) & 1
    return bits.astype(bool)


def _exact_combiner(coalitions: np.ndarray):
    """Shapley values from the values of all coalitions (see :func:`modality.exact_shapley`)."""
    from ..modality import exact_shapley

    return exact_shapley(coalitions)


def _sample_coalitions(n_players: int, drawn: int, rng: np.random.Generator):
    """The empty and full coalitions, then the distinct coalitions among ``drawn`` ones
    from the Shapley kernel (sizes with probability proportional to 1 / (s (p - s)),
    uniform given the size), half drawn and half their complements; with their counts."""
    import numpy as np

    sizes = np.arange(1, n_players)
    prob = 1.0 / (sizes * (n_players - sizes))
    half = -(-drawn // 2)
    size = rng.choice(sizes, size=half, p=prob / prob.sum())
    ranks = np.argsort(np.argsort(rng.random((half, n_players)), axis=1), axis=1)
    masks = ranks < size[:, None]
    masks = np.concatenate([masks, ~masks])
    unique, counts = np.unique(masks, axis=0, return_counts=True)
    ends = np.array([np.zeros(n_players, bool), np.ones(n_players, bool)])
    return np.concatenate([ends, unique]), counts


def _kernel_combiner(coalitions: np.ndarray, counts: np.ndarray):
    """Kernel SHAP as one linear map M (players x coalitions) from coalition values to
    Shapley values: the weighted least squares of v(S) - v(empty) on the coalition masks
    with the constraint sum(phi) = v(full) - v(empty), solved by eliminating the last
    player. Rows 0 and 1 of ``coalitions`` are the empty and full coalition."""
    import numpy as np
    import torch

    z = coalitions[2:].astype(np.float64)
    n_sampled = len(z)
    design = z[:, :-1] - z[:, -1:]
    root = np.sqrt(counts.astype(np.float64))
    solve = np.linalg.pinv(design * root[:, None]) * root[None, :]  # (P-1, Cs)
    # b = v(S) - v(empty) - z_last (v(full) - v(empty)) as a map from all coalition values
    lift = np.zeros((n_sampled, n_sampled + 2))
    lift[:, 2:] = np.eye(n_sampled)
    lift[:, 0] += z[:, -1] - 1.0
    lift[:, 1] -= z[:, -1]
    first = solve @ lift
    delta = np.zeros(n_sampled + 2)
    delta[1], delta[0] = 1.0, -1.0
    weights = np.vstack([first, delta - first.sum(0)])

    def combine(values: torch.Tensor) -> torch.Tensor:
        return torch.einsum("pc,ncet->npet", torch.as_tensor(weights, dtype=values.dtype), values)

    return combine


def _shapley(explainer, inputs, refs, players, coalitions, combine, target, batch_size, progress):
    """Values ``(n, P, E, T)`` and the value ``(n, E, T)`` of the empty coalition (row 0
    of ``coalitions``).

    Instances are taken in chunks whose coalition values fit in the memory budget; within
    a chunk the (instance, coalition) pairs go to the model in batches of ``batch_size``
    rows (background rows x pairs)."""
    import sys

    import torch
    from tqdm.auto import tqdm

    from .. import engine

    model, budget = explainer.model, explainer.memory_budget
    device = inputs[0].device
    n, n_coal, n_ref = inputs[0].shape[0], len(coalitions), refs[0].shape[0]
    rows = batch_size or engine.predict_rows(model, inputs, budget)
    pairs_per_batch = max(1, rows // n_ref)
    width = engine.num_risks(model, inputs) * len(model.time) * inputs[0].element_size()
    per_chunk = max(1, min(n, budget // max(1, 2 * n_coal * width)))
    masks = _column_masks(players, coalitions, inputs, device)
    ref_rows = [r.unsqueeze(0) for r in refs]
    n_batches = sum(
        -(-min(per_chunk, n - s) * n_coal // pairs_per_batch) for s in range(0, n, per_chunk)
    )
    show = progress if progress is not None else (sys.stderr.isatty() and n_batches > 1)
    bar = tqdm(total=n_batches, disable=not show, desc="coalitions", unit="batch")
    out, empty = [], []
    for start in range(0, n, per_chunk):
        stop = min(n, start + per_chunk)
        total = (stop - start) * n_coal
        chunk_values = None
        for first in range(0, total, pairs_per_batch):
            pair = torch.arange(first, min(total, first + pairs_per_batch), device=device)
            inst, coal = start + pair // n_coal, pair % n_coal
            mixed = [
                torch.where(
                    m.index_select(0, coal).unsqueeze(1), x.index_select(0, inst).unsqueeze(1), r
                ).flatten(0, 1)
                for m, x, r in zip(masks, inputs, ref_rows)
            ]
            pred = engine.predict(model, mixed, target, budget)
            mean = pred.reshape(len(pair), n_ref, *pred.shape[1:]).mean(1)
            if chunk_values is None:
                chunk_values = mean.new_empty((total, *mean.shape[1:]))
            chunk_values[first : first + len(pair)] = mean
            bar.update()
        chunk_values = chunk_values.reshape(stop - start, n_coal, *chunk_values.shape[1:]).cpu()
        out.append(combine(chunk_values))
        empty.append(chunk_values[:, 0])
    bar.close()
    return torch.cat(out).numpy(), torch.cat(empty).numpy()


def _column_masks(players, coalitions, inputs, device):
    """Per input, ``(C, *feature_dims)`` booleans: which columns a coalition takes from x."""
    import numpy as np
    import torch

    sizes = [int(np.prod(x.shape[1:], dtype=np.int64)) for x in inputs]
    member = np.zeros((len(players), sum(sizes)), dtype=bool)
    for p, columns in enumerate(players):
        member[p, columns] = True
    columns_taken = (coalitions.astype(np.int64) @ member.astype(np.int64)) > 0  # (C, D)
    offsets = np.cumsum([0, *sizes])
    return [
        torch.as_tensor(columns_taken[:, lo:hi], device=device).reshape(-1, *x.shape[1:])
        for lo, hi, x in zip(offsets[:-1], offsets[1:], inputs)
    ]


def _result(explainer, inputs, ids, names, values, pred, empty, target, args, group_names):
    import numpy as np

    from ._core import build_result

    if group_names is None:
        sizes = np.cumsum([0, *(len(k) for k in names)])
        parts = [
            np.ascontiguousarray(values[:, lo:hi]).reshape(
                values.shape[0], *x.shape[1:], *values.shape[2:]
            )
            for lo, hi, x in zip(sizes[:-1], sizes[1:], inputs)
        ]
        feature_names = names
    else:
        parts, feature_names = [values], [group_names]
    result = build_result(
        explainer,
        inputs,
        ids,
        feature_names,
        parts,
        method=METHOD.id,
        target=target,
        args=args,
        pred=pred,
        pred_ref=empty,
        pred_diff=pred - empty,
    )
    if group_names is not None:
        result.input_names = ["groups"]  # one "input" whose features are the players
    return result


METHOD = register_method(
    surv_shap,
    name="shap",
    id="Surv_SHAP",
    labels="SurvSHAP(t)",
    long_labels="SurvSHAP",
    r_function="surv_shap",
    options={
        "background": "the background rows (default: the explainer data)",
        "num_background": "background rows drawn when there are more",
        "num_coalitions": "coalitions drawn for Kernel SHAP (default: exact up to 12 features)",
        "seed": "seed of the background rows and coalitions",
        "given": GIVEN_HELP,
        "batch_size": BATCH_SIZE_HELP,
    },
    seed_option="seed",
)
