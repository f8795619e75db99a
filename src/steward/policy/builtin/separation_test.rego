package steward.tests.separation

import data.steward.workflow.separation

# A validator signing independent validation of a version someone else registered and trained,
# after an ML engineer signed the automated gates.
doc := {
	"review": {"stage": "independent_validation", "decision": "approved", "reviewer": "vera", "roles": ["validator"]},
	"version": {"model": "credit-risk", "version": 3, "registered_by": "dana"},
	"training_run": {"run_id": "r-1", "user": "dana"},
	"reviews": [{"stage": "automated_gates", "decision": "approved", "reviewer": "eli", "role": "ml_engineer"}],
}

signing(changes) := object.union(doc, {"review": object.union(doc.review, changes)})

rules(findings) := {f.rule | some f in findings}

test_an_independent_reviewer_in_the_right_role_may_sign if {
	count(separation.violations(doc)) == 0
}

test_the_registrant_may_not_sign if {
	found := separation.violations(object.union(doc, {"version": {"model": "credit-risk", "version": 3, "registered_by": "Vera "}}))
	rules(found) == {"separation.registrant"}
}

test_the_run_author_may_not_sign if {
	found := separation.violations(object.union(doc, {"training_run": {"run_id": "r-1", "user": "vera"}}))
	rules(found) == {"separation.run_author"}
	some f in found
	f.measured == "vera"
}

test_a_version_without_a_run_has_no_run_author if {
	count(separation.violations(object.union(doc, {"training_run": null}))) == 0
}

test_one_person_signs_one_stage if {
	found := separation.violations(signing({"reviewer": "eli", "roles": ["validator", "ml_engineer"]}))
	rules(found) == {"separation.one_stage"}
	some f in found
	f.measured == ["automated_gates"]
}

test_signing_the_same_stage_again_is_one_stage if {
	count(separation.violations(signing({"stage": "automated_gates", "reviewer": "eli", "roles": ["ml_engineer"]}))) == 0
}

test_each_stage_needs_its_role if {
	found := separation.violations(signing({"roles": ["compliance_officer", "admin"]}))
	rules(found) == {"separation.stage_role"}
	some f in found
	f.measured == ["admin", "compliance_officer"]
	f.required == ["validator"]
}

test_an_unknown_stage_needs_a_role_nobody_has if {
	rules(separation.violations(signing({"stage": "vibe_check"}))) == {"separation.stage_role"}
}

test_every_rule_at_once if {
	bad := object.union(signing({"reviewer": "dana", "roles": ["data_scientist"]}), {"reviews": [{"stage": "automated_gates", "decision": "approved", "reviewer": "dana", "role": "ml_engineer"}]})
	rules(separation.violations(bad)) == {"separation.registrant", "separation.run_author", "separation.one_stage", "separation.stage_role"}
}
