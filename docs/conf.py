"""Sphinx configuration for trio_circuits."""

import trio_circuits

project = "trio_circuits"
author = "The trio_circuits developers"
copyright = "2026, The trio_circuits developers"
version = release = trio_circuits.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinxcontrib_trio",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
intersphinx_mapping: dict[str, tuple[str, None]] = {}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False}
nitpicky = False
html_theme = "alabaster"
html_static_path: list[str] = []
exclude_patterns = ["_build"]
suppress_warnings = ["ref.python"]
napoleon_use_ivar = True
