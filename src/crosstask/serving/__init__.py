"""An OpenAI-compatible HTTP server for a (defended) model: ``crosstask serve``.

Names are imported on first use, so the config loads without torch or the server stack.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "ServeConfig": "crosstask.serving.serve_config",
    "build_app": "crosstask.serving.app",
    "serve": "crosstask.serving.app",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
