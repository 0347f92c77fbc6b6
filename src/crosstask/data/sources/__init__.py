"""Document sources. Each yields :class:`~crosstask.document.Document` objects."""

from crosstask.data.sources.registry import (
    SourceSpec,
    list_sources,
    load_source,
    parse_source,
    register_source,
)

__all__ = ["SourceSpec", "list_sources", "load_source", "parse_source", "register_source"]
