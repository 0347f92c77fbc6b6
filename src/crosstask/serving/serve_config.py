"""``ServeConfig``: what ``crosstask serve`` loads and how it batches, limits, guards and logs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from crosstask.config_model import ConfigModel
from crosstask.models.names import DEFAULT_PROMPT_FORMAT, EMBEDDED_MODEL, check_dtype_name
from crosstask.models.prompt_formats import PromptFormatName


class ServeConfig(ConfigModel):
    """The served model, its OpenAI-compatible API, the batcher, guards and request log."""

    config_name = "serve config"

    model: str = Field(EMBEDDED_MODEL, description="Base model name, folder or hub id.")
    adapter: str | None = Field(None, description="LoRA adapter folder, merged into the base model at load.")
    served_name: str | None = Field(None, description=(
        "The model id clients send (default: the adapter folder's name, else the model name)."))
    prompt_format: PromptFormatName = Field(DEFAULT_PROMPT_FORMAT, description=(
        "Prompt format of chat requests: chat (the tokenizer's template), alpaca or llama2."))
    dtype: str | None = Field(None, description="dtype to load the model in (default: float32; auto: bf16 where fast).")
    trust_remote_code: bool = Field(False, description="Run the model repository's own code (off: safer).")
    system_prompt: str | None = Field(None, description=(
        "A safety system prompt put before chat requests that have none."))
    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on (0: any free port, printed).")
    batch_window_ms: float = Field(20.0, ge=0, description=(
        "The batcher decodes the requests it holds once none has arrived for this long (at most 10 such windows "
        "after the first)."))
    max_batch_size: int = Field(32, ge=1, description="Requests decoded together at most.")
    max_batch_tokens: int = Field(16384, ge=1, description=(
        "Token budget of one batch: prompt tokens plus max_tokens summed over its requests."))
    max_tokens: int = Field(512, ge=1, description="The largest max_tokens a request may ask for.")
    default_max_tokens: int = Field(128, ge=1, description="max_tokens of a request that gives none.")
    max_input_tokens: int | None = Field(None, ge=1, description=(
        "Prompt budget in tokens (default: the model's context minus the request's max_tokens)."))
    truncate: Literal["error", "middle"] = Field("error", description=(
        "A prompt over budget: error (HTTP 400) or middle (the last user message cut in the middle)."))
    input_guard: str | None = Field(None, description=(
        "Input guard folder (crosstask guard train): documents scored above its threshold get a task-aware refusal."))
    guard_threshold: float | None = Field(None, gt=0, lt=1, description=(
        "Input guard threshold (default: the one saved with the guard)."))
    output_guard: bool = Field(True, description=(
        "Label every response with the refusal judge; counts of refused/processed per task at /metrics."))
    request_log: str | None = Field(None, description=(
        "JSONL request log: hashes of prompt and output, verdicts, timings (no text unless log_text)."))
    log_text: bool = Field(False, description="Also store prompt and output text in the request log.")

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, v: str | None) -> str | None:
        return check_dtype_name(v)

    def model_id(self) -> str:
        from pathlib import Path

        if self.served_name:
            return self.served_name
        return Path(self.adapter).name if self.adapter else self.model
