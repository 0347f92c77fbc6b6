"""Cleaning generated text: special tokens, dangling sentences, near-duplicates, refusals."""

from __future__ import annotations

import hashlib
import re

# Markers a chat model may leak into decoded text even with skip_special_tokens.
_SPECIAL = re.compile(r"<\|[^|>]{1,40}\|>|</?s>|\[/?INST\]|<<\/?SYS>>|<unk>|<pad>")
# A sentence end, but not a list number such as "2." at the start of a step.
_SENTENCE_END = re.compile(r"(?<!\b\d)(?<!\b\d\d)[.!?。！？][\"')\]]*(?=\s|$)")
_ENDS_CLEANLY = re.compile(r"[.!?。！？:][\"')\]]*$")

# Openings of a refusal; checked on the generated part only (the prefill is compliant by design).
_REFUSAL_PATTERNS = re.compile(
    r"\b(i can(?:no|')t|i cannot|i am unable|i'm unable|i am not able|i'm not able|i won't|i will not|"
    r"i'm sorry|i am sorry|i apologi[sz]e|as an ai|as a language model|i must decline|i refuse|"
    r"not able to (?:help|assist|provide)|can(?:no|')t (?:help|assist|provide|fulfill|comply)|"
    r"is (?:illegal|unethical) and|against my (?:guidelines|programming|policy))",
    re.IGNORECASE,
)


def strip_special_tokens(text: str) -> str:
    return _SPECIAL.sub("", text)


def cut_dangling_sentence(text: str) -> str:
    """Drop an unfinished last sentence (generation stopped at the token limit).

    Cuts after the last sentence end or line break; keeps the text when it ends cleanly
    or has no complete sentence at all.
    """
    text = text.rstrip()
    if not text or _ENDS_CLEANLY.search(text):
        return text
    cuts = [m.end() for m in _SENTENCE_END.finditer(text)]
    nl = text.rfind("\n")
    if nl > 0:
        cuts.append(nl)
    if not cuts:
        return text
    return text[: max(cuts)].rstrip()


def clean_generated(prefix: str, generated: str) -> str:
    """The document text: prefix + generation, special tokens removed, dangling sentence cut.

    Only the generated part is cut: a generation with no sentence end of its own is kept whole
    rather than cut back to the prefill's line break (which would leave the prefill alone).
    """
    text = strip_special_tokens(prefix) + cut_dangling_sentence(strip_special_tokens(generated))
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def normalized_hash(text: str) -> str:
    """A hash of the text with case, punctuation and spacing removed: near-identical texts collide."""
    norm = re.sub(r"[\W_]+", " ", text.lower()).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def looks_like_refusal(generated: str, window: int = 200) -> bool:
    """A small local check: a refusal phrase near the start of the generated text."""
    return bool(_REFUSAL_PATTERNS.search(generated[:window]))
