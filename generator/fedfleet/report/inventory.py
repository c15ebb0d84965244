"""Text renderings of `inventory pull` and `inventory diff` (JSON is their as_dict)."""

from __future__ import annotations

from ..inventory.drift import InventoryDrift
from ..inventory.pull import PullResult


def drift_text(report: InventoryDrift) -> str:
    lines = []
    if report.clean:
        lines.append(f"no drift: the inventory matches hub {report.hub} ({report.server}) for {report.compared} cluster(s)")
    else:
        lines.append(f"drift: the inventory differs from hub {report.hub} ({report.server}) "
                     f"for {len(report.drift)} of {report.compared} cluster(s) (run `fedfleet inventory pull`):")
        for d in report.drift:
            where = f"  ({d.where})" if d.where else ""
            lines.append(f"  {d.cluster}: {d.change}{where}")
            lines.extend(f"    - {detail}" for detail in d.details)
    lines.extend(f"note: {n}" for n in report.notes)
    return "\n".join(lines) + "\n"


def pull_text(result: PullResult) -> str:
    lines = [f"pulled hub {result.hub}: {len(result.updated)} updated, {len(result.added)} added, "
             f"{len(result.removed)} removed; {len(result.files)} file(s) written"]
    for label, names in (("updated", result.updated), ("added", result.added), ("removed", result.removed)):
        if names:
            lines.append(f"  {label}: {', '.join(names)}")
    lines.extend(f"  wrote {f}" for f in result.files)
    lines.extend(f"note: {n}" for n in result.notes)
    return "\n".join(lines) + "\n"
