package steward.tests.runtime

import data.steward.gates.rules.runtime
import data.steward.tests.fixtures

test_passing_document_has_no_violation if {
	count(runtime.violations(fixtures.doc)) == 0
}

test_python_version if {
	doc := fixtures.patch_environment({"python_version": null})
	fixtures.rules(runtime.violations(doc)) == {"runtime.python_version"}
}

test_dependency_lock if {
	doc := fixtures.patch_environment({"dependency_lock_digest": ""})
	found := runtime.violations(doc)
	fixtures.rules(found) == {"runtime.dependency_lock"}
}
