# The decision: the findings of every rule family, sorted into deny and warn by the enforcement
# level the target environment gives the family (data.gates.environments; an unknown environment
# uses "default"; a family the profile does not name, or names with an unknown level, is "deny").
# A bundle whose data has neither the environment's profile nor a "default" one enforces every
# family as "deny" and denies with gates.config_missing, naming data.gates.environments.default.
# A family's <family>.config_missing finding (its data is incomplete) is denied at every level.
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
import data.steward.lib

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
	denied := ({f | some family; level(profile, family) == "deny"; some f in found[family]} | misconfigured(found)) | unprofiled(environment)
	warned := {f | some family; level(profile, family) == "warn"; some f in found[family]; not misconfiguration(f)} | {f | some family; level(profile, family) != "off"; some f in advised[family]}
}

# A finding that the bundle's own data is incomplete, not that the model falls short: it is
# denied whatever the family's level, so that no environment runs a family without its data.
misconfiguration(f) if endswith(f.rule, ".config_missing")

misconfigured(found) := {f | some family; some f in found[family]; misconfiguration(f)}

profile_for(environment) := profile if {
	profile := data.gates.environments[environment]
} else := profile if {
	profile := data.gates.environments["default"]
} else := {}

# The finding of a bundle that has no profile for `environment` and no default one.
unprofiled(environment) := {f |
	not data.gates.environments[environment]
	not data.gates.environments["default"]
	f := lib.finding(
		"gates.config_missing",
		concat("", ["the bundle's data has no data.gates.environments.default (nor a profile for ", lib.fmt(environment), "); required the enforcement profiles"]),
		null,
		"data.gates.environments.default",
	)
}

level(profile, family) := "warn" if {
	profile[family] == "warn"
} else := "off" if {
	profile[family] == "off"
} else := "deny"
