"""Sphinx configuration of the survinng-py documentation.

Built offline with warnings as errors (``bash .ci/docs``): no intersphinx, no remote
assets. The gallery runs the vignettes' quick modes (``docs/gallery/``), two at a time
(``SURVINNG_DOCS_JOBS``); ``SURVINNG_DOCS_GALLERY=False`` skips running it, for a quick
look at the other pages.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # the package of this checkout, not an installed copy
sys.path.insert(0, str(DOCS))  # the gallery's figure scraper
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from gallery_scraper import copy_vignette_figures  # noqa: E402

import survinng_py  # noqa: E402

project = "survinng-py"
author = "survinng-py developers"
copyright = "survinng-py developers"
release = version = survinng_py.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "gallery/GALLERY_HEADER.rst", "**/README.md"]
templates_path = ["_templates"]
nitpicky = False

# -- Markdown ---------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# -- API reference ----------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_typehints = "none"  # the numpydoc sections give the types
#: modules whose reference shows only some of their members: the rest of survinng_py.r is
#: the R package's side of the bridge, the rest of survinng_py.models the bundles' plumbing
#: (tests/test_docs_site.py checks the docstrings of the same functions)
API_MEMBERS = {
    "survinng_py.r": "to_raw, from_raw, to_r, save_rds, read_rds",
    "survinng_py.models": "SurvivalModel, HeadParam, register_family, unregister_family, "
    "families, load_entry_points, MAX_GRID_POINTS",
}
autosummary_context = {"api_members": API_MEMBERS}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- gallery: the vignettes' quick modes -------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "gallery",
    "gallery_dirs": "auto_gallery",
    "filename_pattern": r"/plot_",
    "image_scrapers": ("matplotlib", copy_vignette_figures),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    "parallel": int(os.environ.get("SURVINNG_DOCS_JOBS", "2")),
    "min_reported_time": 1,
    "plot_gallery": os.environ.get("SURVINNG_DOCS_GALLERY", "True"),
}
suppress_warnings = ["config.cache"]  # the scraper function cannot be pickled for the cache

# -- math, served from the site itself (Debian's libjs-mathjax): no CDN, works offline --
MATHJAX = Path("/usr/share/javascript/mathjax")
#: the parts of MathJax 2 that TeX input with CommonHTML output loads
MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS_CHTML.js", "extensions", "jax/element",
                 "jax/input/TeX", "jax/output/CommonHTML", "fonts/HTML-CSS/TeX/woff")
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS_CHTML"
mathjax2_config = {"tex2jax": {"inlineMath": [["\\(", "\\)"]],
                               "displayMath": [["\\[", "\\]"]], "processEscapes": True}}
myst_update_mathjax = False  # MyST would write a MathJax 3 configuration

# -- HTML -------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"survinng-py {version}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 4,
    "navbar_end": ["navbar-icon-links"],
}
html_show_sourcelink = False
# the theme logs a console error when neither a stored nor a default colour mode is set
html_context = {"default_mode": "light"}


def _changelog(app, docname, source):
    """The changelog page shows the repository's CHANGELOG.md, or says there is none."""
    if docname != "changelog":
        return
    path = ROOT / "CHANGELOG.md"
    source[0] = (path.read_text(encoding="utf-8") if path.is_file()
                 else "# Changelog\n\nNo release has been recorded yet.\n")


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    if not (MATHJAX / "MathJax.js").is_file():
        raise RuntimeError(f"MathJax not found in {MATHJAX}: install Debian's libjs-mathjax")
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        source, dest = MATHJAX / part, target / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, dest)


def setup(app):
    app.connect("source-read", _changelog)
    app.connect("build-finished", _copy_mathjax)
