package steward.tests.metrics

import data.steward.gates.rules.metrics
import data.steward.tests.fixtures

test_passing_document_has_no_violation if {
	count(metrics.violations(fixtures.doc)) == 0
}

test_floor_below if {
	doc := fixtures.patch("version", {"metrics": {"accuracy": 0.72, "auc": 0.87}})
	found := metrics.violations(doc)
	fixtures.rules(found) == {"metrics.floor"}
	some f in found
	f.measured == 0.72
	f.required == 0.8
	f.message == "metrics.floor: metric accuracy is 0.72; required >= 0.8 for risk tier high"
}

test_missing_metric if {
	doc := fixtures.patch("version", {"metrics": {"accuracy": 0.91}})
	found := metrics.violations(doc)
	fixtures.rules(found) == {"metrics.missing"}
	some f in found
	f.measured == null
	f.required == 0.75
}

test_low_tier_checks_only_its_floors if {
	low_model := fixtures.replace(fixtures.doc.model, {"risk_tier": "low"})
	doc := fixtures.replace(fixtures.patch("version", {"metrics": {"accuracy": 0.61}}), {"model": low_model})
	count(metrics.violations(doc)) == 0
}

test_unknown_tier if {
	doc := fixtures.patch("model", {"risk_tier": "extreme"})
	fixtures.rules(metrics.violations(doc)) == {"metrics.risk_tier"}
}

test_missing_configuration_denies if {
	found := metrics.violations(fixtures.doc) with data.gates.metric_floors as null
	fixtures.rules(found) == {"metrics.config_missing"}
	some f in found
	f.required == "data.gates.metric_floors"
}
