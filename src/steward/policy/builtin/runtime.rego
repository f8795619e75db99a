# Environment capture: the version records its Python version and the digest of its dependency
# lock, so that it can be rebuilt.
package steward.gates.rules.runtime

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

captured := {
	"python_version": {"rule": "runtime.python_version", "label": "Python version"},
	"dependency_lock_digest": {"rule": "runtime.dependency_lock", "label": "dependency lock digest"},
}

violations(doc) := {f |
	some key
	item := captured[key]
	value := object.get(doc, ["version", "environment", key], null)
	lib.blank(value)
	f := lib.finding(
		item.rule,
		concat("", [item.label, " is ", lib.fmt(value), "; required the ", item.label, " of the training environment"]),
		value,
		item.label,
	)
}
