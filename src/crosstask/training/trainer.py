"""The training recipe: accelerate for devices and distribution, our own batching, loss and checkpoints.

``TrainRecipe`` splits a run torchtune style into ``setup()``, ``step()``, ``checkpoint()`` and
``train()`` (the loop); ``train()`` below is the one-call form.

The same code runs on one CPU, one GPU, or under ``accelerate launch`` with DDP, FSDP or ZeRO:
each optimizer step packs its examples into micro-batches, deals them to the processes, and
accumulates gradients with synchronisation on the last micro-batch only.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from crosstask.errors import CrosstaskError
from crosstask.io import check_writable, content_hash, read_json, write_json
from crosstask.models import bf16_is_fast
from crosstask.seeding import set_seed
from crosstask.training import batching
from crosstask.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from crosstask.training.data import TrainingData, tokenize_dataset
from crosstask.training.losses import components, forward_token_nll, group_sums, token_weights
from crosstask.training.metrics_log import log_metrics, make_progress, plot_losses, truncate_metrics
from crosstask.training.model_setup import count_parameters, prepare_model
from crosstask.training.train_config import TrainConfig
from crosstask.version import __version__

log = logging.getLogger(__name__)
META_FILE = "crosstask_train.json"
# Options that may change between an interrupted run and its resumption.
_RUN_CONTROL = {"save_steps", "save_total_limit", "logging_steps", "divergence_factor", "report_to"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


class TrainingDiverged(CrosstaskError):
    """The loss became NaN/inf or exploded; the last good state is kept as a checkpoint."""


@dataclass
class TrainResult:
    out_dir: Path
    steps: int
    total_steps: int
    final_loss: float | None
    train_seconds: float
    tokens_per_second: float
    n_examples: int
    n_dropped: int
    resumed_from: int | None
    interrupted: bool = False
    is_main_process: bool = True  # False on the other ranks of a distributed run


def resolve_mixed_precision(setting: str) -> str:
    if setting != "auto":
        return setting
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if bf16_is_fast() else "no"


TRACKERS_DIR = "trackers"


def _make_accelerator(config: TrainConfig, out_dir: Path) -> Any:
    from accelerate import Accelerator

    # Trackers are accelerate's (TensorBoard, W&B, MLflow): one call per step, on the main process only.
    trackers = {} if config.report_to == "none" else {"log_with": config.report_to,
                                                       "project_dir": str(out_dir / TRACKERS_DIR)}
    # cpu=True on a machine without CUDA lets `torchrun --nproc_per_node N` run N CPU processes (gloo).
    return Accelerator(mixed_precision=resolve_mixed_precision(config.mixed_precision),
                       cpu=not torch.cuda.is_available(), **trackers)


def _start_trackers(accelerator: Any, config: TrainConfig) -> None:
    if config.report_to == "none":
        return
    # trackers take scalar hyperparameters only (TensorBoard's hparams): lists become text
    hparams = {k: v if isinstance(v, int | float | str | bool) else str(v) for k, v in config.to_dict().items()}
    accelerator.init_trackers("crosstask", config=hparams)


def _track(accelerator: Any, config: TrainConfig, step: int, record: dict[str, Any]) -> None:
    if config.report_to != "none":
        accelerator.log({k: v for k, v in record.items() if isinstance(v, int | float) and k != "step"}, step=step)


def _sharded(accelerator: Any) -> bool:
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


class _StopFlag:
    """Ctrl-C asks for a clean stop at the end of the current step; a second Ctrl-C stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None

    def __enter__(self) -> _StopFlag:
        try:
            self._old = signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
            self._old = None
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc: Any) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _dataset_identity(dataset_dir: str | Path) -> dict[str, Any]:
    """What identifies a dataset across machines and moves: the content hash of its ``train.jsonl``."""
    train_file = Path(dataset_dir) / "train.jsonl"
    return {"path": str(Path(dataset_dir).resolve()),
            "content_hash": content_hash(train_file) if train_file.is_file() else None}


def _check_out_dir(out_dir: Path, config: TrainConfig, resume: bool, overwrite: bool,
                   dataset: dict[str, Any]) -> tuple[Path | None, list[dict[str, Any]]]:
    """The checkpoint to resume from and the run's earlier segments, after checking that the folder
    holds a run of the same dataset (by content), base model and training config."""
    ckpts = list_checkpoints(out_dir)
    meta = out_dir / META_FILE
    if not resume:
        if (ckpts or meta.exists()) and not overwrite:
            raise CrosstaskError(f"{out_dir}: holds a previous training run; pass --resume to continue it "
                                 "or --overwrite to start again")
        return None, []
    if not meta.exists():
        return (ckpts[-1][1] if ckpts else None), []
    old_meta = read_json(meta)
    old = old_meta.get("config", {})
    new = config.to_dict()
    refuse = f"{out_dir}: cannot resume"
    hint = "; train into a new --out, or pass --overwrite to start again"
    if old.get("base_model") not in (None, new["base_model"]):
        raise CrosstaskError(f"{refuse}: it was trained on base model {old['base_model']!r}, not "
                             f"{new['base_model']!r}{hint}")
    old_data = old_meta.get("dataset") or {}
    if old_data.get("content_hash") and dataset["content_hash"] and old_data["content_hash"] != dataset["content_hash"]:
        raise CrosstaskError(f"{refuse}: it was trained on another dataset ({old_data.get('path')}, content "
                             f"{old_data['content_hash']}; now {dataset['path']}, content {dataset['content_hash']})"
                             f"{hint}")
    diff = sorted(k for k in set(old) | set(new) if k not in _RUN_CONTROL and old.get(k) != new.get(k))
    if diff:
        raise CrosstaskError(f"{refuse}: the training config differs in: {', '.join(diff)}{hint}")
    return (ckpts[-1][1] if ckpts else None), list(old_meta.get("segments") or [])


def _write_meta(out_dir: Path, config: TrainConfig, data: TrainingData, dataset: dict[str, Any],
                segments: list[dict[str, Any]], extra: dict[str, Any]) -> None:
    write_json(out_dir / META_FILE, {
        "crosstask_version": __version__, "base_model": config.base_model, "config": config.to_dict(),
        "dataset": {**dataset, "manifest_hash": data.manifest_hash, "n_examples": len(data.examples),
                    "n_dropped": len(data.dropped)},
        "segments": segments,
        **extra,
    })


class TrainRecipe:
    """One training run, torchtune style: ``setup()`` builds everything (or finds the run
    finished), ``step()`` is one optimizer step, ``checkpoint()`` saves the current state and
    ``train()`` runs the loop (Ctrl-C saves and stops, divergence keeps the last good state)
    and writes the adapter (or model).

    ``on_step(step, metrics)`` is called on every process after each optimizer step.
    """

    def __init__(
        self,
        config: TrainConfig,
        dataset_dir: str | Path,
        out_dir: str | Path,
        *,
        resume: bool = False,
        overwrite: bool = False,
        progress: bool = True,
        on_step: Callable[[int, dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self.dataset_dir = dataset_dir
        self.out_dir = Path(out_dir)
        self.resume, self.overwrite, self.progress, self.on_step = resume, overwrite, progress, on_step
        self.finished: TrainResult | None = None  # set by setup() when resuming a finished run
        self._is_set_up = False

    # ------------------------------------------------------------------ setup

    def setup(self) -> None:
        """Devices, the folder check, seed, model, data, optimizer and scheduler; restore a checkpoint."""
        config, out_dir = self.config, self.out_dir
        check_writable(out_dir)
        self.dataset = _dataset_identity(self.dataset_dir)
        self.resume_from, self.segments = _check_out_dir(out_dir, config, self.resume, self.overwrite, self.dataset)
        self.accelerator = accelerator = _make_accelerator(config, out_dir)
        self._is_set_up = True
        meta_file = out_dir / META_FILE
        if self.resume and meta_file.exists() and read_json(meta_file).get("finished"):
            m = read_json(meta_file)
            self.finished = TrainResult(out_dir, m["steps"], m["steps"], m.get("final_loss"),
                                        m.get("train_seconds", 0.0), m.get("tokens_per_second", 0.0),
                                        m["dataset"]["n_examples"], m["dataset"]["n_dropped"], resumed_from=m["steps"])
            return
        # The seed fixes LoRA initialisation (drawn now) and dropout; data order has its own stream.
        set_seed(config.seed)
        model, self.tokenizer = prepare_model(config)
        self.data = tokenize_dataset(self.dataset_dir, self.tokenizer, prompt_format=config.prompt_format,
                                     cutoff_len=config.cutoff_len, train_on_inputs=config.train_on_inputs,
                                     on_too_long=config.on_too_long)
        self.examples = examples = self.data.examples
        n_tasks = len({e.task for e in examples if e.kind not in ("safety", "general")})
        self.loss_name = config.loss if config.loss != "auto" else ("mixed" if n_tasks > 1 else "single")
        self.per_epoch = batching.steps_per_epoch(len(examples), config.batch_size)
        self.total_steps = config.max_steps or self.per_epoch * config.num_epochs
        warmup = (config.warmup_steps if config.warmup_steps is not None
                  else math.ceil(config.warmup_ratio * self.total_steps))

        from transformers import get_scheduler

        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=config.learning_rate, weight_decay=config.weight_decay)
        self.scheduler = get_scheduler(config.lr_scheduler, optimizer, num_warmup_steps=warmup,
                                       num_training_steps=self.total_steps)
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.unwrapped = accelerator.unwrap_model(self.model)
        self.num_processes, self.rank = accelerator.num_processes, accelerator.process_index
        self.is_main = accelerator.is_main_process

        self.start_step, self.first_loss = 0, None
        if self.resume_from is not None:
            self._restore(self.resume_from)
        out_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path = out_dir / "metrics.jsonl"
        # Each call that trains is a segment: where it started, on what data (a resumed run's history).
        self.segments = [*self.segments, {"start_step": self.start_step, "end_step": self.start_step,
                                          "dataset": self.dataset, "base_model": config.base_model,
                                          "started_at": _now(), "crosstask_version": __version__}]
        if self.is_main:
            truncate_metrics(self.metrics_path, self.start_step)
            self._write_meta({"finished": False})
        accelerator.wait_for_everyone()
        self.step_count, self.last_loss, self.tokens_done, self.last_tokens_per_s = self.start_step, None, 0, 0.0

    def _write_meta(self, extra: dict[str, Any]) -> None:
        _write_meta(self.out_dir, self.config, self.data, self.dataset, self.segments,
                    {"loss": self.loss_name, "total_steps": self.total_steps, **extra})

    def _end_segment(self, step: int) -> None:
        self.segments[-1] = {**self.segments[-1], "end_step": step}

    def _restore(self, path: Path) -> None:
        if _sharded(self.accelerator):
            self.accelerator.load_state(str(path))
            state = read_json(path / "state.json")
        else:
            state = load_checkpoint(path, model=self.unwrapped, optimizer=self.optimizer, scheduler=self.scheduler,
                                    rank=self.rank)
        if state["num_processes"] != self.num_processes:
            log.warning("resuming a %d-process run on %d processes: data order is kept, dropout masks differ",
                        state["num_processes"], self.num_processes)
        self.start_step, self.first_loss = state["step"], state.get("first_loss")

    # ------------------------------------------------------------------ one step

    def step(self) -> dict[str, Any]:
        """One optimizer step on the examples the seed assigns to it; its metrics record (also
        appended to ``metrics.jsonl`` every ``logging_steps`` and at the last step).

        Raises TrainingDiverged (after saving the last good state) when the loss or the gradient
        norm is not finite or the loss exceeds ``divergence_factor`` × the first step's loss.
        """
        config, accelerator, model = self.config, self.accelerator, self.model
        P, device = self.num_processes, accelerator.device
        t0 = time.perf_counter()
        exs = batching.step_examples(self.examples, config.seed, config.batch_size, self.step_count)
        counts = batching.step_group_counts(exs)
        names = sorted(counts)
        gindex = {g: j for j, g in enumerate(names)}
        weights = token_weights(counts, loss=self.loss_name, task_weighting=config.task_weighting,
                                task_weights=config.task_weights, kind_weights=config.kind_weights)
        plan = batching.plan_micro_batches(exs, config.max_tokens_per_micro_batch, config.packing,
                                           row_len=config.cutoff_len)
        mine = batching.shard_micro_batches(plan, P, self.rank)
        sums = torch.zeros(len(names), dtype=torch.float64, device=device)
        cnts = torch.zeros(len(names), dtype=torch.float64, device=device)
        for j, micro in enumerate(mine):
            mb = batching.collate(micro, packing=config.packing, pad_id=self.tokenizer.pad_token_id,
                                  group_index=gindex, weights=weights)
            tensors = {k: (v.to(device) if v is not None else None) for k, v in mb.tensors.items()}
            sync = contextlib.nullcontext() if j == len(mine) - 1 else accelerator.no_sync(model)
            with sync, accelerator.autocast():
                nll = forward_token_nll(model, tensors)
                # Weights sum to 1 over the whole step; DDP averages gradients over processes.
                loss = (nll * tensors["weights"]).sum() * P
                accelerator.backward(loss)
            s, c = group_sums(nll, tensors["groups"], len(names))
            sums += s
            cnts += c
        sums, cnts = accelerator.reduce(torch.stack([sums, cnts]), reduction="sum")
        comps = components(names, sums, cnts, weights)
        step_loss = comps["loss"]
        if self.first_loss is None:
            self.first_loss = step_loss
        grad_norm = self._check_divergence(step_loss)
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step_count += 1
        self.last_loss = step_loss
        dt = time.perf_counter() - t0
        n_tok = sum(len(e) for e in exs)
        self.tokens_done += n_tok
        self.last_tokens_per_s = n_tok / dt
        step = self.step_count
        record = {"step": step, "epoch": round(step / self.per_epoch, 4), **{k: round(v, 6) for k, v in comps.items()},
                  "learning_rate": lr, "grad_norm": grad_norm, "tokens": n_tok, "tokens_per_s": round(n_tok / dt, 1),
                  "seconds": round(dt, 3)}
        if self.is_main and (step % config.logging_steps == 0 or step == self.total_steps):
            log_metrics(self.metrics_path, record)
        return record

    def _check_divergence(self, step_loss: float) -> float | None:
        """Clip the gradients and return their norm; on divergence save the last good state and raise."""
        config, step = self.config, self.step_count
        bad = not math.isfinite(step_loss) or step_loss > config.divergence_factor * max(self.first_loss, 1e-6)
        grad_norm = None
        if not bad and config.max_grad_norm > 0:
            grad_norm = float(self.accelerator.clip_grad_norm_(self.model.parameters(), config.max_grad_norm))
            bad = not math.isfinite(grad_norm)
        if bad:
            self.optimizer.zero_grad(set_to_none=True)
            if not any(s == step for s, _ in list_checkpoints(self.out_dir)):
                self.checkpoint()  # the weights are still those after step `step`: the last good state
            why = f"loss {step_loss:.4g}" if grad_norm is None else f"gradient norm {grad_norm}"
            raise TrainingDiverged(
                f"training diverged at step {step + 1} ({why}, first step {self.first_loss:.4g}); the last good "
                f"state is checkpoint step {step} in {self.out_dir / 'checkpoints'}; lower learning_rate"
            )
        return grad_norm

    # ------------------------------------------------------------------ checkpoint

    def checkpoint(self) -> None:
        """Save the state after the current step (all processes call)."""
        step, accelerator = self.step_count, self.accelerator
        extra = {"first_loss": self.first_loss}
        if _sharded(accelerator):
            path = self.out_dir / "checkpoints" / f"step-{step:06d}"
            accelerator.save_state(str(path))
            if self.is_main:
                write_json(path / "state.json", {"step": step, "num_processes": self.num_processes, **extra})
            accelerator.wait_for_everyone()
        else:
            save_checkpoint(self.out_dir, step, model=self.unwrapped, optimizer=self.optimizer,
                            scheduler=self.scheduler, extra=extra, rank=self.rank, num_processes=self.num_processes,
                            is_main=self.is_main, wait=accelerator.wait_for_everyone,
                            keep=self.config.save_total_limit)
        self._end_segment(step)
        if self.is_main:
            self._write_meta({"finished": False})

    # ------------------------------------------------------------------ the loop

    def train(self) -> TrainResult:
        """Run (or resume) training to the last step and write the adapter (or model) and logs.

        Ctrl-C saves a checkpoint at the end of the current step and raises KeyboardInterrupt.
        """
        if not self._is_set_up:
            self.setup()
        if self.finished is not None:
            return self.finished
        config, accelerator = self.config, self.accelerator
        trainable, total = count_parameters(self.unwrapped)
        log.info("training %s (%s, %d of %d parameters trainable) on %d examples, %d steps, loss %s",
                 config.base_model, config.method, trainable, total, len(self.examples), self.total_steps,
                 self.loss_name)
        t_start = time.perf_counter()
        interrupted = False
        _start_trackers(accelerator, config)
        with _StopFlag() as stop, make_progress(self.progress and self.is_main) as bar:
            task_id = bar.add_task("train", total=self.total_steps, completed=self.start_step, loss="-", tps="-")
            while self.step_count < self.total_steps:
                record = self.step()
                step = self.step_count
                bar.update(task_id, completed=step, loss=f"{self.last_loss:.4f}", tps=f"{self.last_tokens_per_s:,.0f}")
                _track(accelerator, config, step, record)
                if self.on_step is not None:
                    self.on_step(step, record)
                flag = accelerator.reduce(torch.tensor([float(stop.requested)], device=accelerator.device),
                                          reduction="sum")
                interrupted = bool(flag.item() > 0)
                if step % config.save_steps == 0 or interrupted:
                    self.checkpoint()
                if interrupted:
                    break
        seconds = time.perf_counter() - t_start
        tps = self.tokens_done / seconds if seconds > 0 else 0.0
        if config.report_to != "none":
            accelerator.end_training()
        if interrupted:
            if self.is_main:
                plot_losses(self.metrics_path, self.out_dir / "loss.png")
            raise KeyboardInterrupt(f"training interrupted at step {self.step_count}; checkpoint saved, "
                                    "rerun with --resume")
        return self._finish(seconds, tps)

    def _finish(self, seconds: float, tps: float) -> TrainResult:
        accelerator, out_dir = self.accelerator, self.out_dir
        _save_final(accelerator, self.model, self.unwrapped, self.tokenizer, out_dir)
        self._end_segment(self.step_count)
        if self.is_main:
            self._write_meta({"finished": True, "steps": self.step_count, "final_loss": self.last_loss,
                              "train_seconds": round(seconds, 2), "tokens_per_second": round(tps, 1)})
            plot_losses(self.metrics_path, out_dir / "loss.png")
        accelerator.wait_for_everyone()
        return TrainResult(out_dir, self.step_count, self.total_steps, self.last_loss, seconds, tps,
                           len(self.examples), len(self.data.dropped),
                           resumed_from=self.start_step if self.resume_from is not None else None,
                           is_main_process=self.is_main)


def train(
    config: TrainConfig,
    dataset_dir: str | Path,
    out_dir: str | Path,
    *,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    on_step: Callable[[int, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train on a defense dataset folder and write the adapter (or model) and logs to ``out_dir``.

    ``on_step(step, metrics)`` is called on every process after each optimizer step.
    Ctrl-C saves a checkpoint at the end of the current step and raises KeyboardInterrupt.
    """
    return TrainRecipe(config, dataset_dir, out_dir, resume=resume, overwrite=overwrite, progress=progress,
                       on_step=on_step).train()


def _save_final(accelerator: Any, model: Any, unwrapped: Any, tokenizer: Any, out_dir: Path) -> None:
    """The adapter (LoRA) or the whole model (full), in safetensors, with the tokenizer (all processes call)."""
    kwargs: dict[str, Any] = {}
    if _sharded(accelerator):
        kwargs["state_dict"] = accelerator.get_state_dict(model)  # a collective: gathers the shards
    if accelerator.is_main_process:
        # peft keeps target_modules as a set, whose order (and so adapter_config.json) changes between
        # processes with the string hash seed: save them sorted.
        for peft_cfg in (getattr(unwrapped, "peft_config", None) or {}).values():
            if isinstance(getattr(peft_cfg, "target_modules", None), set | list | tuple):
                peft_cfg.target_modules = sorted(peft_cfg.target_modules)
        unwrapped.save_pretrained(str(out_dir), safe_serialization=True, **kwargs)
        tokenizer.save_pretrained(str(out_dir))
