package steward.tests.documentation

import data.steward.gates.rules.documentation
import data.steward.tests.fixtures

test_passing_document_has_no_violation if {
	count(documentation.violations(fixtures.doc)) == 0
}

test_missing_field if {
	doc := fixtures.patch("model", {"limitations": null, "intended_use": "  "})
	found := documentation.violations(doc)
	messages := {f.message | some f in found}
	messages == {
		"documentation.missing_field: model limitations is missing; required non-empty text",
		"documentation.missing_field: model intended_use is empty; required non-empty text",
	}
}

test_regulatory_scopes_required_for_high_tier if {
	doc := fixtures.patch("model", {"regulatory_scopes": []})
	fixtures.rules(documentation.violations(doc)) == {"documentation.regulatory_scopes"}
}

test_regulatory_scopes_optional_for_low_tier if {
	doc := fixtures.patch("model", {"regulatory_scopes": [], "risk_tier": "low"})
	count(documentation.violations(doc)) == 0
}

test_training_data_required if {
	doc := fixtures.patch("lineage", {"datasets": []})
	found := documentation.violations(doc)
	fixtures.rules(found) == {"documentation.training_data"}
}

test_missing_configuration_denies if {
	found := documentation.violations(fixtures.doc) with data.gates.documentation as {"required_fields": ["owner"]}
	fixtures.rules(found) == {"documentation.config_missing"}
	{f.required | some f in found} == {"data.gates.documentation.regulatory_scopes_required_for"}
}
