package steward.tests.gates

import data.steward.gates

a := {"rule": "metrics.floor", "message": "m", "measured": 0.7, "required": 0.8}

b := {"rule": "fairness.disparity_ratio", "message": "m", "measured": 0.6, "required": 0.8}

c := {"rule": "review.overdue", "message": "m", "measured": true, "required": false}

found := {"metrics": {a}, "fairness": {b}, "lineage": set()}

advised := {"review": {c}}

test_production_denies_every_violation if {
	result := gates.decide(found, advised, "production")
	result.deny == {a, b}
	result.warn == {c}
}

test_staging_relaxes_fairness_to_a_warning if {
	result := gates.decide(found, advised, "staging")
	result.deny == {a}
	result.warn == {b, c}
}

test_unknown_environment_is_strict if {
	result := gates.decide(found, advised, "moon-base")
	result.deny == {a, b}
}

test_off_drops_findings if {
	lab := {"metrics": "off", "fairness": "warn", "review": "off"}
	result := gates.decide(found, advised, "lab") with data.gates.environments.lab as lab
	result.deny == set()
	result.warn == {b}
}

test_unknown_level_is_deny if {
	lab := {"metrics": "Deny", "fairness": "warn"}
	result := gates.decide(found, advised, "lab") with data.gates.environments.lab as lab
	result.deny == {a}
}

test_missing_profiles_deny_everything if {
	result := gates.decide(found, advised, "production") with data.gates.environments as null
	{f.rule | some f in result.deny} == {"metrics.floor", "fairness.disparity_ratio", "gates.config_missing"}
	some f in result.deny
	f.rule == "gates.config_missing"
	f.required == "data.gates.environments.default"
	result.warn == {c}
}

test_missing_config_is_denied_at_every_level if {
	gap := {"rule": "fairness.config_missing", "message": "m", "measured": null, "required": "data.gates.fairness.min_ratio"}
	lab := {"fairness": "off", "metrics": "warn"}
	result := gates.decide({"fairness": {b, gap}, "metrics": {a}}, {}, "lab") with data.gates.environments.lab as lab
	result.deny == {gap}
	result.warn == {a}
	gates.decide({"fairness": {gap}}, {}, "staging").deny == {gap}
	count(gates.decide({"fairness": {gap}}, {}, "staging").warn) == 0
}
