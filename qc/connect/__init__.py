"""Connectors to annotation tools: Label Studio, live (no Prefect here; the flows in ``flows/connect.py`` wrap it).

- ``_client``: the few calls of Label Studio's HTTP API the connector makes (httpx), tokens included;
- ``_secret``: where the token lives (``$QC_LABELSTUDIO_TOKEN``, or a 0600 file beside a SQLite database);
- ``_config``: the labeling config of a guideline (brush and polygon labels in its colours);
- ``_push``: connect a project; one Label Studio project per annotator and round, its tasks; rework tasks;
- ``_sync``: pull completed annotations and ingest them, with their lead time.
"""

from __future__ import annotations

from qc.connect._client import LabelStudio
from qc.connect._config import label_config
from qc.connect._push import ConnectResult, PushResult, connect_project, push_reworks, push_round
from qc.connect._secret import ENV_VAR, fingerprint, load_token
from qc.connect._sync import SyncResult, default_folder, sync_round

__all__ = [
    "ENV_VAR",
    "ConnectResult",
    "LabelStudio",
    "PushResult",
    "SyncResult",
    "connect_project",
    "default_folder",
    "fingerprint",
    "label_config",
    "load_token",
    "push_reworks",
    "push_round",
    "sync_round",
]
