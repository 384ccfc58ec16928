"""Allocation of the large arrays a call returns.

A fresh array's memory is mapped on first write, one page fault per 4 KiB page: writing
an 80 MB Jacobian takes about 20,000 faults, as long as computing it for a small
network. numpy asks Linux to back its large arrays with transparent huge pages (2 MiB:
about a hundred faults), torch's CPU allocator does not; so the results are allocated
by numpy and shared with torch (``torch.from_numpy``, no copy).
"""

from __future__ import annotations

import numpy as np
import torch

_NUMPY_DTYPES = {
    torch.float16: np.float16,
    torch.float32: np.float32,
    torch.float64: np.float64,
}


def new_empty(like: torch.Tensor, shape: tuple) -> torch.Tensor:
    """An uninitialised array of ``shape`` with ``like``'s dtype and device; on the CPU
    allocated by numpy (transparent huge pages where the system offers them)."""
    dtype = _NUMPY_DTYPES.get(like.dtype)
    if like.device.type != "cpu" or dtype is None:
        return like.new_empty(shape)
    return torch.from_numpy(np.empty(shape, dtype=dtype))
