"""Every shipped config validates and plans in a dry run, without loading a model or the hub."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from crosstask.errors import CrosstaskError
from crosstask.pipeline import load_config, run

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHIPPED = ["demo", "smoke", "guards", "demo-guards", "paper-llama2", "paper-llama1", "paper-data", "generalize",
           "ceiling-beavertails", "transfer"]
PAPER = ["paper-llama2", "paper-llama1", "paper-data", "generalize", "ceiling-beavertails"]  # read $CROSSTASK_DATA


@pytest.fixture
def no_models(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not load a model")

    import crosstask.models.loader

    monkeypatch.setattr(crosstask.models.loader, "load_model", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def _missing_files(cfg) -> list[str]:
    extras = [x.path for x in (cfg.defense.builder.safety, cfg.defense.builder.general) if x is not None]
    return [p for p in [*[s.path for s in [*cfg.documents.sources, *cfg.documents.test_sources] if s.kind != "hf"],
                        *extras] if p is not None and not Path(p).exists()]


def test_every_shipped_config_is_dry_run():
    assert sorted(p.stem for p in CONFIGS.glob("*.yaml")) == sorted(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_dry_run(name, tmp_path, no_models):
    missing = _missing_files(load_config(CONFIGS / f"{name}.yaml"))
    if missing:  # a clone without ../shared: the dry run names each missing file instead of planning
        with pytest.raises(CrosstaskError, match="no such file") as e:
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
    assert cfg.stages_dir is None  # the demo's stages are found in the shared store


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


@pytest.mark.parametrize("name", PAPER)
def test_data_paths_come_from_crosstask_data(name, tmp_path, monkeypatch, no_models, capsys):
    monkeypatch.setenv("CROSSTASK_DATA", str(tmp_path / "data"))
    cfg = load_config(CONFIGS / f"{name}.yaml")
    paths = [s.path for s in [*cfg.documents.sources, *cfg.documents.test_sources] if s.path and s.kind != "hf"]
    paths += [x.path for x in (cfg.defense.builder.safety, cfg.defense.builder.general) if x is not None]
    assert paths and all(p.startswith(str(tmp_path / "data")) for p in paths), paths
    header = (CONFIGS / f"{name}.yaml").read_text().split("\nname:")[0]
    assert f"crosstask run configs/{name}.yaml" in header and "CROSSTASK_DATA" in header  # a working example
    # without the data, the dry run names the missing path and exits non-zero
    from crosstask.cli.main import main

    with pytest.raises(SystemExit) as e:
        main(["run", str(CONFIGS / f"{name}.yaml"), "--dry-run", "--out", str(tmp_path / "out")])
    assert e.value.code == 2 and not (tmp_path / "out").exists()
    err = " ".join(capsys.readouterr().err.split())
    assert "no such file" in err and str(tmp_path / "data") in err


def test_a_relative_crosstask_data_is_taken_from_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CROSSTASK_DATA", "mydata")
    cfg = load_config(CONFIGS / "generalize.yaml")
    assert cfg.documents.test_sources[2].path == str(tmp_path / "mydata" / "beavertails-long-1000.json")


def test_an_unset_variable_without_a_default_is_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.delenv("MY_DATA", raising=False)
    cfg = tmp_path / "x.yaml"
    cfg.write_text('name: x\ndocuments: {sources: [{kind: documents, path: "${MY_DATA}/d.jsonl"}]}\n'
                   "models: [{recipe: none}]\n")
    with pytest.raises(CrosstaskError, match=r"path: \$\{MY_DATA\}/d.jsonl: \$\{MY_DATA\} is not set"):
        load_config(cfg)
    monkeypatch.setenv("MY_DATA", "/data")
    assert load_config(cfg).documents.sources[0].path == "/data/d.jsonl"


def test_the_paper_data_config_reads_crosstask_data(tmp_path, monkeypatch):
    from crosstask.data.defense.defense_config import read_config_mapping

    monkeypatch.setenv("CROSSTASK_DATA", str(tmp_path))
    settings = read_config_mapping(CONFIGS / "data" / "paper-mixed.yaml")
    assert settings["safety"]["path"] == str(tmp_path / "safety-tuned-llamas" / "safety_only_data_Instructions.json")
