# Documentation completeness: the model fields in data.gates.documentation.required_fields are
# non-empty text, the tiers in regulatory_scopes_required_for name at least one regulatory scope,
# and the lineage names at least one training dataset. A bundle whose data lacks either list is
# denied (documentation.config_missing) rather than left unchecked.
package steward.gates.rules.documentation

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

violations(doc) := ((field_findings(doc) | scope_findings(doc)) | training_findings(doc)) | lib.missing_config("documentation", config_keys)

config_keys := ["documentation.required_fields", "documentation.regulatory_scopes_required_for"]

cfg := data.gates.documentation

field_findings(doc) := {f |
	some field in cfg.required_fields
	value := object.get(doc, ["model", field], null)
	lib.blank(value)
	f := lib.finding(
		"documentation.missing_field",
		concat("", ["model ", field, " is ", describe(value), "; required non-empty text"]),
		value,
		"non-empty text",
	)
}

describe(value) := "missing" if {
	value == null
} else := "empty" if {
	is_string(value)
} else := "not text"

scope_findings(doc) := {f |
	tier := lib.tier(doc)
	tier in cfg.regulatory_scopes_required_for
	scopes := object.get(doc, ["model", "regulatory_scopes"], [])
	count([s | some s in scopes; not lib.blank(s)]) == 0
	f := lib.finding(
		"documentation.regulatory_scopes",
		concat("", ["model names no regulatory scope; required at least one for risk tier ", lib.fmt(tier)]),
		scopes,
		"at least one regulatory scope",
	)
}

training_findings(doc) := {f |
	training := [d | some d in object.get(doc, ["lineage", "datasets"], []); d.role == "training"]
	count(training) == 0
	f := lib.finding(
		"documentation.training_data",
		"the lineage names 0 training datasets; required at least 1",
		0,
		1,
	)
}
