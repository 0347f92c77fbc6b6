"""Group tokenized prompts by their longest common token prefix.

In the paper's prompts the instruction follows the document, so the tasks of one
document share the chat template's header and the document's tokens. Comparing token
ids (not characters) makes the grouping robust to BPE merges at the joiner: the shared
prefix simply ends a token earlier.

The decode loop (:mod:`crosstask.generation.decode`) prefills a batch in two steps: each
group's prefix alone (no padding), then every member's own suffix as one padded batch. Its
cost is about ``sum of prefixes + prompts x longest suffix``, so a group saves a prefix per
extra member but must not lengthen the suffix pass: a prompt that shares only the template header (``case`` lower-cases the
document) is cheaper alone than with a 180-token suffix in every row.
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


def group_by_prefix(ids: Sequence[Sequence[int]], *, max_group: int, min_prefix: int = 8) -> list[PromptGroup]:
    """The grouping with the least estimated prefill work, over caps on the members' own suffixes."""
    longest = max((len(x) for x in ids), default=1)
    caps = sorted({1, *(c for c in (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024) if c < longest)})
    # Prompts sorted by token ids: prompts with long common prefixes are neighbours (sorted once).
    order = sorted(range(len(ids)), key=lambda i: list(ids[i]))
    lcp = [0] + [common_prefix_len(ids[order[k - 1]], ids[order[k]]) for k in range(1, len(order))]
    best: tuple[int, list[PromptGroup]] | None = None
    for cap in caps:
        groups = _group_with_suffix_cap(ids, order, lcp, max_group=max_group, max_suffix=cap, min_prefix=min_prefix)
        cost = prefill_cost(ids, groups)
        if best is None or cost < best[0]:
            best = (cost, groups)
    return best[1] if best is not None else []


def prefill_cost(ids: Sequence[Sequence[int]], groups: Sequence[PromptGroup]) -> int:
    """Token positions the two prefill passes compute: each prefix alone (no padding), then every member's
    suffix in one padded batch (as if all groups shared one batch)."""
    if not groups:
        return 0
    suffix = max(len(ids[m]) - g.prefix_len for g in groups for m in g.members)
    return sum(g.prefix_len for g in groups) + sum(len(g.members) for g in groups) * suffix


def _group_with_suffix_cap(
    ids: Sequence[Sequence[int]], order: list[int], lcp: list[int], *, max_group: int, max_suffix: int,
    min_prefix: int,
) -> list[PromptGroup]:
    """Fewest groups (then fewest prefix tokens) of at most ``max_group`` prompts whose own suffixes
    are at most ``max_suffix`` tokens.

    ``order`` sorts the prompts by token ids and ``lcp[k]`` is the common prefix of sorted
    neighbours k-1 and k; the best partition into runs of neighbours comes from dynamic
    programming over that order (a greedy pass lets one header-only prompt pull the next
    document's tasks into a poor group).
    """
    n = len(order)
    best: list[tuple[int, int]] = [(0, 0)] + [(n + 1, 0)] * n  # (groups, prefix tokens) of the first j
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        last = len(ids[order[j - 1]])
        best[j] = (best[j - 1][0] + 1, best[j - 1][1] + last - 1)  # the j-th prompt alone
        cut[j] = j - 1
        shared, longest = last - 1, last
        for i in range(j - 2, max(j - max_group, 0) - 1, -1):  # the group is sorted[i:j]
            shared = min(shared, lcp[i + 1], len(ids[order[i]]) - 1)
            longest = max(longest, len(ids[order[i]]))
            if shared < min_prefix or longest - shared > max_suffix:
                break
            cand = (best[i][0] + 1, best[i][1] + shared)
            if cand < best[j]:
                best[j], cut[j] = cand, i
    groups: list[PromptGroup] = []
    j = n
    while j > 0:
        i = cut[j]
        groups.append(_close(order[i:j], min((lcp[k] for k in range(i + 1, j)), default=0), ids))
        j = i
    return groups[::-1]


def _close(members: list[int], shared: int, ids: Sequence[Sequence[int]]) -> PromptGroup:
    shortest = min(len(ids[j]) for j in members)
    return PromptGroup(members=tuple(members), prefix_len=shortest - 1 if len(members) == 1 else min(shared, shortest - 1))
