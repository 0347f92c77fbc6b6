"""Obviously fake documents for tests (never harmful text).

A module with a unique name, so that ``from placeholders import ...`` cannot pick up
another folder's conftest.py.
"""

from __future__ import annotations


def placeholder_docs(n: int, label: str = "benign", source: str = "placeholder"):
    """Obviously fake documents for tests (never harmful text)."""
    from crosstask.document import Document

    return [
        Document(
            id=f"{label}-{i}",
            text=(
                f"Placeholder article number {i} about the {label} town fair. The fair opened on Monday with "
                f"{i + 3} stalls. Visitors bought bread and apples. The mayor thanked the volunteers. "
                "Organisers said the fair will return next year."
            ),
            label=label,
            source=source,
        )
        for i in range(n)
    ]
