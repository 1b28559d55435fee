"""Errors of anomalies."""

from __future__ import annotations

from inspection_api.errors import InspectionError


class AnomalyStateConflict(InspectionError):
    # Two handlers acting at once: the second learns what the first did.
    status = 409
    code = "anomaly_state_conflict"
    zh = "异常当前为「{state}」，不能{action}"
    en = "The anomaly is {state}; cannot {action}"
