"""Load test of ``crosstask serve`` on loopback: N concurrent clients vs one request at a time.

    python benchmarks/serve_load.py [--clients 32] [--requests 200] [--max-tokens 64] [--sequential 16]

Starts ``crosstask serve`` (the embedded SmolLM2-135M-Instruct by default) on 127.0.0.1 in a
subprocess, then:

- one at a time: one client sends ``--sequential`` requests, each after the previous answer
  (what serving without batching gives; its throughput is steady, so a sample measures it);
- served: ``--clients`` clients send ``--requests`` requests between them, each client its next
  request as soon as it has an answer; the server batches whatever is waiting;
- disconnects: ``--disconnects`` clients open a stream and go away after the first chunk
  (during the served run); the server must stay up and answer everything else.

Requests: harmless news-like documents (about 150 words, from ``eval_throughput.py``) with the
paper's task instructions in turn, greedy, ``max_tokens`` new tokens. Reported: throughput
(requests/s), the speed-up, p50/p95 latency, requests lost (no 200 answer) and answered twice
(a response id or a request index seen twice), and whether the served answers equal the one-at-a-time
answers of the same requests (greedy decoding: they should, text for text).
"""

from __future__ import annotations

import argparse
import os
import queue
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_throughput import harmless_documents  # noqa: E402

from crosstask.document import Document  # noqa: E402
from crosstask.tasks import PAPER_TASKS, get_task  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def requests_of(n: int) -> list[list[dict[str, str]]]:
    docs = harmless_documents(max(1, (n + len(PAPER_TASKS) - 1) // len(PAPER_TASKS)))
    out = []
    for i in range(n):
        doc = Document(id=f"load-{i}", text=docs[i // len(PAPER_TASKS)], label="benign", source="benchmark")
        message, _ = get_task(PAPER_TASKS[i % len(PAPER_TASKS)]).user_message(doc)
        out.append([{"role": "user", "content": message}])
    return out


def start_server(model: str, port: int, args: argparse.Namespace) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from crosstask.cli.main import main; main()", "--threads", str(args.threads),
           "serve", "--model", model, "--port", str(port), "--batch-window-ms", str(args.window_ms),
           "--max-batch-size", str(args.clients), "--max-tokens", str(max(args.max_tokens, 16))]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"crosstask serve exited: {proc.stderr.read() if proc.stderr else ''}")
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("crosstask serve did not start in 10 minutes")


def ask(client: httpx.Client, base: str, model: str, messages, max_tokens: int) -> tuple[int, str, str, float]:
    t0 = time.perf_counter()
    r = client.post(f"{base}/chat/completions", json={"model": model, "messages": messages, "max_tokens": max_tokens,
                                                      "temperature": 0})
    dt = time.perf_counter() - t0
    if r.status_code != 200:
        return r.status_code, "", "", dt
    body = r.json()
    return 200, body["id"], body["choices"][0]["message"]["content"], dt


def batch_totals(root: str) -> tuple[float, float]:
    """(requests, batches) the server has decoded so far, from its Prometheus batch-size histogram."""
    text = httpx.get(f"{root}/metrics", timeout=10).text
    values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
              if line.startswith(("crosstask_batch_size_sum", "crosstask_batch_size_count"))}
    return values.get("crosstask_batch_size_sum", 0.0), values.get("crosstask_batch_size_count", 0.0)


def percentile(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s)) - 1))] if s else float("nan")


def one_at_a_time(base: str, model: str, reqs, max_tokens: int) -> tuple[float, list[float], list[str]]:
    lat, outs = [], []
    with httpx.Client(timeout=600) as client:
        t0 = time.perf_counter()
        for m in reqs:
            status, _, text, dt = ask(client, base, model, m, max_tokens)
            lat.append(dt)
            outs.append(text if status == 200 else f"<HTTP {status}>")
        return time.perf_counter() - t0, lat, outs


def served(base: str, model: str, reqs, max_tokens: int, clients: int, disconnects: int):
    todo: queue.Queue[int] = queue.Queue()
    for i in range(len(reqs)):
        todo.put(i)
    answers: dict[int, list[tuple[int, str, str, float]]] = {}
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client(timeout=1200) as client:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                try:
                    res = ask(client, base, model, reqs[i], max_tokens)
                except httpx.HTTPError as e:
                    res = (-1, "", f"<{type(e).__name__}>", 0.0)
                with lock:
                    answers.setdefault(i, []).append(res)

    def go_away(k: int) -> None:
        time.sleep(0.5 + k)
        with httpx.stream("POST", f"{base}/chat/completions", timeout=600,
                          json={"model": model, "messages": reqs[k % len(reqs)], "max_tokens": max_tokens,
                                "temperature": 0, "stream": True}) as r:
            for _ in r.iter_lines():
                break  # first chunk, then the client is gone

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    threads += [threading.Thread(target=go_away, args=(k,)) for k in range(disconnects)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - t0, answers


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--sequential", type=int, default=16, help="requests sent one at a time (the baseline)")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--window-ms", type=float, default=50)
    ap.add_argument("--disconnects", type=int, default=4)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("OMP_NUM_THREADS", "1")))
    args = ap.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}/v1"
    reqs = requests_of(args.requests)
    proc = start_server(args.model, port, args)
    try:
        model = httpx.get(f"{base}/models", timeout=10).json()["data"][0]["id"]
        ask(httpx.Client(timeout=600), base, model, reqs[0], 4)  # warm-up
        print(f"one at a time: {args.sequential} requests ...", file=sys.stderr, flush=True)
        seq_s, seq_lat, seq_out = one_at_a_time(base, model, reqs[: args.sequential], args.max_tokens)
        print(f"  {seq_s:.1f} s", file=sys.stderr)
        print(f"served: {args.requests} requests from {args.clients} clients ...", file=sys.stderr, flush=True)
        before = batch_totals(base.removesuffix("/v1"))
        srv_s, answers = served(base, model, reqs, args.max_tokens, args.clients, args.disconnects)
        print(f"  {srv_s:.1f} s", file=sys.stderr)
        up = httpx.get(f"{base.removesuffix('/v1')}/health", timeout=10).status_code == 200
        after = batch_totals(base.removesuffix("/v1"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    ok = {i: a for i, a in answers.items() if any(r[0] == 200 for r in a)}
    lost = args.requests - len(ok)
    ids = [r[1] for a in answers.values() for r in a if r[0] == 200]
    twice = sum(len(a) - 1 for a in answers.values()) + (len(ids) - len(set(ids)))
    lat = [r[3] for a in ok.values() for r in a if r[0] == 200]
    same = sum(ok[i][0][2] == seq_out[i] for i in range(min(args.sequential, args.requests)) if i in ok)
    seq_tp, srv_tp = args.sequential / seq_s, len(ok) / srv_s
    bsum, bcount = after[0] - before[0], after[1] - before[1]
    print(f"\n`python benchmarks/serve_load.py --clients {args.clients} --requests {args.requests} "
          f"--sequential {args.sequential} --max-tokens {args.max_tokens}` (model {model}, "
          f"{sum(len(m[0]['content']) for m in reqs) // len(reqs)} characters per request on average)\n")
    print("| run | requests | seconds | requests/s | speed-up | p50 latency | p95 latency |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| one at a time | {args.sequential} | {seq_s:.1f} | {seq_tp:.3f} | 1.0x | "
          f"{statistics.median(seq_lat):.2f} s | {percentile(seq_lat, 95):.2f} s |")
    print(f"| served, {args.clients} clients | {len(ok)} | {srv_s:.1f} | {srv_tp:.3f} | **{srv_tp / seq_tp:.1f}x** | "
          f"{statistics.median(lat):.2f} s | {percentile(lat, 95):.2f} s |")
    print(f"\nlost: {lost}; answered twice: {twice}; mean batch while served: {bsum / max(bcount, 1):.1f} requests; "
          f"{args.disconnects} clients went away mid-stream, server up after: {up}; served answers equal to "
          f"one-at-a-time answers: {same}/{min(args.sequential, args.requests)}")


if __name__ == "__main__":
    main()
