"""Batched text generation shared by harvesting, self-distillation and evaluation."""

from crosstask.generation.cache import GenerationCache
from crosstask.generation.engine import cache_keys, generate
from crosstask.generation.settings import GenerationSettings

__all__ = ["GenerationCache", "GenerationSettings", "cache_keys", "generate"]
