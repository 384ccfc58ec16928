"""The Dask side of :func:`survinng_py.explain_dataset` (imported only with a client).

The bundle's files travel as bytes in a worker plugin, once per worker (also to workers
that join or restart later); each worker writes them to its local folder, loads the
explainer once and keeps it. Task functions live here, so they are pickled by reference.
"""

from __future__ import annotations

from pathlib import Path

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from ._cohort_units import run_unit
from .explainer import Explainer


class BundlePlugin(WorkerPlugin):
    """Loads a model bundle on each worker (one torch thread: the same bits everywhere)."""

    idempotent = True

    def __init__(self, bundle: Path, sha256: str):
        self.sha256 = sha256
        self.name = f"survinng-bundle-{sha256[:16]}"
        self.files = {p.name: p.read_bytes() for p in sorted(Path(bundle).iterdir()) if p.is_file()}
        self.explainer: Explainer | None = None

    def setup(self, worker) -> None:
        import torch

        from .bundle import load_model

        torch.set_num_threads(1)
        folder = Path(worker.local_directory) / self.name
        folder.mkdir(exist_ok=True)
        for name, raw in self.files.items():
            (folder / name).write_bytes(raw)
        self.explainer = load_model(folder)  # checks every file's sha256


def run_unit_on_worker(unit: dict, *, plugin: str, spec: dict) -> dict:
    """One unit on this worker, with the explainer its plugin loaded."""
    loaded: BundlePlugin = get_worker().plugins[plugin]  # type: ignore[assignment]
    return run_unit(loaded.explainer, unit, spec)
