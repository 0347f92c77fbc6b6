"""Experiment trackers through accelerate: TensorBoard, offline, on the tiny model."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from crosstask.errors import CrosstaskError
from crosstask.training import preset, train


def test_tensorboard_gets_every_step_and_training_is_unchanged(mixed_ds, tmp_path):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    plain = train(preset("tiny", num_epochs=1), mixed_ds, tmp_path / "plain", progress=False)
    tracked = train(preset("tiny", num_epochs=1, report_to="tensorboard"), mixed_ds, tmp_path / "tb", progress=False)
    events = list((tmp_path / "tb" / "trackers").rglob("events.out.tfevents.*"))
    assert events, "no TensorBoard event file"
    acc = event_accumulator.EventAccumulator(str(events[0].parent))
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss")] == list(range(1, tracked.steps + 1))
    logged = [json.loads(line)["loss"] for line in (tmp_path / "tb" / "metrics.jsonl").read_text().splitlines()]
    assert [round(e.value, 4) for e in acc.Scalars("loss")] == [round(v, 4) for v in logged]
    # tracking observes; it changes nothing the run produces
    a = load_file(str(tmp_path / "plain" / "adapter_model.safetensors"))
    b = load_file(str(tmp_path / "tb" / "adapter_model.safetensors"))
    assert plain.steps == tracked.steps and all((a[k] == b[k]).all() for k in a)


def test_an_unknown_tracker_is_a_one_line_error():
    with pytest.raises(CrosstaskError, match="report_to"):
        preset("tiny", report_to="neptune")
