package steward.tests.fairness

import data.steward.gates.rules.fairness
import data.steward.tests.fixtures

test_passing_document_has_no_finding if {
	count(fairness.violations(fixtures.doc)) == 0
	count(fairness.advisories(fixtures.doc)) == 0
}

test_disparity_ratio if {
	doc := fixtures.replace(fixtures.doc, {"checks": [fixtures.fairness_check(0.62, 0.9, 0.04, "2024-07-02T00:00:00Z")]})
	found := fairness.violations(doc)
	fixtures.rules(found) == {"fairness.disparity_ratio"}
	some f in found
	f.measured == 0.62
	f.required == 0.8
}

test_equalized_odds if {
	doc := fixtures.replace(fixtures.doc, {"checks": [fixtures.fairness_check(0.95, 0.9, 0.15, "2024-07-02T00:00:00Z")]})
	found := fairness.violations(doc)
	fixtures.rules(found) == {"fairness.equalized_odds"}
	some f in found
	f.measured == 0.15
	f.required == 0.1
}

test_missing_is_a_violation_for_high_tier if {
	doc := fixtures.replace(fixtures.doc, {"checks": []})
	fixtures.rules(fairness.violations(doc)) == {"fairness.missing"}
	count(fairness.advisories(doc)) == 0
}

test_missing_is_an_advisory_for_medium_tier if {
	doc := fixtures.replace(fixtures.patch("model", {"risk_tier": "medium"}), {"checks": []})
	count(fairness.violations(doc)) == 0
	fixtures.rules(fairness.advisories(doc)) == {"fairness.missing"}
}

test_errored_check_counts_as_missing if {
	check := fixtures.replace(fixtures.fairness_check(0.95, 0.9, 0.04, "2024-07-02T00:00:00Z"), {"status": "error"})
	doc := fixtures.replace(fixtures.doc, {"checks": [check]})
	some f in fairness.violations(doc)
	f.rule == "fairness.missing"
	f.measured == "error"
}

test_newest_check_decides if {
	old := fixtures.fairness_check(0.5, 0.5, 0.5, "2024-06-01T00:00:00Z")
	new := fixtures.fairness_check(0.95, 0.9, 0.04, "2024-07-01T00:00:00Z")
	doc := fixtures.replace(fixtures.doc, {"checks": [new, old]})
	count(fairness.violations(doc)) == 0
}

test_check_without_numbers_is_malformed if {
	check := fixtures.replace(fixtures.fairness_check(0.95, 0.9, 0.04, "2024-07-02T00:00:00Z"), {"values": {"attributes": {}}})
	doc := fixtures.replace(fixtures.doc, {"checks": [check]})
	fixtures.rules(fairness.violations(doc)) == {"fairness.malformed"}
}

test_missing_configuration_denies if {
	found := fairness.violations(fixtures.doc) with data.gates.fairness as {"min_ratio": 0.8}
	fixtures.rules(found) == {"fairness.config_missing"}
	{f.required | some f in found} == {"data.gates.fairness.ratio_metrics", "data.gates.fairness.max_equalized_odds_difference"}
}

test_reported_check_warns if {
	check := fixtures.replace(fixtures.fairness_check(0.95, 0.9, 0.04, "2024-07-02T00:00:00Z"), {"provenance": {"method": "reported"}})
	doc := fixtures.replace(fixtures.doc, {"checks": [check]})
	count(fairness.violations(doc)) == 0
	found := fairness.advisories(doc)
	fixtures.rules(found) == {"fairness.reported"}
	some f in found
	f.measured == "reported"
	f.required == "computed"
}

test_check_without_provenance_warns if {
	check := object.remove(fixtures.fairness_check(0.95, 0.9, 0.04, "2024-07-02T00:00:00Z"), {"provenance"})
	doc := fixtures.replace(fixtures.doc, {"checks": [check]})
	some f in fairness.advisories(doc)
	f.rule == "fairness.reported"
	f.measured == null
}
