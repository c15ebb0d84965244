"""The one place where Flower's version is pinned.

The example app (examples/flower-digits), the SuperLink/SuperNode images in the bundle and the
`flwr` that `fedfleet simulate` runs must speak the same Flower protocol. The upstream
flower-addon chart still ships 1.26.1 images while PyPI has 1.42.0; fedfleet moves all three
together to the version below (tests check pyproject.toml agrees).
"""

FLOWER_VERSION = "1.42.0"
SUPERLINK_IMAGE = f"flwr/superlink:{FLOWER_VERSION}"
SUPERNODE_IMAGE = f"flwr/supernode:{FLOWER_VERSION}"

# The FL controller's install: addon-contrib at this commit (federated-learning-controller/config/
# default), with this image. Upstream publishes the controller image only as `latest` (Makefile
# IMAGE_TAG ?= latest); pin a digest here for a reproducible hub.
FL_CONTROLLER_COMMIT = "f5844b98e8e24a8677ca04a5a4bcff942ccde382"
FL_CONTROLLER_IMAGE = "quay.io/open-cluster-management/federated-learning-controller:latest"
# The cert-manager Helm chart the plain Argo CD bootstrap installs (charts.jetstack.io).
CERT_MANAGER_VERSION = "v1.16.2"
