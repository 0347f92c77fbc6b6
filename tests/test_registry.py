"""The one registry type: lazy "module:attr" targets, one-line errors; every built-in resolves."""

from __future__ import annotations

import sys

import pytest

from crosstask.errors import CrosstaskError
from crosstask.registry import Registry


def test_lazy_targets_are_imported_on_first_use_only(monkeypatch):
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    reg: Registry[object] = Registry("thing")
    reg.register("hls", "colorsys:rgb_to_hls")
    assert "colorsys" not in sys.modules and reg.names() == ["hls"] and "hls" in reg
    import colorsys

    assert reg.get("hls") is colorsys.rgb_to_hls


def test_unknown_duplicate_and_malformed_entries_are_one_line_errors():
    reg: Registry[int] = Registry("widget")
    reg.register("b", 2)
    reg.register("a", 1)

    @reg.register("c")
    def _c() -> int:
        return 3

    assert reg.names() == ["b", "a", "c"] and reg.get("c") is _c
    with pytest.raises(CrosstaskError, match=r"^unknown widget 'z'; known widgets: a, b, c$"):
        reg.get("z")
    with pytest.raises(CrosstaskError, match="widget 'a' is already registered"):
        reg.register("a", 5)
    reg.register("a", 5, overwrite=True)
    assert reg.get("a") == 5
    with pytest.raises(CrosstaskError, match="must be 'module:attribute'"):
        reg.register("d", "no.colon")


def test_every_builtin_entry_of_every_registry_resolves():
    from crosstask.data.sources.registry import SOURCES
    from crosstask.evaluation.task_metrics import METRICS
    from crosstask.judges.base import JUDGES
    from crosstask.models.prompt_formats import PROMPT_FORMATS
    from crosstask.tasks.registry import TASKS
    from crosstask.training.train_config import PRESETS

    for reg in (SOURCES, METRICS, JUDGES, PROMPT_FORMATS, TASKS, PRESETS):
        assert len(reg) > 0
        for name in reg:
            assert reg.get(name) is not None, (reg.kind, name)
    assert all(TASKS.get(n).name == n for n in TASKS)
    assert set(SOURCES.names()) >= {"advbench", "paper-format", "jsonl", "documents", "harvest", "generated-news"}
