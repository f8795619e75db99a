# The decision: the findings of every rule family, sorted into deny and warn by the enforcement
# level the target environment gives the family (data.gates.environments; an unknown environment
# uses "default"; a family the profile does not name, or names with an unknown level, is "deny").
#
#   violation  -> deny when the level is "deny", warn when "warn", dropped when "off"
#   advisory   -> warn unless the level is "off"
#
# A family is a package steward.gates.rules.<family> that defines a `violation` and/or an
# `advisory` set. Each one is named below, by a plain reference: regorus evaluates a reference
# with a variable in it (data.steward.gates.rules[family]) by evaluating every package, which
# costs more than the rules themselves. validate_bundle refuses a bundle whose family sets are
# not named here, so a new family cannot be left out silently.
package steward.gates

import data.steward.gates.rules

violations := {
	"metrics": rules.metrics.violation,
	"fairness": rules.fairness.violation,
	"documentation": rules.documentation.violation,
	"lineage": rules.lineage.violation,
	"runtime": rules.runtime.violation,
	"data_quality": rules.data_quality.violation,
	"incidents": rules.incidents.violation,
}

advisories := {
	"fairness": rules.fairness.advisory,
	"review": rules.review.advisory,
}

decision := decide(violations, advisories, input.target.environment)

deny := decision.deny

warn := decision.warn

decide(found, advised, environment) := {"deny": denied, "warn": warned} if {
	profile := profile_for(environment)
	denied := {f | some family; level(profile, family) == "deny"; some f in found[family]}
	warned := {f | some family; level(profile, family) == "warn"; some f in found[family]} | {f | some family; level(profile, family) != "off"; some f in advised[family]}
}

profile_for(environment) := profile if {
	profile := data.gates.environments[environment]
} else := data.gates.environments["default"]

level(profile, family) := "warn" if {
	profile[family] == "warn"
} else := "off" if {
	profile[family] == "off"
} else := "deny"
