"""Simulated survival data of the survinng paper (ICML 2025, Sections 5.1 and 5.2).

Both designs are Cox models with a Weibull baseline hazard
``h0(t) = lambda * gamma * t**(gamma - 1)`` and administrative censoring at ``t = 7``.
Event times are drawn by inverting the closed-form cumulative hazard at ``-log(U)``,
``U ~ U(0, 1)``, so no numerical root finding is needed.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_int, fail

#: end of follow-up: every later event time is censored here
CENSOR_TIME = 7.0


def simulate_time_independent(n: int = 10_000, seed: int = 42):
    """Proportional hazards data with one effect-free feature (paper, Section 5.1).

    ``x1 ~ N(0, 1)``, ``x2 ~ U(0, 1)``, ``x3 ~ U(-1, 1)`` and
    ``h(t | x) = h0(t) * exp(1.7 x1 - 2.4 x2 + 0 x3)`` with ``lambda = 0.1``,
    ``gamma = 2.5``; event times after 7 are censored at 7.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same data.

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``status`` (1 event, 0 censored), ``x1``, ``x2``, ``x3``.

    Raises
    ------
    SurvinngError
        For an ``n`` below 1 or a negative or non-integer ``seed``.

    Examples
    --------
    >>> from survinng_py.datasets import simulate_time_independent
    >>> df = simulate_time_independent(n=100, seed=1)
    >>> df.shape, list(df.columns)
    ((100, 5), ['time', 'status', 'x1', 'x2', 'x3'])
    >>> bool(df.loc[df.status == 0, "time"].eq(7).all())
    True
    """
    n = check_int(n, "n", "simulate_time_independent()")
    rng = _rng(seed, "simulate_time_independent()")
    lam, gamma = 0.1, 2.5
    x = np.column_stack([rng.normal(size=n), rng.uniform(0, 1, n), rng.uniform(-1, 1, n)])
    eta = x @ np.array([1.7, -2.4, 0.0])
    # H(t | x) = lambda * exp(eta) * t**gamma, solved for H = -log(U)
    event_time = (-np.log(rng.uniform(size=n)) / (lam * np.exp(eta))) ** (1 / gamma)
    return _frame(event_time, x)


def simulate_time_dependent(n: int = 10_000, seed: int = 42):
    """Data where ``x1``'s effect on the hazard changes sign over time (paper, Section 5.2).

    ``x1 ~ U(0, 1)``, ``x2, x3 ~ N(0, 1)``, ``x4 ~ U(-1, 1)`` and
    ``log h(t | x) = log h0(t) - 3 x1 + 1.7 x2 - 2.4 x3 + 0 x4 + 6 x1 log(t)`` with
    ``lambda = 0.1``, ``gamma = 1.5``. The log-hazard slope of ``x1``, ``6 log(t) - 3``,
    is negative before ``t = exp(0.5) ~ 1.65`` and positive after: a high ``x1`` protects
    early and harms late. Event times after 7 are censored at 7.

    Parameters
    ----------
    n : int
        Number of rows.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same data.

    Returns
    -------
    pandas.DataFrame
        Columns ``time``, ``status`` (1 event, 0 censored), ``x1`` to ``x4``.

    Raises
    ------
    SurvinngError
        For an ``n`` below 1 or a negative or non-integer ``seed``.

    Examples
    --------
    >>> from survinng_py.datasets import simulate_time_dependent
    >>> df = simulate_time_dependent(n=100, seed=1)
    >>> df.shape, list(df.columns)
    ((100, 6), ['time', 'status', 'x1', 'x2', 'x3', 'x4'])
    >>> bool(df.time.le(7).all()), sorted(df.status.unique().tolist())
    (True, [0, 1])
    """
    n = check_int(n, "n", "simulate_time_dependent()")
    rng = _rng(seed, "simulate_time_dependent()")
    lam, gamma = 0.1, 1.5
    x = np.column_stack(
        [rng.uniform(0, 1, n), rng.normal(size=n), rng.normal(size=n), rng.uniform(-1, 1, n)]
    )
    eta = x @ np.array([-3.0, 1.7, -2.4, 0.0])
    shape = gamma + 6 * x[:, 0]
    # H(t | x) = lambda * gamma * exp(eta) * t**shape / shape, solved for H = -log(U)
    event_time = (-np.log(rng.uniform(size=n)) * shape / (lam * gamma * np.exp(eta))) ** (1 / shape)
    return _frame(event_time, x)


def split(df, n_test: int = 500, seed: int = 42):
    """Random train/test split (the paper keeps 500 test rows).

    Parameters
    ----------
    df : pandas.DataFrame
        Data to split.
    n_test : int
        Number of test rows, at least 1 and fewer than ``len(df)``.
    seed : int
        Seed of :func:`numpy.random.default_rng`.

    Returns
    -------
    train, test : pandas.DataFrame
        Disjoint row subsets in random order with a fresh ``0..k-1`` index, so that row
        positions can be passed as ``instance`` to the attribution methods.

    Raises
    ------
    SurvinngError
        For an ``n_test`` outside ``[1, len(df))`` or a negative or non-integer ``seed``.

    Examples
    --------
    >>> from survinng_py.datasets import simulate_time_dependent, split
    >>> train, test = split(simulate_time_dependent(n=1000), n_test=200, seed=0)
    >>> len(train), len(test), list(test.index[:3])
    (800, 200, [0, 1, 2])
    """
    if not 1 <= check_int(n_test, "n_test", "split()") < len(df):
        fail("n_test", "split()", f"below the number of rows ({len(df)})", n_test)
    order = _rng(seed, "split()").permutation(len(df))
    test = df.iloc[order[:n_test]].reset_index(drop=True)
    train = df.iloc[order[n_test:]].reset_index(drop=True)
    return train, test


def _rng(seed, where: str) -> np.random.Generator:
    return np.random.default_rng(check_int(seed, "seed", where, minimum=0))


def _frame(event_time: np.ndarray, x: np.ndarray):
    import pandas as pd

    status = (event_time <= CENSOR_TIME).astype(np.int64)
    frame = {"time": np.minimum(event_time, CENSOR_TIME), "status": status}
    frame.update({f"x{j + 1}": x[:, j] for j in range(x.shape[1])})
    return pd.DataFrame(frame)
