"""The defense dataset: malicious documents answered by refusals, mixed with utility-preserving examples.

Names are imported on first use, so that the configuration (``defense_config``: the CLI derives
``crosstask data build``'s options from it) loads without torch.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "build_defense_dataset": "crosstask.data.defense.builder",
    "DefenseConfig": "crosstask.data.defense.defense_config",
    "DefenseOptions": "crosstask.data.defense.defense_config",
    "load_defense_config": "crosstask.data.defense.defense_config",
    "parse_defense_config": "crosstask.data.defense.defense_config",
    "Manifest": "crosstask.data.defense.manifest",
    "read_examples": "crosstask.data.defense.manifest",
    "read_manifest": "crosstask.data.defense.manifest",
    "read_test_documents": "crosstask.data.defense.manifest",
    "DefenseExample": "crosstask.data.defense.schema",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
