"""simulate: run a job's Flower app as a real federation on loopback, with TLS, before merge.

One `flower-superlink` and one `flower-supernode` per planned client, each in its own session on
127.0.0.1, a throwaway CA, `flwr run --stream`, and a teardown that always runs.
"""

from .run import SimulationError, SimulationResult, run_simulation

__all__ = ["SimulationError", "SimulationResult", "run_simulation"]
