"""The inventory against the hub: read ManagedClusters, pull them into specs/clusters/, report drift.

- `hub`: the list calls through the official kubernetes client (paging, errors, timeouts);
- `observed`: a ManagedCluster as an inventory entry (what the plan reads);
- `drift`: the inventory's clusters against the hub's, field by field;
- `pull`: the round-trip update of the spec files (comments and extra fields kept).
"""
