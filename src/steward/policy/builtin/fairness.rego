# Fairness of the newest fairness check (see docs/reference/policy-input.md for its values):
# for every protected attribute, the ratio (min / max across groups) of each metric in
# data.gates.fairness.ratio_metrics must reach min_ratio, and the equalised-odds difference must
# not exceed max_equalized_odds_difference. Whether a missing check is a violation, an advisory
# or nothing depends on the risk tier (data.gates.fairness.when_missing; unknown tiers: violation).
# A check in status "error" counts as missing. A bundle whose data lacks min_ratio, ratio_metrics
# or max_equalized_odds_difference is denied (fairness.config_missing) rather than left unchecked.
# A usable check whose values were only reported by the caller (provenance.method is not
# "computed": not measured by Steward from a predictions file) is accepted with a warning.
package steward.gates.rules.fairness

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

advisory contains f if {
	some f in advisories(input)
}

violations(doc) := (missing(doc, newest(doc), "violation") | breaches(newest(doc))) | lib.missing_config("fairness", config_keys)

advisories(doc) := missing(doc, newest(doc), "advisory") | reported(newest(doc))

config_keys := ["fairness.min_ratio", "fairness.ratio_metrics", "fairness.max_equalized_odds_difference"]

cfg := data.gates.fairness

# The newest fairness check, or null.
newest(doc) := check if {
	check := lib.latest_check(doc, "fairness")
} else := null

when_missing(doc) := level if {
	level := cfg.when_missing[lib.tier(doc)]
} else := "violation"

usable(check) if {
	check != null
	check.status != "error"
}

missing(doc, check, kind) := {f |
	when_missing(doc) == kind
	not usable(check)
	status := status_of(check)
	f := lib.finding(
		"fairness.missing",
		concat("", [missing_reason(status), "; required a fairness check that ran, for risk tier ", lib.fmt(lib.tier(doc))]),
		status,
		"fairness check",
	)
}

status_of(check) := check.status if {
	check != null
} else := null

missing_reason(status) := "no fairness check" if {
	status == null
} else := concat("", ["the newest fairness check is in status ", lib.fmt(status)])

# A usable check that Steward did not compute: its values are the caller's word.
reported(check) := {f |
	usable(check)
	method := object.get(check, ["provenance", "method"], null)
	method != "computed"
	f := lib.finding(
		"fairness.reported",
		concat("", ["the newest fairness check was ", reported_how(method), ", not computed by Steward from a predictions file; required a computed check (steward check fairness)"]),
		method,
		"computed",
	)
}

reported_how(method) := "reported by its caller" if {
	method == "reported"
} else := concat("", ["recorded with provenance ", lib.fmt(method)])

breaches(check) := found if {
	usable(check)
	attributes := object.get(check, ["values", "attributes"], {})
	found := (ratio_findings(attributes) | odds_findings(attributes)) | malformed_findings(attributes)
} else := set()

ratio_findings(attributes) := {f |
	some attribute
	values := attributes[attribute]
	some metric in cfg.ratio_metrics
	ratio := object.get(values, ["metrics", metric, "ratio"], null)
	is_number(ratio)
	ratio < cfg.min_ratio
	f := lib.finding(
		"fairness.disparity_ratio",
		concat("", [metric, " ratio across groups of ", attribute, " is ", lib.fmt(ratio), "; required >= ", lib.fmt(cfg.min_ratio)]),
		ratio,
		cfg.min_ratio,
	)
}

odds_findings(attributes) := {f |
	some attribute
	values := attributes[attribute]
	difference := object.get(values, "equalized_odds_difference", null)
	is_number(difference)
	difference > cfg.max_equalized_odds_difference
	f := lib.finding(
		"fairness.equalized_odds",
		concat("", ["equalised-odds difference across groups of ", attribute, " is ", lib.fmt(difference), "; required <= ", lib.fmt(cfg.max_equalized_odds_difference)]),
		difference,
		cfg.max_equalized_odds_difference,
	)
}

# A usable check that does not carry the numbers the rules need counts against the model.
malformed_findings(attributes) := {f |
	count(attributes) == 0
	f := lib.finding(
		"fairness.malformed",
		"the fairness check names no protected attribute; required values.attributes with at least one attribute",
		null,
		"values.attributes",
	)
} | {f |
	some attribute
	values := attributes[attribute]
	some metric in cfg.ratio_metrics
	not is_number(object.get(values, ["metrics", metric, "ratio"], null))
	f := lib.finding(
		"fairness.malformed",
		concat("", ["the fairness check has no ", metric, " ratio for ", attribute, "; required a number"]),
		null,
		concat(".", ["values.attributes", attribute, "metrics", metric, "ratio"]),
	)
} | {f |
	some attribute
	values := attributes[attribute]
	not is_number(object.get(values, "equalized_odds_difference", null))
	f := lib.finding(
		"fairness.malformed",
		concat("", ["the fairness check has no equalised-odds difference for ", attribute, "; required a number"]),
		null,
		concat(".", ["values.attributes", attribute, "equalized_odds_difference"]),
	)
}
