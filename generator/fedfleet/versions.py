"""The one place where Flower's version is pinned.

The example app (examples/flower-digits), the SuperLink/SuperNode images in the bundle and the
`flwr` that `fedfleet simulate` runs must speak the same Flower protocol. The upstream
flower-addon chart still ships 1.26.1 images while PyPI has 1.42.0; fedfleet moves all three
together to the version below (tests check pyproject.toml agrees).
"""

FLOWER_VERSION = "1.42.0"
SUPERLINK_IMAGE = f"flwr/superlink:{FLOWER_VERSION}"
SUPERNODE_IMAGE = f"flwr/supernode:{FLOWER_VERSION}"
