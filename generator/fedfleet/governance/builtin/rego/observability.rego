# Rego twin of the `observability` governance plugin: every job exports its training metrics
# through the controller's metrics sidecar (annotation federated-learning.io/sidecar-image).
package fedfleet.observability

import rego.v1

enabled if not input.parameters.observability.enabled == false

deny contains result if {
	enabled
	some o in input.objects
	o.object.kind == "FederatedLearning"
	not o.object.metadata.annotations["federated-learning.io/sidecar-image"]
	result := {
		"rule": "observability.collector",
		"msg": sprintf("job %s exports no metrics: annotation federated-learning.io/sidecar-image is missing", [o.object.metadata.name]),
		"job": o.object.metadata.name, "hub": o.hub,
	}
}
