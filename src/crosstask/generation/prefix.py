"""Group tokenized prompts by their longest common token prefix.

In the paper's prompts the instruction follows the document, so the tasks of one
document share the chat template's header and the document's tokens. Comparing token
ids (not characters) makes the grouping robust to BPE merges at the joiner: the shared
prefix simply ends a token earlier.

The decode loop (:mod:`crosstask.generation.decode`) prefills a batch in two steps: each
member's prompt but its last few tokens alone (no padding), copying the part it shares with
the group's previous member (:func:`member_prefixes`), then every member's last tokens as one
padded batch. So a group computes each of its distinct tokens once: the document for
summarize, translate and sentiment, and for cloze (three quarters of it), once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class PromptGroup:
    members: tuple[int, ...]  # indices into the prompt list
    # Tokens shared by all members (computed once). Every member keeps at least one token of its
    # own, whose logits give its first new token: a singleton's prefix is its prompt but the last token.
    prefix_len: int


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


def group_by_prefix(ids: Sequence[Sequence[int]], *, max_group: int, min_prefix: int = 8,
                    min_share: float = 0.5) -> list[PromptGroup]:
    """Runs of prompts, sorted by token ids, whose neighbours share at least ``min_share`` of the shorter
    prompt (and ``min_prefix`` tokens); at most ``max_group`` prompts each. Members are in sorted order.

    The share keeps a document's tasks together (the cloze task keeps three quarters of the document) while
    prompts that share only the chat template's header, such as another document's or the lower-cased
    ``case`` prompt, start their own group (a group is one batch's rows: unrelated lengths would pad).
    """
    order = sorted(range(len(ids)), key=lambda i: list(ids[i]))
    groups: list[PromptGroup] = []
    run: list[int] = []
    for k, i in enumerate(order):
        if run:
            prev = order[k - 1]
            lcp = common_prefix_len(ids[prev], ids[i])
            if len(run) < max_group and lcp >= max(min_prefix, min_share * min(len(ids[prev]), len(ids[i]))):
                run.append(i)
                continue
            groups.append(_close(run, ids))
        run = [i]
    if run:
        groups.append(_close(run, ids))
    return groups


def member_prefixes(ids: Sequence[Sequence[int]], group: PromptGroup, suffix_cap: int) -> list[tuple[int, int]]:
    """For each member (in order): tokens computed before the batched suffix pass, and how many of them are
    copied from the previous member's (its longest common prefix with it, as far as that one computed).

    A member computes what it shares with a neighbour before the suffix pass (so the next member can copy
    it) and keeps at most ``suffix_cap`` tokens of its own for the padded suffix pass; a member with nothing
    to share (a singleton) leaves one token, whose logits give its first new token.
    """
    ms = group.members
    lcps = [common_prefix_len(ids[ms[k - 1]], ids[ms[k]]) for k in range(1, len(ms))]
    lengths = []
    for k, m in enumerate(ms):
        n = len(ids[m])
        shared = max(lcps[k - 1] if k else 0, lcps[k] if k < len(lcps) else 0, group.prefix_len)
        lengths.append(max(0, min(n - 1, max(shared, n - suffix_cap))))
    return [(pl, min(lcps[k - 1], lengths[k - 1], pl) if k else 0) for k, pl in enumerate(lengths)]


def _close(members: list[int], ids: Sequence[Sequence[int]]) -> PromptGroup:
    shortest = min(len(ids[j]) for j in members)
    if len(members) == 1:
        return PromptGroup(members=tuple(members), prefix_len=shortest - 1)
    shared = min(common_prefix_len(ids[a], ids[b]) for a, b in zip(members, members[1:], strict=False))
    return PromptGroup(members=tuple(members), prefix_len=min(shared, shortest - 1))
