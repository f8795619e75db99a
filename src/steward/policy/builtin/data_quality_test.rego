package steward.tests.data_quality

import data.steward.gates.rules.data_quality
import data.steward.tests.fixtures

test_passing_check if {
	count(data_quality.violations(fixtures.doc)) == 0
}

test_failed_check if {
	doc := fixtures.replace(fixtures.doc, {"checks": [{"kind": "data_quality", "status": "fail", "values": {}, "created_at": "2024-07-02T00:00:00Z"}]})
	some f in data_quality.violations(doc)
	f.rule == "data_quality.failed"
	f.measured == "fail"
}

test_no_check_is_not_a_violation if {
	count(data_quality.violations(fixtures.replace(fixtures.doc, {"checks": []}))) == 0
}
