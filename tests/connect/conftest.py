"""The Label Studio server of the connector's tests (one per session; see :mod:`tests.support.labelstudio`)."""

from __future__ import annotations

from tests.support.labelstudio import labelstudio

__all__ = ["labelstudio"]
