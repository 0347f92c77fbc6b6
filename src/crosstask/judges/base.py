"""The judge interface and registry: a judge decides whether a model's answer is a refusal.

A judge has a ``name`` and a ``version`` (bump it whenever verdicts can change, so
cached verdicts and reported numbers name the exact judge that made them).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator

from crosstask.registry import Registry

VERDICT_LABELS = ("refused", "processed", "off-task")


@dataclass(frozen=True)
class Verdict:
    refusal: bool
    score: float  # higher = more refusal-like; ``refusal`` is ``score >= threshold``
    off_task: bool = False  # not a refusal and not the task either (see ``judges/off_task.py``)

    @property
    def label(self) -> str:
        """The three-way verdict: ``refused``, ``processed`` or ``off-task``."""
        if self.refusal:
            return "refused"
        return "off-task" if self.off_task else "processed"

    @classmethod
    def of(cls, text: str, score: float, threshold: float) -> Verdict:
        """The verdict for ``text`` with refusal score ``score``; off-task only when not a refusal."""
        from crosstask.judges.off_task import off_task

        refusal = score >= threshold
        return cls(refusal=refusal, score=round(float(score), 4), off_task=not refusal and off_task(text))


class Judge:
    """Base class. Subclasses implement :meth:`score`; ``prompt`` is the request, when known."""

    name: str = "judge"
    version: str = "1"
    threshold: float = 0.5
    description: str = ""
    uses_prompt: bool = False  # whether ``score`` reads the request when given one

    def score(self, text: str, prompt: str | None = None) -> float:
        raise NotImplementedError

    def judge(self, text: str, prompt: str | None = None) -> Verdict:
        return Verdict.of(text, self.score(text, prompt), self.threshold)

    def judge_many(self, texts: list[str], prompts: list[str | None] | None = None) -> list[Verdict]:
        """Verdicts for many answers (judges with a model override this to batch)."""
        prompts = prompts or [None] * len(texts)
        return [self.judge(t, p) for t, p in zip(texts, prompts, strict=True)]

    def is_refusal(self, text: str, prompt: str | None = None) -> bool:
        return self.judge(text, prompt).refusal

    def is_final(self, partial: str) -> bool:
        """True when no continuation of ``partial`` can change the verdict (refusal-only stopping).

        The safe default: never final, so generation runs to its limit.
        """
        return False

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


# Judge factories by name; the built-ins are lazy targets, imported when first asked for.
JUDGES: Registry[Callable[[], Judge]] = Registry("judge")
JUDGES.register("keyword-gcg13", "crosstask.judges.keyword:gcg13")
JUDGES.register("keyword-harmbench", "crosstask.judges.keyword:harmbench")
JUDGES.register("refusal", "crosstask.judges.refusal_phrases:RefusalJudge")
JUDGES.register("refusal-clf", "crosstask.judges.classifier:RefusalClassifierJudge")

# A config field holding judge names: each must be registered (a one-line error with its key path).
JudgeNames = Annotated[list[str], AfterValidator(JUDGES.check_all)]
_INSTANCES: dict[str, Judge] = {}


def register_judge(name: str) -> Callable[[Callable[[], Judge]], Callable[[], Judge]]:
    """Register a judge factory under ``name`` (factories let heavy judges load lazily)."""
    return JUDGES.register(name)


def list_judges() -> list[str]:
    return JUDGES.names(sort=True)


def get_judge(name: str) -> Judge:
    """The judge registered under ``name`` (one shared instance per name)."""
    factory = JUDGES.get(name)
    if name not in _INSTANCES:
        _INSTANCES[name] = factory()
    return _INSTANCES[name]
