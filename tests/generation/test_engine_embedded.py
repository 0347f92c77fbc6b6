"""The engine against one-prompt-at-a-time ``model.generate`` on the embedded SmolLM2 (fp32)."""

import pytest
from helpers_prompts import one_at_a_time, paper_prompts

from crosstask.generation import GenerationSettings, generate

pytestmark = pytest.mark.embedded

MAX_NEW = 16


def test_greedy_equals_one_at_a_time_with_shared_document_prefixes(embedded):
    tok = embedded.tokenizer
    prompts = paper_prompts(tok, 2)  # 2 documents x 5 tasks: 4 tasks of each share the document's tokens
    reference = one_at_a_time(embedded.model, tok, prompts, MAX_NEW)
    outs = generate(embedded.model, tok, prompts, GenerationSettings(max_new_tokens=MAX_NEW, batch_size=10))
    assert outs == [tok.decode(r, skip_special_tokens=True) for r in reference]


def test_greedy_equals_one_at_a_time_on_long_prompts_of_different_lengths(embedded):
    from helpers_prompts import long_docs, task_prompts

    from crosstask.generation.engine import encode_prompt

    tok = embedded.tokenizer
    # About 1,100, 60 and 450 tokens; prefills longer than 512 tokens run in chunks.
    prompts = task_prompts(tok, long_docs([90, 3, 35]), tasks=["summarize", "case", "cloze"])
    lengths = [len(encode_prompt(tok, p)) for p in prompts]
    assert max(lengths) > 1000 and min(lengths) < 100
    reference = one_at_a_time(embedded.model, tok, prompts, 8)
    outs = generate(embedded.model, tok, prompts, GenerationSettings(max_new_tokens=8, batch_size=16,
                                                                     token_budget=4096))
    assert outs == [tok.decode(r, skip_special_tokens=True) for r in reference]
