"""The app in process (FastAPI's TestClient) on the tiny model: per-request limits inside one batch,
stop strings, seeded sampling, truncation, and the request body checks."""

from __future__ import annotations

import threading

import pytest
from placeholders import placeholder_docs

pytest.importorskip("fastapi")

SUMMARIZE = "Summarize the above article briefly in 3 sentences."


@pytest.fixture(scope="module")
def client(tiny):
    from fastapi.testclient import TestClient

    from crosstask.serving import build_app

    app = build_app({"model": "tiny-random", "batch_window_ms": 200, "max_input_tokens": 300,
                     "truncate": "error", "output_guard": True}, loaded=tiny)
    with TestClient(app) as c:
        yield c


def _chat(client, content: str, **params):
    return client.post("/v1/chat/completions", json={"model": "tiny-random", "temperature": 0,
                                                      "messages": [{"role": "user", "content": content}], **params})


def test_each_request_keeps_its_own_max_tokens_in_one_batch(client):
    docs = [d.text + "\n" + SUMMARIZE for d in placeholder_docs(3)]
    alone = [_chat(client, d, max_tokens=n).json() for d, n in zip(docs, (2, 5, 9), strict=True)]
    out: list = [None] * 3

    def ask(i: int) -> None:
        out[i] = _chat(client, docs[i], max_tokens=(2, 5, 9)[i]).json()

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for a, b, n in zip(alone, out, (2, 5, 9), strict=True):
        assert b["choices"][0]["message"]["content"] == a["choices"][0]["message"]["content"]
        assert b["usage"]["completion_tokens"] <= n


def test_stop_strings_cut_the_answer(client):
    full = _chat(client, "Placeholder text", max_tokens=12).json()["choices"][0]["message"]["content"]
    if len(full) < 4:
        pytest.skip("the tiny model stopped at once")
    stop = full[2:4]
    cut = _chat(client, "Placeholder text", max_tokens=12, stop=[stop]).json()["choices"][0]
    assert cut["message"]["content"] == full[: full.find(stop)] and cut["finish_reason"] == "stop"


def test_sampling_with_a_seed_repeats(client):
    a = _chat(client, "Placeholder text", max_tokens=8, temperature=0.9, seed=3).json()
    b = _chat(client, "Placeholder text", max_tokens=8, temperature=0.9, seed=3).json()
    assert a["choices"][0]["message"]["content"] == b["choices"][0]["message"]["content"]


@pytest.mark.parametrize(("body", "message"), [
    ({"messages": [{"role": "user", "content": "x"}], "n": 2}, "n"),
    ({"messages": [{"role": "user", "content": "x"}], "frequency_penalty": 1}, "unsupported parameter"),
    ({"messages": [{"role": "user", "content": "x"}], "colour": "red"}, "unknown parameter 'colour'"),
    ({"messages": [{"role": "tool", "content": "x"}]}, "messages.0.role"),
    ({"messages": []}, "messages"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}, "max_tokens"),
    ({"messages": [{"role": "user", "content": "x"}], "max_tokens": 100000}, "over this server's limit"),
    ({"messages": [{"role": "user", "content": "word " * 400}], "max_tokens": 4}, "budget"),
])
def test_bad_requests_are_400s_naming_the_key(client, body, message):
    r = client.post("/v1/chat/completions", json={"model": "tiny-random", **body})
    assert r.status_code == 400, r.text
    assert message in r.json()["error"]["message"] and r.json()["error"]["type"] == "invalid_request_error"


def test_middle_truncation_when_configured(tiny):
    from fastapi.testclient import TestClient

    from crosstask.serving import build_app

    app = build_app({"model": "tiny-random", "max_input_tokens": 120, "truncate": "middle"}, loaded=tiny)
    with TestClient(app) as c:
        r = c.post("/v1/chat/completions", json={"model": "tiny-random", "max_tokens": 3, "temperature": 0,
                                                  "messages": [{"role": "user", "content": "word " * 400 + SUMMARIZE}]})
    assert r.status_code == 200 and r.json()["usage"]["prompt_tokens"] <= 120
