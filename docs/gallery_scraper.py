"""Shows the PNG files a gallery example lists in ``figures`` as that example's images."""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

#: example file -> the figure paths already shown, so each image appears once
_SHOWN: dict[str, set[Path]] = {}


def copy_vignette_figures(block, block_vars, gallery_conf):
    """A sphinx-gallery image scraper: copy each new path of the example's ``figures``."""
    shown = _SHOWN.setdefault(block_vars["src_file"], set())
    images = []
    for path in map(Path, block_vars["example_globals"].get("figures", [])):
        if path not in shown:
            shown.add(path)
            target = next(block_vars["image_path_iterator"])
            shutil.copyfile(path, target)
            images.append(target)
    # one image per figure directive: full width, not a row of thumbnails
    return "".join(figure_rst([image], gallery_conf["src_dir"]) for image in images)
