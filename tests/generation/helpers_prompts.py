"""Prompts for the generation tests: the paper's five tasks over placeholder documents."""

from __future__ import annotations

from placeholders import placeholder_docs

from crosstask.models import build_prompt
from crosstask.tasks import PAPER_TASKS, get_task


def paper_prompts(tokenizer, n_docs: int) -> list[str]:
    """Five prompts per document (they share the template header and, mostly, the document)."""
    prompts = []
    for doc in placeholder_docs(n_docs):
        for name in PAPER_TASKS:
            message, _ = get_task(name).user_message(doc)
            prompts.append(build_prompt(tokenizer, [{"role": "user", "content": message}]))
    return prompts


def one_at_a_time(model, tokenizer, prompts: list[str], max_new_tokens: int) -> list[list[int]]:
    """The paper's way: each prompt alone through ``model.generate`` (greedy); new token ids without padding."""
    import torch

    from crosstask.generation.engine import encode_prompt, stop_token_ids

    eos = sorted(stop_token_ids(model, tokenizer))
    outs = []
    for p in prompts:
        ids = torch.tensor([encode_prompt(tokenizer, p)])
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                             do_sample=False, eos_token_id=eos, pad_token_id=tokenizer.pad_token_id)
        new = out[0, ids.shape[1] :].tolist()
        outs.append([t for t in new if t != tokenizer.pad_token_id])
    return outs


def long_docs(sizes: list[int]):
    """Placeholder documents of about ``size`` sentences each (harmless, obviously fake)."""
    from crosstask.document import Document

    return [Document(id=f"long-{i}", text=" ".join(f"Placeholder sentence {j} of fake article {i} about a fair."
                                                    for j in range(n)), label="benign", source="placeholder")
            for i, n in enumerate(sizes)]


def task_prompts(tokenizer, docs, tasks=PAPER_TASKS) -> list[str]:
    out = []
    for doc in docs:
        for name in tasks:
            message, _ = get_task(name).user_message(doc)
            out.append(build_prompt(tokenizer, [{"role": "user", "content": message}]))
    return out
