package steward.tests.lineage

import data.steward.gates.rules.lineage
import data.steward.tests.fixtures

training(changes) := fixtures.patch("lineage", {"datasets": [fixtures.replace(fixtures.doc.lineage.datasets[0], changes)]})

test_passing_document_has_no_violation if {
	count(lineage.violations(fixtures.doc)) == 0
}

test_artifact_digest if {
	doc := fixtures.patch("version", {"artifact_digest": "md5:abc"})
	found := lineage.violations(doc)
	fixtures.rules(found) == {"lineage.artifact_digest"}
	some f in found
	f.measured == "md5:abc"
}

test_code_commit if {
	doc := fixtures.patch("version", {"code_commit": null})
	fixtures.rules(lineage.violations(doc)) == {"lineage.code_commit"}
}

test_dataset_digest if {
	fixtures.rules(lineage.violations(training({"digest": ""}))) == {"lineage.dataset_digest"}
}

test_dataset_unapproved if {
	fixtures.rules(lineage.violations(training({"approved": false}))) == {"lineage.dataset_unapproved"}
}

test_approved_sources_when_listed if {
	found := lineage.violations(fixtures.doc) with data.gates.lineage.approved_sources as ["lake"]
	fixtures.rules(found) == {"lineage.dataset_source"}
}

test_missing_configuration_denies if {
	found := lineage.violations(fixtures.doc) with data.gates.lineage as {}
	fixtures.rules(found) == {"lineage.config_missing"}
	some f in found
	f.required == "data.gates.lineage.approved_sources"
	f.message == "lineage.config_missing: the bundle's data has no data.gates.lineage.approved_sources; required the lineage rules' configuration"
}
