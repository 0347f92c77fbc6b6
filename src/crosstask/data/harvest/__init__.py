"""Harvesting documents: malicious ones from harmful goals answered under a compliance
prefill (as the paper's documents were attack outputs), benign ones from topic seeds.

Names are imported on first use, so that the settings (``harvest_settings``) load without torch.
"""

from __future__ import annotations

from crosstask.lazy import lazy_exports

_EXPORTS = {
    "HarvestSettings": "crosstask.data.harvest.harvest_settings",
    "HarvestRequest": "crosstask.data.harvest.harvester",
    "HarvestResult": "crosstask.data.harvest.harvester",
    "generate_benign_documents": "crosstask.data.harvest.harvester",
    "harvest_documents": "crosstask.data.harvest.harvester",
    "harvest_malicious_documents": "crosstask.data.harvest.harvester",
}

__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
