"""Prometheus metrics of one server (its own registry, so tests can run several in a process)."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The *_created series double every counter for no use here.
disable_created_metrics()


class ServerMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("crosstask_requests", "Requests answered, by endpoint and HTTP status.",
                                ["endpoint", "status"], registry=r)
        self.latency = Histogram("crosstask_request_latency_seconds", "Time from request to last token.",
                                 ["endpoint"], registry=r,
                                 buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160))
        self.batch_size = Histogram("crosstask_batch_size", "Requests decoded together per batch.", registry=r,
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128))
        self.prompt_tokens = Counter("crosstask_prompt_tokens", "Prompt tokens processed.", registry=r)
        self.completion_tokens = Counter("crosstask_completion_tokens", "Tokens generated.", registry=r)
        self.responses = Counter("crosstask_responses", "Output guard: responses by task and refusal-judge verdict "
                                 "(refused, processed, off-task).", ["task", "verdict"], registry=r)
        self.guard_refusals = Counter("crosstask_input_guard_refusals", "Input guard: requests refused before "
                                      "generation, by task.", ["task"], registry=r)
        self.disconnects = Counter("crosstask_client_disconnects", "Streams whose client went away before the end.",
                                   registry=r)
        self.queue_depth = Gauge("crosstask_queue_depth", "Requests waiting for the batcher.", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
