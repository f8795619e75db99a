package steward.tests.incidents

import data.steward.gates.rules.incidents
import data.steward.tests.fixtures

test_no_incident if {
	count(incidents.violations(fixtures.doc)) == 0
}

test_open_high_severity if {
	doc := fixtures.replace(fixtures.doc, {"incidents": [
		{"severity": "high", "state": "open"},
		{"severity": "high", "state": "resolved"},
		{"severity": "medium", "state": "open"},
	]})
	found := incidents.violations(doc)
	some f in found
	f.rule == "incidents.unresolved_high"
	f.measured == 1
	f.required == 0
}

test_open_critical_counts_as_high if {
	doc := fixtures.replace(fixtures.doc, {"incidents": [
		{"severity": "critical", "state": "open"},
		{"severity": "high", "state": "open"},
	]})
	some f in incidents.violations(doc)
	f.rule == "incidents.unresolved_high"
	f.measured == 2
}
