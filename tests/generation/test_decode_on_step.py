"""``decode_groups(on_step=...)``: every step's new tokens (streaming), and members finished on request."""

from helpers_prompts import paper_prompts

from crosstask.generation.decode import StopRule, TokenPicker, decode_groups
from crosstask.generation.engine import encode_prompt, stop_token_ids
from crosstask.generation.prefix import group_by_prefix
from crosstask.generation.settings import GenerationSettings


def test_on_step_streams_every_token_and_stops_the_members_it_names(tiny):
    model, tok = tiny.model, tiny.tokenizer
    ids = [encode_prompt(tok, p) for p in paper_prompts(tok, 2)]
    groups = group_by_prefix(ids, max_group=len(ids))
    kwargs = dict(pad_id=tok.pad_token_id, picker=TokenPicker(GenerationSettings(max_new_tokens=12)),
                  stop=StopRule(stop_token_ids(model, tok), 12))
    plain = decode_groups(model, ids, groups, **kwargs)

    seen: dict[int, list[int]] = {m: [] for m in plain}

    def on_step(step):
        for m, t in step.items():
            seen[m].append(t)
        return [m for m in step if m == 0 and len(seen[0]) == 3]  # member 0 stops after 3 tokens

    streamed = decode_groups(model, ids, groups, on_step=on_step, **kwargs)
    assert streamed[0] == plain[0][:3] and seen[0] == streamed[0]
    for m in plain:
        if m != 0:
            assert streamed[m] == plain[m] == seen[m]  # the others are not disturbed
