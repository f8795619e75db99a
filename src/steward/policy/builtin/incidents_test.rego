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

test_message_names_each_blocking_incident if {
	doc := fixtures.replace(fixtures.doc, {"incidents": [
		{"id": 7, "title": "Alias 'production' set outside Steward", "source": "guard:mlflow", "severity": "high", "state": "open"},
		{"id": 8, "title": "minor drift", "severity": "medium", "state": "open"},
		{"id": 9, "title": "", "severity": "critical", "state": "open"},
	]})
	some f in incidents.violations(doc)
	f.measured == 2
	f.message == "incidents.unresolved_high: 2 unresolved high-severity incident(s): incident 7 (Alias 'production' set outside Steward), incident 9; required 0"
}

test_message_without_ids_or_titles_only_counts if {
	doc := fixtures.replace(fixtures.doc, {"incidents": [{"severity": "high", "state": "open"}]})
	some f in incidents.violations(doc)
	f.message == "incidents.unresolved_high: 1 unresolved high-severity incident(s); required 0"
}
