"""The fake hub of `fedfleet doctor`'s tests: FakeHub's recorded lists plus what the doctor reads.

On 127.0.0.1 only, to the real `kubernetes` client: discovery (`/apis`, `/apis/<group>`,
`/apis/<group>/<version>`, tests/fixtures/doctor/discovery.json), single objects (Deployments, the
ClusterManager, the SuperLink CA Secret; objects.json), the ready hub's ManagedClusterAddOns, and
SubjectAccessReviews answered by a small RBAC authorizer over the hub's ClusterRoles and
ClusterRoleBindings (what `kubectl apply -k bootstrap/<hub>` created), as the API server's RBAC
authorizer answers them: allowed when a binding names the ServiceAccount (or one of its groups)
and its role has a rule matching group, resource and verb (`*` included).
Each test takes the ready hub and removes one prerequisite (`missing`, `denied`, edited objects).
"""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import urlsplit

from fake_hub import FIXTURES, FakeHub, forbidden

DOCTOR = FIXTURES / "doctor"
SAR_PATH = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
ADDONS_PATH = "/apis/addon.open-cluster-management.io/v1alpha1/managedclusteraddons"
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": "the server could not find the requested resource", "reason": "NotFound",
             "details": {}, "code": 404}


def _matches(values: list[str], value: str) -> bool:
    return "*" in values or value in values


class DoctorHub(FakeHub):
    def __init__(self) -> None:
        super().__init__("hub-prod")
        self.objects: dict[str, dict[str, Any]] = json.loads((DOCTOR / "discovery.json").read_text())
        self.objects.update(json.loads((DOCTOR / "objects.json").read_text()))
        self.bodies[ADDONS_PATH] = json.loads((DOCTOR / "managedclusteraddons.json").read_text())
        self.rbac: list[dict[str, Any]] = []
        self.missing: set[str] = set()  # paths answered 404 (a CRD, an object not installed)
        self.denied: set[str] = set()  # paths answered 403 to the doctor's user
        self.reviews: list[dict[str, Any]] = []

    def authorize(self, spec: dict[str, Any]) -> tuple[bool, str]:
        attrs = spec.get("resourceAttributes") or {}
        subjects = {("User", spec.get("user"))} | {("Group", g) for g in spec.get("groups") or []}
        roles = {r["metadata"]["name"]: r for r in self.rbac if r["kind"] == "ClusterRole"}
        for binding in (b for b in self.rbac if b["kind"] == "ClusterRoleBinding"):
            names = set()
            for s in binding.get("subjects") or []:
                if s["kind"] == "ServiceAccount":
                    names.add(("User", f"system:serviceaccount:{s['namespace']}:{s['name']}"))
                else:
                    names.add((s["kind"], s["name"]))
            role = roles.get(binding["roleRef"]["name"])
            if not (names & subjects) or role is None:
                continue
            for rule in role.get("rules") or []:
                if (_matches(rule.get("apiGroups", []), attrs.get("group", "")) and
                        _matches(rule.get("resources", []), attrs.get("resource", "")) and
                        _matches(rule["verbs"], attrs.get("verb", ""))):
                    return True, (f'RBAC: allowed by ClusterRoleBinding "{binding["metadata"]["name"]}" of ClusterRole '
                                  f'"{role["metadata"]["name"]}" to ServiceAccount')
        return False, ""

    def _handler(self):  # type: ignore[no-untyped-def]
        base = super()._handler()
        hub = self

        class Handler(base):  # type: ignore[misc, valid-type]
            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path in hub.denied:
                    hub.requests.append(path)
                    return self._send(403, forbidden(path))
                if path in hub.missing:
                    hub.requests.append(path)
                    return self._send(404, NOT_FOUND)
                if path in hub.objects:
                    hub.requests.append(path)
                    return self._send(200, hub.objects[path])
                return super().do_GET()

            def do_POST(self) -> None:
                path = urlsplit(self.path).path
                hub.requests.append(f"POST {path}")
                length = int(self.headers.get("Content-Length") or 0)
                review = json.loads(self.rfile.read(length) or b"{}")
                if path != SAR_PATH:
                    return self._send(404, NOT_FOUND)
                if path in hub.denied:
                    return self._send(403, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                            "message": 'subjectaccessreviews.authorization.k8s.io is forbidden: User '
                                                       '"system:serviceaccount:fl-ci:doctor" cannot create resource '
                                                       '"subjectaccessreviews" in API group "authorization.k8s.io" at the cluster scope',
                                            "reason": "Forbidden", "details": {"group": "authorization.k8s.io",
                                                                                "kind": "subjectaccessreviews"}, "code": 403})
                hub.reviews.append(review)
                allowed, reason = hub.authorize(review.get("spec") or {})
                answer = copy.deepcopy(review)
                answer["metadata"] = {"creationTimestamp": None}
                answer["status"] = {"allowed": allowed, **({"reason": reason} if reason else {})}
                self._send(201, answer)

        return Handler


def with_secret(hub: DoctorHub, ca_pem: bytes, namespace: str = "flower-system", name: str = "flower-tls-ca") -> None:
    """The CA Secret as cert-manager writes it for a CA Certificate (kubernetes.io/tls + ca.crt)."""
    import base64

    hub.objects[f"/api/v1/namespaces/{namespace}/secrets/{name}"] = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": "49001",
                     "annotations": {"cert-manager.io/certificate-name": name, "cert-manager.io/issuer-kind": "Issuer"}},
        "data": {"ca.crt": base64.b64encode(ca_pem).decode(), "tls.crt": base64.b64encode(ca_pem).decode(),
                 "tls.key": base64.b64encode(b"(not served to the doctor's checks)").decode()},
    }
