# Rego twin of the `membership` governance plugin: every cluster set of a hub is a LabelSelector
# set over fedfleet.io/cluster-set=<set>, and a Policy of the hub's overlay writes that label.
package fedfleet.membership

import rego.v1

import data.fedfleet_lib.objects

sets := {[o.hub, o.object.metadata.name]: o.object |
	some o in objects.of_kind("ManagedClusterSet")
}

# What the hub's policies write: the raw object templates of every Policy, per hub.
writes := {[o.hub, t.objectDefinition.spec["object-templates-raw"]] |
	some o in objects.of_kind("Policy")
	some t in o.object.spec["policy-templates"]
	t.objectDefinition.spec["object-templates-raw"]
}

selects_own_label(set_object) if {
	set_object.spec.clusterSelector.selectorType == "LabelSelector"
	set_object.spec.clusterSelector.labelSelector.matchLabels["fedfleet.io/cluster-set"] == set_object.metadata.name
}

# The templates that write the label at all (a few per hub among about a thousand, 4 MB of text at
# 10,000 clusters): has_policy's line and written_sets' expression both begin with this text, so
# the templates without it can match neither.
label_writes := [[hub, raw] | some [hub, raw] in writes; contains(raw, "'fedfleet.io/cluster-set': '")]

# The same pairs per hub, built once: each declared set looks through its own hub's templates only.
writes_of_hub := {hub: [raw | some [h, raw] in label_writes; h == hub] | some hub in {h | some [h, _] in label_writes}}

has_policy(hub, set_name) if {
	line := sprintf("'fedfleet.io/cluster-set': '%s'\n", [set_name])
	some raw in writes_of_hub[hub]
	contains(raw, line)
}

deny contains result if {
	some s in input.fleet.clusterSets
	set_object := sets[[s.hub, s.name]]
	not selects_own_label(set_object)
	result := {
		"rule": "membership.labels",
		"msg": sprintf("ManagedClusterSet %s on hub %s does not select fedfleet.io/cluster-set=%s, the label the membership policy writes", [s.name, s.hub, s.name]),
		"hub": s.hub,
	}
}

deny contains result if {
	some s in input.fleet.clusterSets
	not sets[[s.hub, s.name]]
	result := {
		"rule": "membership.labels",
		"msg": sprintf("cluster set %s is declared for hub %s but its overlay has no ManagedClusterSet", [s.name, s.hub]),
		"hub": s.hub,
	}
}

deny contains result if {
	some s in input.fleet.clusterSets
	not has_policy(s.hub, s.name)
	result := {
		"rule": "membership.labels",
		"msg": sprintf("hub %s has no membership policy for cluster set %s: no ManagedCluster would carry fedfleet.io/cluster-set=%s", [s.hub, s.name, s.name]),
		"hub": s.hub,
	}
}

# Every set label a policy writes is a set of its hub, and one policy writes one set: a hand edit
# that labels one cluster with another set's name would move it there (found by the governance
# agreement suite, tests/oracles: ACM reports such a cluster NonCompliant).
hub_sets := {[s.hub, s.name] | some s in input.fleet.clusterSets}

written_sets(raw) := {m[1] | some m in regex.find_all_string_submatch_n(`'fedfleet\.io/cluster-set': '([^']*)'`, raw, -1)}

# [hub, the sets it writes] of every raw template, the regular expression run once per template
# for both rules below.
written := [[hub, written_sets(raw)] | some [hub, raw] in label_writes]

deny contains result if {
	some [hub, values] in written
	some value in values
	not [hub, value] in hub_sets
	result := {
		"rule": "membership.labels",
		"msg": sprintf("a policy on hub %s writes fedfleet.io/cluster-set=%s, which is not a cluster set of the hub", [hub, value]),
		"hub": hub,
	}
}

deny contains result if {
	some [hub, values] in written
	count(values) > 1
	result := {
		"rule": "membership.labels",
		"msg": sprintf("a policy on hub %s writes fedfleet.io/cluster-set for several sets (%s): one policy writes one set", [hub, concat(", ", sort(values))]),
		"hub": hub,
	}
}
