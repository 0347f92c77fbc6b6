"""Where time goes at long contexts: prefill by length, one decode step by context and batch, SDPA variants.

    python benchmarks/long_context_profile.py [--model smollm2-135m-instruct] [--quick]

Prints three tables on the embedded SmolLM2 (fp32, random token ids, torch's current threads):

- prefill of one prompt, by length: plain (no mask: SDPA ``is_causal``), with an explicit all-ones 2D mask
  plus one left pad (SDPA gets a materialized mask), and in chunks of 512 tokens through the cache;
- one decode step (one new token per row), by batch and context: a contiguous ``DynamicCache`` vs the
  engine's cache with spare room (keys/values are views of a longer buffer);
- SDPA alone on one layer's decode shapes: GQA through ``enable_gqa``, the packed query transformers uses
  for one-token queries, and ``repeat_kv`` copies; contiguous vs strided keys/values.
"""

# The closures below are timed at once, inside the loop that defines them, so late binding cannot bite.
# ruff: noqa: B023
from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from transformers import DynamicCache

from crosstask.generation.decode import _GrowingLayer
from crosstask.models.loader import load_model


def best_of(fn, reps: int = 3) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


@torch.inference_mode()
def prefill_table(model, lengths: list[int]) -> None:
    print("\nprefill, one prompt (seconds; tokens/s)")
    print(f"| {'tokens':>6} | {'no mask':>16} | {'pad + mask':>16} | {'chunks of 512':>16} |")
    vocab = model.config.vocab_size
    for n in lengths:
        ids = torch.randint(100, vocab, (1, n))

        def plain():
            model(input_ids=ids, use_cache=True, past_key_values=DynamicCache(config=model.config), logits_to_keep=1)

        def masked():
            inp = torch.cat([torch.zeros(1, 1, dtype=torch.long), ids], 1)
            mask = torch.ones_like(inp)
            mask[0, 0] = 0
            pos = (mask.cumsum(-1) - 1).clamp(min=0)
            model(input_ids=inp, attention_mask=mask, position_ids=pos, use_cache=True,
                  past_key_values=DynamicCache(config=model.config), logits_to_keep=1)

        def chunked():
            cache = DynamicCache(config=model.config)
            for s in range(0, n, 512):
                model(input_ids=ids[:, s : s + 512], use_cache=True, past_key_values=cache, logits_to_keep=1)

        cells = []
        for fn in (plain, masked, chunked):
            t = best_of(fn, 2)
            cells.append(f"{t:6.2f} s {n / t:5.0f}/s")
        print(f"| {n:>6} | " + " | ".join(f"{c:>16}" for c in cells) + " |")


def _filled_cache(model, batch: int, length: int, room: int | None):
    cfg = model.config
    kv, hd = cfg.num_key_value_heads, cfg.hidden_size // cfg.num_attention_heads
    layers = []
    for _ in range(cfg.num_hidden_layers):
        k, v = torch.randn(batch, kv, length, hd), torch.randn(batch, kv, length, hd)
        layers.append(_GrowingLayer(k, v, room=room) if room is not None else (k, v))
    if room is not None:
        cache = DynamicCache()
        cache.layers = layers
        return cache
    cache = DynamicCache(config=cfg)
    for i, (k, v) in enumerate(layers):
        cache.update(k, v, i)
    return cache


@torch.inference_mode()
def decode_table(model, batches: list[int], contexts: list[int]) -> None:
    print("\none decode step (ms per step; ms per row)")
    print(f"| {'batch':>5} | {'context':>7} | {'contiguous cache':>20} | {'cache with room':>20} |")
    for b in batches:
        for L in contexts:
            cells = []
            for room in (None, 128):
                def step():
                    cache = _filled_cache(model, b, L, room)
                    mask = torch.ones(b, L + 1, dtype=torch.long)
                    tok = torch.randint(100, 1000, (b, 1))
                    pos = torch.full((b, 1), L)
                    t0 = time.perf_counter()
                    model(input_ids=tok, attention_mask=mask, position_ids=pos, past_key_values=cache, use_cache=True,
                          logits_to_keep=1)
                    return time.perf_counter() - t0

                step()
                t = min(step() for _ in range(3))
                cells.append(f"{t * 1000:7.1f} {t * 1000 / b:6.2f}/row")
            print(f"| {b:>5} | {L:>7} | " + " | ".join(f"{c:>20}" for c in cells) + " |")


@torch.inference_mode()
def sdpa_table(model, batch: int, contexts: list[int]) -> None:
    cfg = model.config
    h, kv = cfg.num_attention_heads, cfg.num_key_value_heads
    hd, rep = cfg.hidden_size // h, h // kv
    print(f"\nSDPA alone, one layer, batch {batch}, one query token (ms per call)")
    print(f"| {'context':>7} | {'enable_gqa':>10} | {'packed q':>10} | {'packed q, strided kv':>20} | "
          f"{'repeat_kv':>10} | {'packed, mask':>12} |")
    for L in contexts:
        q = torch.randn(batch, h, 1, hd)
        k, v = torch.randn(batch, kv, L, hd), torch.randn(batch, kv, L, hd)
        kb, vb = F.pad(k, (0, 0, 0, 128)), F.pad(v, (0, 0, 0, 128))
        ks, vs = kb[:, :, :L], vb[:, :, :L]
        mask = torch.ones(batch, 1, 1, L, dtype=torch.bool)
        qp = q.reshape(batch, kv, rep, hd)
        runs = [
            lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
            lambda: F.scaled_dot_product_attention(qp, k, v),
            lambda: F.scaled_dot_product_attention(qp, ks, vs),
            lambda: F.scaled_dot_product_attention(q, k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)),
            lambda: F.scaled_dot_product_attention(qp, ks, vs, attn_mask=mask),
        ]
        cells = [f"{best_of(r, 5) * 1000:.2f}" for r in runs]
        widths = [10, 10, 20, 10, 12]
        print(f"| {L:>7} | " + " | ".join(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True)) + " |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--quick", action="store_true", help="fewer shapes")
    ap.add_argument("--only", choices=["prefill", "decode", "sdpa"], default=None)
    args = ap.parse_args()
    lm = load_model(args.model)
    model = lm.model.eval()
    print(f"torch threads {torch.get_num_threads()}, attention {model.config._attn_implementation}")
    if args.only in (None, "prefill"):
        prefill_table(model, [256, 1024] if args.quick else [128, 512, 1024, 2048])
    if args.only in (None, "decode"):
        decode_table(model, [8, 32] if args.quick else [1, 8, 32, 64], [256, 2048] if args.quick else [256, 1024, 2048])
    if args.only in (None, "sdpa"):
        sdpa_table(model, 32, [256, 1024, 2048])


if __name__ == "__main__":
    main()
