"""simulate: run what the bundle ships for a Flower job, on loopback, before merge.

The job's SuperLink and one SuperNode per planned client, taken from the built hub overlay (with
the add-on manager's variable substitution and the policies' deliveries), the FL controller's
ServerApp and ClientApps as its templates write them, and the bundle's `flwr run` Job; TLS from a
throwaway chain shaped like the bundle's cert-manager objects; a teardown that always runs.
"""

from .run import SimulationError, SimulationResult, run_simulation

__all__ = ["SimulationError", "SimulationResult", "run_simulation"]
