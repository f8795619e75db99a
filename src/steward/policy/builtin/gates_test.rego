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
