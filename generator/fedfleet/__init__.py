"""fedfleet: federated learning on OCM/ACM fleets, through Git."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fedfleet")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

API_VERSION = "fedfleet.io/v1alpha1"
