"""Data order, optimizer steps and padding-free micro-batches.

One optimizer step takes ``batch_size`` examples in seeded order. With ``packing`` they are
packed first-fit decreasing into rows of at most ``cutoff_len`` tokens, several examples back to
back; the position ids restart at 0 for each example (and for the padding at the end of a row)
and no attention mask is passed, so transformers builds a block-diagonal causal mask and
attention never crosses an example boundary. Rows are grouped into micro-batches of at most
``max_tokens`` tokens. Without packing a row holds one padded example (grouped by length).

The micro-batches of a step are dealt round-robin to the processes; a process short of one gets
an empty micro-batch (weight 0), so every process runs the same number of forward/backward
passes, as DDP, FSDP and ZeRO require.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from crosstask.seeding import rng
from crosstask.training.data import IGNORE_INDEX, TokenizedExample
from crosstask.training.losses import Group


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The example order of one epoch: a seeded shuffle, independent of everything else."""
    order = list(range(n))
    rng(seed, "data-order", epoch).shuffle(order)
    return order


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)


def step_indices(n: int, seed: int, batch_size: int, step: int) -> list[int]:
    """Indices of the examples of global optimizer step ``step`` (0-based); resuming only needs the step number."""
    epoch, k = divmod(step, steps_per_epoch(n, batch_size))
    return epoch_order(n, seed, epoch)[k * batch_size : (k + 1) * batch_size]


def step_examples(examples: Sequence[TokenizedExample], seed: int, batch_size: int, step: int) -> list[TokenizedExample]:
    """The examples of global optimizer step ``step``."""
    return [examples[i] for i in step_indices(len(examples), seed, batch_size, step)]


Row = list[TokenizedExample]  # examples laid back to back in one sequence of a micro-batch


def plan_micro_batches(
    examples: Sequence[TokenizedExample], max_tokens: int, packing: bool, row_len: int | None = None
) -> list[list[Row]]:
    """Group a step's examples into micro-batches of rows, at most ``max_tokens`` tokens each (deterministic).

    With packing, examples fill rows of ``row_len`` tokens first-fit decreasing (a short row costs
    attention O(row_len^2), not O(max_tokens^2)); rows of similar length then share a micro-batch.
    Without packing, every row holds one example.
    """
    row_len = min(row_len or max_tokens, max_tokens)
    ordered = sorted(examples, key=lambda e: (-len(e), e.id))
    rows: list[Row] = []
    if packing:
        room: list[int] = []
        for ex in ordered:
            for j, r in enumerate(room):
                if len(ex) <= r:
                    rows[j].append(ex)
                    room[j] -= len(ex)
                    break
            else:
                rows.append([ex])
                room.append(row_len - len(ex))
        rows.sort(key=lambda row: -sum(len(e) for e in row))
    else:
        rows = [[ex] for ex in ordered]
    # Longest first, so each micro-batch pads to its first row.
    micro: list[list[Row]] = []
    for row in rows:
        if micro and (len(micro[-1]) + 1) * sum(len(e) for e in micro[-1][0]) <= max_tokens:
            micro[-1].append(row)
        else:
            micro.append([row])
    return micro


def step_group_counts(examples: Sequence[TokenizedExample]) -> dict[Group, int]:
    """Learned-token count of each (task, kind) group in a step (the label of position 0 is never predicted)."""
    counts: dict[Group, int] = {}
    for ex in examples:
        n = sum(1 for lab in ex.labels[1:] if lab != IGNORE_INDEX)
        counts[(ex.task, ex.kind)] = counts.get((ex.task, ex.kind), 0) + n
    return counts


@dataclass
class MicroBatch:
    tensors: dict[str, torch.Tensor | None]  # input_ids, position_ids, attention_mask, keep, targets, weights, groups
    n_tokens: int  # real (non-pad) tokens
    n_examples: int


def _example_arrays(ex: TokenizedExample) -> tuple[list[bool], list[int]]:
    """keep[p]: position p predicts a learned token; the targets in position order."""
    keep = [lab != IGNORE_INDEX for lab in ex.labels[1:]] + [False]
    targets = [lab for lab in ex.labels[1:] if lab != IGNORE_INDEX]
    return keep, targets


def collate(
    micro: Sequence[Row],
    *,
    packing: bool,
    pad_id: int,
    group_index: Mapping[Group, int],
    weights: Mapping[Group, float],
) -> MicroBatch:
    """Tensors for one micro-batch; an empty one is a single pad token carrying no loss."""
    if not micro:
        one = torch.tensor([[pad_id]])
        return MicroBatch(
            {"input_ids": one, "position_ids": torch.zeros_like(one), "attention_mask": None,
             "keep": torch.zeros_like(one, dtype=torch.bool), "targets": torch.zeros(0, dtype=torch.long),
             "weights": torch.zeros(0), "groups": torch.zeros(0, dtype=torch.long)},
            n_tokens=0, n_examples=0,
        )
    rows = list(micro)
    width = max(sum(len(e) for e in row) for row in rows)
    ids, pos, keep, mask = [], [], [], []
    targets: list[int] = []
    w: list[float] = []
    groups: list[int] = []
    for row in rows:
        r_ids: list[int] = []
        r_pos: list[int] = []
        r_keep: list[bool] = []
        for ex in row:
            k, t = _example_arrays(ex)
            r_ids += ex.input_ids
            r_pos += list(range(len(ex)))
            r_keep += k
            targets += t
            g = (ex.task, ex.kind)
            w += [weights[g]] * len(t)
            groups += [group_index[g]] * len(t)
        pad = width - len(r_ids)
        mask.append([1] * len(r_ids) + [0] * pad)
        ids.append(r_ids + [pad_id] * pad)
        # Packed rows: the padding is one more segment (positions restart), so no mask is needed.
        pad_pos = range(pad) if packing else range(len(r_pos), len(r_pos) + pad)
        pos.append(r_pos + list(pad_pos))
        keep.append(r_keep + [False] * pad)
    tensors: dict[str, torch.Tensor | None] = {
        "input_ids": torch.tensor(ids),
        "position_ids": torch.tensor(pos),
        # Packed rows have no padding: no mask, so transformers derives the block-diagonal one.
        "attention_mask": None if packing else torch.tensor(mask),
        "keep": torch.tensor(keep),
        "targets": torch.tensor(targets, dtype=torch.long),
        "weights": torch.tensor(w, dtype=torch.float32),
        "groups": torch.tensor(groups, dtype=torch.long),
    }
    return MicroBatch(tensors, n_tokens=sum(len(e) for row in rows for e in row),
                      n_examples=sum(len(row) for row in rows))


def shard_micro_batches(plan: list[list[Row]], num_processes: int, rank: int) -> list[list[Row]]:
    """This process's micro-batches: round-robin, padded with empty ones to the same count everywhere."""
    per_proc = math.ceil(len(plan) / num_processes)
    padded = plan + [[] for _ in range(per_proc * num_processes - len(plan))]
    return padded[rank::num_processes]
