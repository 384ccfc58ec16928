"""Shows what a gallery example lists in ``figures`` (PNG paths or matplotlib figures) as
that example's images, each once, in the order listed."""
from __future__ import annotations

import shutil

from sphinx_gallery.scrapers import figure_rst

#: example file -> ids of the figures already shown
_SHOWN: dict[str, set] = {}


def copy_vignette_figures(block, block_vars, gallery_conf):
    """A sphinx-gallery image scraper for the ``figures`` list of the example's globals."""
    shown = _SHOWN.setdefault(block_vars["src_file"], set())
    images = []
    for figure in block_vars["example_globals"].get("figures", []):
        key = str(figure) if isinstance(figure, (str, bytes)) or hasattr(figure, "__fspath__") \
            else id(figure)
        if key in shown:
            continue
        shown.add(key)
        target = next(block_vars["image_path_iterator"])
        if hasattr(figure, "savefig"):  # a matplotlib figure, whether pyplot knows it or not
            figure.savefig(target, dpi=100)
        else:
            shutil.copyfile(figure, target)
        images.append(target)
    # one image per figure directive: full width, not a row of thumbnails
    return "".join(figure_rst([image], gallery_conf["src_dir"]) for image in images)
