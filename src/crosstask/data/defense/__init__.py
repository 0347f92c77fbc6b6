"""The defense dataset: malicious documents answered by refusals, mixed with utility-preserving examples."""

from crosstask.data.defense.builder import build_defense_dataset
from crosstask.data.defense.defense_config import DefenseConfig, load_defense_config, parse_defense_config
from crosstask.data.defense.manifest import Manifest, read_examples, read_manifest, read_test_documents
from crosstask.data.defense.schema import DefenseExample

__all__ = [
    "DefenseConfig",
    "DefenseExample",
    "Manifest",
    "build_defense_dataset",
    "load_defense_config",
    "parse_defense_config",
    "read_examples",
    "read_manifest",
    "read_test_documents",
]
