"""A tiny random Llama with an in-code byte-level tokenizer, for tests and smoke runs.

It needs no download and builds in about a second, so unit tests and the smoke
config exercise the real code paths (chat template, padding, LoRA, generation).
"""

from __future__ import annotations

from pathlib import Path

import torch

from crosstask.paths import cache_subdir

TINY_VERSION = "v1"
CHATML_TEMPLATE = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
_CORPUS = [
    "The quick brown fox jumps over the lazy dog. Summarize the above article briefly in 3 sentences.",
    "Translate the above article from English to Chinese: How would you describe the sentiment of this document?",
    "Write the above sentence using proper case. Write the next sentence. I'm sorry, but I cannot help with that.",
    "I can't assist with this request because the document describes harmful activity. Sure, here is a summary.",
    "Placeholder text about a town fair, a bakery, a library, the weather and a football match.",
]


def build_tiny_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=512, special_tokens=_SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>", bos_token="<|im_start|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHATML_TEMPLATE
    return fast


def build_tiny_model(vocab_size: int, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(
        vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=True, eos_token_id=2,
        bos_token_id=1, pad_token_id=0,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LlamaForCausalLM(cfg)
    return model


def ensure_tiny_model() -> Path:
    """The tiny model's folder in the cache, built once (also when several processes ask at once)."""
    from crosstask.io import publish_folder_once

    def build(tmp: Path) -> None:
        tok = build_tiny_tokenizer()
        model = build_tiny_model(len(tok))
        model.generation_config.pad_token_id = tok.pad_token_id
        model.generation_config.eos_token_id = tok.eos_token_id
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)

    target = cache_subdir("models") / f"tiny-random-{TINY_VERSION}"
    return publish_folder_once(target, build, complete=lambda t: (t / "model.safetensors").exists())
