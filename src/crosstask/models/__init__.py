"""Model loading and prompt formats.

Names are imported on first use, so that light modules (configs naming ``EMBEDDED_MODEL``, the
CLI) load without torch.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "EMBEDDED_MODEL": "crosstask.models.names",
    "LoadedModel": "crosstask.models.loader",
    "bf16_is_fast": "crosstask.models.loader",
    "load_model": "crosstask.models.loader",
    "load_tokenizer": "crosstask.models.loader",
    "resolve_dtype_name": "crosstask.models.loader",
    "resolve_model_path": "crosstask.models.loader",
    "PROMPT_FORMATS": "crosstask.models.prompt_formats",
    "build_prompt": "crosstask.models.prompt_formats",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
