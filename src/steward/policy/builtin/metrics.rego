# Metric floors per risk tier (data.gates.metric_floors). Only the metrics a tier names are
# checked; a named metric that is not reported is a violation. A bundle whose data has no
# metric_floors is denied (metrics.config_missing), a tier it has no floors for too.
package steward.gates.rules.metrics

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

violations(doc) := ((tier_violations(doc) | missing_violations(doc)) | floor_violations(doc)) | lib.missing_config("metrics", ["metric_floors"])

floors(doc) := data.gates.metric_floors[lib.tier(doc)]

tier_violations(doc) := {f |
	not lib.unconfigured("metric_floors")
	tier := lib.tier(doc)
	not data.gates.metric_floors[tier]
	known := sort([t | some t; data.gates.metric_floors[t]])
	f := lib.finding(
		"metrics.risk_tier",
		concat("", ["risk tier ", lib.fmt(tier), " has no metric floors; required one of ", concat(", ", known)]),
		tier,
		known,
	)
}

missing_violations(doc) := {f |
	some name
	floor := floors(doc)[name]
	value := object.get(doc, ["version", "metrics", name], null)
	not is_number(value)
	f := lib.finding(
		"metrics.missing",
		concat("", ["metric ", name, " is ", lib.fmt(value), "; required a number >= ", lib.fmt(floor), " for risk tier ", lib.tier(doc)]),
		value,
		floor,
	)
}

floor_violations(doc) := {f |
	some name
	floor := floors(doc)[name]
	value := object.get(doc, ["version", "metrics", name], null)
	is_number(value)
	value < floor
	f := lib.finding(
		"metrics.floor",
		concat("", ["metric ", name, " is ", lib.fmt(value), "; required >= ", lib.fmt(floor), " for risk tier ", lib.tier(doc)]),
		value,
		floor,
	)
}
