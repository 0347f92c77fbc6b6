"""Every shipped config validates and plans in a dry run, without loading a model or the hub."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from crosstask.errors import CrosstaskError
from crosstask.pipeline import load_config, run

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = ["demo", "smoke", "guards", "paper-llama2", "paper-llama1", "paper-data"]


@pytest.fixture
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not load a model")

    import crosstask.models.loader

    monkeypatch.setattr(crosstask.models.loader, "load_model", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _missing_files(cfg) -> list[str]:
    return [s.path for s in [*cfg.documents.sources, *cfg.documents.test_sources]
            if s.path is not None and s.kind != "hf" and not Path(s.path).exists()]


@pytest.mark.parametrize("name", SHIPPED)
def test_dry_run(name, tmp_path, no_models):
    missing = _missing_files(load_config(CONFIGS / f"{name}.yaml"))
    if missing:  # a clone without ../shared: the dry run names each missing file instead of planning
        with pytest.raises(CrosstaskError, match="no such file or folder") as e:
            run(CONFIGS / f"{name}.yaml", dry_run=True, output_dir=tmp_path / "out", console=Console(file=io.StringIO()))
        assert all(p in str(e.value) for p in missing) and not (tmp_path / "out").exists()
        return
    out = io.StringIO()
    result = run(CONFIGS / f"{name}.yaml", dry_run=True, output_dir=tmp_path / "out",
                 console=Console(file=out, width=160))
    assert result.dry_run and not (tmp_path / "out").exists()
    assert "documents" in out.getvalue()


def test_paper_grids_are_the_papers():
    for name, fmt in (("paper-llama2", "llama2"), ("paper-llama1", "alpaca")):
        cfg = load_config(CONFIGS / f"{name}.yaml")
        assert cfg.model.prompt_format == fmt and cfg.train.given() == {"preset": "paper"}
        from crosstask.pipeline.plan import expand_models

        models = expand_models(cfg)
        singles = {(m.recipe, m.n) for m in models if m.recipe.startswith("single:")}
        assert singles == {(f"single:{t}", n) for t in cfg.defense.tasks for n in (10, 50, 100, 200, 500, 1000, 2000)}
        assert sorted(m.n for m in models if m.recipe == "mixed") == [2, 10, 20, 100, 200, 400]
        assert cfg.defense.builder.safety.n == 100 and cfg.defense.builder.general.n == 20000
    assert load_config(CONFIGS / "paper-llama2.yaml").model.name == "meta-llama/Llama-2-7b-chat-hf"


def test_paper_data_reads_the_paper_format_folder():
    cfg = load_config(CONFIGS / "paper-data.yaml")
    spec = cfg.documents.test_sources[0]
    assert spec.kind == "paper-format" and Path(spec.path).name == "paper-format-sample"
    assert cfg.documents.evaluate_heldout is False
    assert Path(cfg.stages_dir) == (CONFIGS.parent / "runs" / "demo" / "stages").resolve()


def test_dry_run_names_every_missing_file_and_model_folder(tmp_path, no_models):
    cfg = load_config(CONFIGS / "demo.yaml", [f"documents.test_sources.0.path={tmp_path}/nope.jsonl",
                                              "documents.test_sources.0.kind=jsonl",
                                              f"model.name={tmp_path}/no-model/"])
    with pytest.raises(CrosstaskError) as e:
        run(cfg, dry_run=True, output_dir=tmp_path / "out", console=Console(file=io.StringIO()))
    msg = str(e.value)
    assert "documents.test_sources.0.path" in msg and "nope.jsonl: no such file or folder" in msg
    assert "model.name" in msg and "no such model folder" in msg and "\n" not in msg
    assert not (tmp_path / "out").exists()
