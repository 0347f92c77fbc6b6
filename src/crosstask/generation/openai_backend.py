"""Generation through any OpenAI-compatible endpoint (``crosstask serve``, vLLM, llama.cpp, a hosted API).

Chat requests go out from a bounded pool of threads (``concurrency``), each retried with
exponential backoff on connection errors, timeouts, 429 and 5xx; any other error is one line
with the server's message. Outputs go into the same :class:`GenerationCache` as the
transformers backend, one record as soon as each answer arrives (an interrupted run resumes),
keyed with ``backend: openai`` and the endpoint's URL and model name in the identity.

Refusal-only mode: the request streams with ``max_tokens`` = the stop window and is closed as
soon as the caller's rule says the verdict is final, so the output is cut where the
transformers backend stops (exactly so when the server streams one token per chunk, as
``crosstask serve`` and vLLM do).
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from crosstask.errors import CrosstaskError
from crosstask.generation.cache import GenerationCache
from crosstask.generation.settings import GenerationSettings

Messages = list[dict[str, str]]
_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Endpoint:
    """Where and how to call: the API root (``http://host:port/v1``), the model name, the key."""

    base_url: str
    model: str
    api_key: str | None = None
    concurrency: int = 8
    max_retries: int = 4
    timeout: float = 120.0
    backoff: float = 0.5  # first retry after about this many seconds, doubling

    def identity(self) -> dict[str, Any]:
        """What names the weights in the cache key (never the key)."""
        return {"backend": "openai", "base_url": self.base_url.rstrip("/"), "model": self.model}


def _body(endpoint: Endpoint, messages: Messages, settings: GenerationSettings, max_tokens: int,
          stream: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"model": endpoint.model, "messages": messages, "max_tokens": max_tokens,
                            "temperature": settings.temperature if settings.do_sample else 0.0}
    if settings.do_sample:
        body.update(top_p=settings.top_p, seed=settings.seed)
    if stream:
        body["stream"] = True
    return body


def _error_text(resp: Any) -> str:
    try:
        err = resp.json().get("error")
        msg = err.get("message") if isinstance(err, dict) else err
    except (ValueError, AttributeError):
        msg = None
    return str(msg or resp.text[:300] or resp.reason_phrase).replace("\n", " ")


def _one(client: Any, endpoint: Endpoint, messages: Messages, settings: GenerationSettings, max_tokens: int,
         stop_when: Callable[[str], bool] | None) -> str:
    url = endpoint.base_url.rstrip("/") + "/chat/completions"
    body = _body(endpoint, messages, settings, max_tokens, stream=stop_when is not None)
    if stop_when is None:
        resp = client.post(url, json=body)
        if resp.status_code != 200:
            raise _HTTPError(resp.status_code, _error_text(resp))
        return resp.json()["choices"][0]["message"].get("content") or ""
    text = ""
    with client.stream("POST", url, json=body) as resp:
        if resp.status_code != 200:
            resp.read()
            raise _HTTPError(resp.status_code, _error_text(resp))
        for line in resp.iter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            if "error" in chunk:
                raise _HTTPError(500, str(chunk["error"].get("message", chunk["error"])))
            for choice in chunk.get("choices") or []:
                text += (choice.get("delta") or {}).get("content") or ""
            if text and stop_when(text):
                break  # closing the stream tells the server to stop decoding this one
    return text


class _HTTPError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _with_retries(endpoint: Endpoint, call: Callable[[], str], what: str) -> str:
    import httpx

    for attempt in range(endpoint.max_retries + 1):
        try:
            return call()
        except _HTTPError as e:
            if e.status not in _RETRY_STATUS or attempt == endpoint.max_retries:
                raise CrosstaskError(f"{endpoint.base_url}: {what}: HTTP {e.status}: {e.message}") from None
        except (httpx.TransportError, json.JSONDecodeError, KeyError) as e:
            if attempt == endpoint.max_retries:
                raise CrosstaskError(f"{endpoint.base_url}: {what}: {type(e).__name__}: {e} "
                                     f"(after {endpoint.max_retries} retries)") from None
        time.sleep(endpoint.backoff * 2**attempt * (0.5 + random.random()))
    raise AssertionError("unreachable")


def generate_openai(
    endpoint: Endpoint,
    messages: Sequence[Messages],
    settings: GenerationSettings = GenerationSettings(),
    *,
    stop_when: Callable[[str], bool] | None = None,
    stop_key: str | None = None,
    stop_window: int | None = None,
    cache: GenerationCache | None = None,
    progress: bool = False,
    description: str = "requesting",
) -> list[str]:
    """The endpoint's answer to each chat, in input order (cached ones are not asked again)."""
    from crosstask.generation.engine import DEFAULT_STOP_WINDOW, cache_keys

    if stop_when is not None and cache is not None and not stop_key:
        raise CrosstaskError("a stop rule with a cache needs stop_key (its name and version), as it changes outputs")
    if stop_when is not None and stop_window is None:
        stop_window = DEFAULT_STOP_WINDOW
    window = stop_window if stop_when is not None else None
    max_tokens = settings.max_new_tokens if window is None else min(settings.max_new_tokens, window)
    keys = cache_keys(list(messages), settings, endpoint.identity(), stop=[stop_key, window] if stop_when else None,
                      backend="openai")
    results: list[str | None] = [cache.output(k) if cache is not None else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if not todo:
        return [r or "" for r in results]

    import httpx

    from crosstask.progress import progress_bar

    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    lock = threading.Lock()
    limits = httpx.Limits(max_connections=endpoint.concurrency, max_keepalive_connections=endpoint.concurrency)
    with (httpx.Client(headers=headers, timeout=endpoint.timeout, limits=limits) as client,
          ThreadPoolExecutor(max_workers=endpoint.concurrency) as pool,
          progress_bar(enabled=progress) as bar):
        task = bar.add_task(description, total=len(keys), completed=len(keys) - len(todo))

        def run(i: int) -> tuple[int, str]:
            text = _with_retries(endpoint, lambda: _one(client, endpoint, list(messages[i]), settings, max_tokens,
                                                        stop_when), f"request {i}")
            if cache is not None:
                with lock:
                    cache.put({"key": keys[i], "output": text})
            return i, text

        futures = [pool.submit(run, i) for i in todo]
        try:
            for f in as_completed(futures):
                i, text = f.result()
                results[i] = text
                bar.advance(task, 1)
        except BaseException:
            for f in futures:
                f.cancel()
            raise
    return [r if r is not None else "" for r in results]
