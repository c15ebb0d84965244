# input.objects by kind, for the Rego twins and for any policy (`import data.fedfleet_lib.objects`).
# regorus has no indexes: a rule written `some o in input.objects; o.object.kind == "Policy"`
# visits all 20,000 objects of a 10,000-cluster fleet, and the twins did that about fifteen times
# per check. This index is a complete rule, evaluated once per query (check asks every package's
# deny and warn in one query, checks/embedded.py), so each of those rules visits only its kind.
# Not under `fedfleet.`: it has no deny or warn of its own.
package fedfleet_lib.objects

import rego.v1

# kind -> the positions in input.objects of its entries (ascending: input order, duplicates kept).
index[kind] contains i if {
	some i, o in input.objects
	kind := o.object.kind
}

# The entries of input.objects ({"path", "hub", "object"}) whose object's kind is `kind`, in input
# order: what `some o in input.objects; o.object.kind == kind` visits, in the same order.
of_kind(kind) := [input.objects[i] | some i in index[kind]]
