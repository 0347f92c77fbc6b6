"""``crosstask serve`` in a subprocess on 127.0.0.1, spoken to with the official ``openai`` client,
and ``crosstask eval --backend openai`` against it: the same outputs as in-process evaluation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from placeholders import placeholder_docs

openai = pytest.importorskip("openai")
httpx = pytest.importorskip("httpx")

SUMMARIZE = "Summarize the above article briefly in 3 sentences."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _crosstask(*args: str) -> list[str]:
    return [sys.executable, "-c", "from crosstask.cli.main import main; main()", *args]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A served tiny model with a request log; yields (base_url, log path)."""
    tmp = tmp_path_factory.mktemp("serve")
    port, log = _free_port(), tmp / "requests.jsonl"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        _crosstask("--threads", "1", "serve", "--model", "tiny-random", "--port", str(port), "--request-log", str(log),
                   "--batch-window-ms", "30", "--max-tokens", "64", "--max-input-tokens", "400"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"crosstask serve did not start: {proc.stdout.read() if proc.stdout else ''}")
        time.sleep(0.3)
    yield base, log
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def _client(base: str):
    return openai.OpenAI(base_url=base, api_key="unused", max_retries=0, timeout=60)


def _doc(i: int) -> str:
    return placeholder_docs(i + 1)[i].text


def test_chat_stream_models_and_errors(server):
    base, log = server
    c = _client(base)
    assert [m.id for m in c.models.list().data] == ["tiny-random"]
    messages = [{"role": "user", "content": f"{_doc(0)}\n{SUMMARIZE}"}]
    full = c.chat.completions.create(model="tiny-random", messages=messages, max_tokens=12, temperature=0)
    assert full.choices[0].finish_reason in ("stop", "length")
    assert full.usage.completion_tokens <= 12 and full.usage.prompt_tokens > 0
    chunks = list(c.chat.completions.create(model="tiny-random", messages=messages, max_tokens=12, temperature=0,
                                            stream=True))
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert streamed == full.choices[0].message.content  # greedy: streaming changes nothing
    assert chunks[-1].choices[0].finish_reason == full.choices[0].finish_reason

    with pytest.raises(openai.BadRequestError, match="unsupported parameter 'logprobs'"):
        c.chat.completions.create(model="tiny-random", messages=messages, logprobs=True)
    with pytest.raises(openai.BadRequestError, match="budget"):
        c.chat.completions.create(model="tiny-random", messages=[{"role": "user", "content": "word " * 600}],
                                  max_tokens=4)
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="another-model", messages=messages, max_tokens=4)
    bad = httpx.post(f"{base}/chat/completions", content=b"{not json", timeout=10)
    assert bad.status_code == 400 and "not valid JSON" in bad.json()["error"]["message"]

    comp = c.completions.create(model="tiny-random", prompt="Placeholder text", max_tokens=5, temperature=0)
    assert comp.choices[0].finish_reason in ("stop", "length")

    # the request log holds hashes and verdicts, not the document
    recs = [json.loads(x) for x in Path(log).read_text().splitlines()]
    assert recs and all("prompt_sha256" in r and "verdict" in r for r in recs)
    assert "town fair" not in Path(log).read_text()
    assert recs[0]["task"] == "summarize"
    metrics = httpx.get(base.removesuffix("/v1") + "/metrics", timeout=10).text
    assert 'crosstask_responses_total{task="summarize"' in metrics


def test_concurrent_requests_are_batched_and_a_disconnect_does_not_hurt(server):
    base, _ = server
    c = _client(base)
    prompts = [[{"role": "user", "content": f"{_doc(i)}\n{SUMMARIZE}"}] for i in range(6)]
    alone = [c.chat.completions.create(model="tiny-random", messages=m, max_tokens=10, temperature=0)
             .choices[0].message.content for m in prompts]

    # a client that goes away mid-stream
    with httpx.stream("POST", f"{base}/chat/completions", timeout=30,
                      json={"model": "tiny-random", "messages": prompts[0], "max_tokens": 64, "stream": True}) as r:
        next(r.iter_lines())
    together: list[str | None] = [None] * len(prompts)

    def ask(i: int) -> None:
        together[i] = c.chat.completions.create(model="tiny-random", messages=prompts[i], max_tokens=10,
                                                temperature=0).choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(prompts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert together == alone  # batched greedy = one at a time, nothing lost or swapped
    metrics = httpx.get(base.removesuffix("/v1") + "/metrics", timeout=10).text
    value = {line.split(" ")[0]: float(line.split(" ")[1]) for line in metrics.splitlines()
             if line.startswith("crosstask_batch_size")}
    assert value["crosstask_batch_size_count"] > value['crosstask_batch_size_bucket{le="1.0"}']  # some batch held > 1
    assert httpx.get(base.removesuffix("/v1") + "/health", timeout=10).status_code == 200


def test_eval_backend_openai_equals_in_process(server, tmp_path):
    base, log = server
    mal, ben = tmp_path / "mal.jsonl", tmp_path / "ben.jsonl"
    for path, label in ((mal, "malicious"), (ben, "benign")):
        path.write_text("".join(json.dumps(d.to_dict()) + "\n" for d in placeholder_docs(3, label)), encoding="utf-8")
    common = ["eval", "run", "--model", "tiny-random", "--malicious", f"documents:{mal}", "--benign",
              f"documents:{ben}", "--tasks", "summarize,case", "--max-new-tokens", "8", "--refusal-only-tokens", "6"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    local = subprocess.run(_crosstask(*common, "--out", str(tmp_path / "local")), env=env, capture_output=True,
                           text=True, timeout=300)
    assert local.returncode == 0, local.stderr
    remote = subprocess.run(_crosstask(*common, "--backend", "openai", "--base-url", base, "--concurrency", "4",
                                       "--out", str(tmp_path / "remote")), env=env, capture_output=True, text=True,
                            timeout=300)
    assert remote.returncode == 0, remote.stderr

    def outputs(folder: str) -> dict[str, str]:
        return {r["id"]: r["output"] for r in map(json.loads, (tmp_path / folder / "samples.jsonl").open())}

    assert outputs("remote") == outputs("local")
    # resume: a second run is answered from the generation cache, asking the server nothing
    served = len(Path(log).read_text().splitlines())
    again = subprocess.run(_crosstask(*common, "--backend", "openai", "--base-url", base, "--out",
                                      str(tmp_path / "remote")), env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert len(Path(log).read_text().splitlines()) == served
    # another URL is another cache identity; nobody there: one line, after the retries
    gone = subprocess.run(_crosstask(*common, "--backend", "openai", "--base-url", "http://127.0.0.1:9/v1",
                                     "--max-retries", "1", "--out", str(tmp_path / "remote")), env=env,
                          capture_output=True, text=True, timeout=300)
    assert gone.returncode != 0 and "127.0.0.1:9" in gone.stderr
