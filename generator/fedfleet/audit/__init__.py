"""audit: which controls the fleet enforces, on which clusters, and whether it complies.

Offline (`offline.py`): from the repo alone, every generated Policy grouped by standard and
control, with its plugin, remediation per hub, the clusters it targets according to the plan, its
Rego twin's result, and the gaps against what the plugins would produce by default.
Live (`live.py`): the hub's Policy compliance per cluster, Argo CD Application sync and health, and
each FederatedLearning's phase, read through the official kubernetes client and merged in.
"""

from .model import AuditReport, ControlGroup, Gap, LiveFinding, PolicyEntry
from .offline import offline_audit

__all__ = ["AuditReport", "ControlGroup", "Gap", "LiveFinding", "PolicyEntry", "offline_audit"]
