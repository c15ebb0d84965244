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
	# the job's name is its label (the object is "<job>-run<N>" after a re-run)
	job := object.get(object.get(o.object.metadata, "labels", {}), "fedfleet.io/job", o.object.metadata.name)
	result := {
		"rule": "observability.collector",
		"msg": sprintf("job %s exports no metrics: annotation federated-learning.io/sidecar-image is missing", [job]),
		"job": job, "hub": o.hub,
	}
}
