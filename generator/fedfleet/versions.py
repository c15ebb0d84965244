"""The one place where Flower's version is pinned: the FL controller's, 1.26.1.

The OCM FL controller (addon-contrib federated-learning-controller, not ours) writes Flower 1.26
commands: its ServerApp Deployment runs `flower-superexec --insecure --appio-api-address=<superlink>:9091
--plugin-type=serverapp` (internal/controller/manifests/flower/serverapp/serverapp-deployment.yaml) and
its ClientApps dial the SuperNode's ClientAppIo API on 9094
(internal/controller/manifests/flower/clientapp/manifestworkreplicaset.yaml). In 1.26 the ServerAppIo
API is a separate plaintext port; Flower 1.42 moved every API onto one TLS port, so the controller's
`--insecure` ServerApp could never connect to a newer SuperLink. The upstream flower-addon chart pins
the same images (flower-addon/charts/flower-addon/values.yaml, Chart.yaml appVersion "1.26.1").

The SuperLink/SuperNode/SuperExec images in the bundle, the example app (examples/flower-digits) and
the `flwr` that `fedfleet simulate` runs all follow FLOWER_VERSION; tests/test_simulate.py checks that
pyproject.toml and the example app agree. Move only when the controller does.
"""

FLOWER_VERSION = "1.26.1"
# The official images' tag scheme (<version>-py<python>-<os>), as the flower-addon chart uses them.
IMAGE_TAG = f"{FLOWER_VERSION}-py3.13-ubuntu24.04"
SUPERLINK_IMAGE = f"flwr/superlink:{IMAGE_TAG}"
SUPERNODE_IMAGE = f"flwr/supernode:{IMAGE_TAG}"
SUPEREXEC_IMAGE = f"flwr/superexec:{IMAGE_TAG}"

# The FL controller's install: addon-contrib at this commit (federated-learning-controller/config/
# default), with this image. Upstream publishes the controller image only as `latest` (Makefile
# IMAGE_TAG ?= latest); pin a digest here for a reproducible hub.
FL_CONTROLLER_COMMIT = "f5844b98e8e24a8677ca04a5a4bcff942ccde382"
FL_CONTROLLER_IMAGE = "quay.io/open-cluster-management/federated-learning-controller:latest"
# The cert-manager Helm chart the plain Argo CD bootstrap installs (charts.jetstack.io).
CERT_MANAGER_VERSION = "v1.16.2"

# The registration tunnel (render/tunnel.py): an stunnel image pinned by digest. This digest is the
# registry's `latest` of ghcr.io/appuio/stunnel-docker as its package page lists it (found by
# search, not pulled here: an Alpine-based image running stunnel; the bundle overrides its command
# with `/bin/sh run.sh stunnel.conf`, so it must have /bin/sh and `stunnel` on PATH). Mirror it, or
# build your own from Alpine's stunnel package, and pin that digest here for production.
TUNNEL_IMAGE = "ghcr.io/appuio/stunnel-docker@sha256:39df6fe8b5c17f6b2065e777077fe4d4443718aba7205dd939b959650bd33f67"


def yaml_versions() -> str:
    """PyYAML's and libyaml's versions, "<pyyaml>\0<libyaml>": the caches of YAML read or written
    (spec/readcache.py, write.py) key on them, since either can change what a text reads or writes as."""
    import yaml

    try:
        from yaml import _yaml  # type: ignore[attr-defined]

        libyaml = _yaml.get_version_string()
    except ImportError:  # pragma: no cover - PyYAML without libyaml
        libyaml = "none"
    return f"{yaml.__version__}\0{libyaml}"
