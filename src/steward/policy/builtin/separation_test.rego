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

# -- conditions: marked met by neither the registrant nor the run author -----------------------

condition := {
	"condition": {"id": 7, "stage": "independent_validation", "text": "monitor drift", "set_by": "vera"},
	"actor": {"name": "cora", "roles": ["compliance_officer"]},
	"version": {"model": "credit-risk", "version": 3, "registered_by": "dana"},
	"training_run": {"run_id": "r-1", "user": "alice"},
}

meeting(name) := object.union(condition, {"actor": {"name": name, "roles": ["validator"]}})

test_someone_independent_may_mark_a_condition_met if {
	count(separation.condition_violations(condition)) == 0
}

test_the_registrant_may_not_mark_a_condition_met if {
	found := separation.condition_violations(meeting(" DANA"))
	rules(found) == {"separation.condition_registrant"}
	some f in found
	f.measured == " DANA"
}

test_the_run_author_may_not_mark_a_condition_met if {
	rules(separation.condition_violations(meeting("alice"))) == {"separation.condition_run_author"}
}

test_a_version_without_a_run_has_no_run_author_to_refuse if {
	count(separation.condition_violations(object.union(meeting("alice"), {"training_run": null}))) == 0
}

test_the_reviewer_who_set_the_condition_may_mark_it_met if {
	count(separation.condition_violations(meeting("vera"))) == 0
}

# -- attestations: the owner by name, or a business owner --------------------------------------

attesting(name, roles, owner) := {
	"attestation": {"model": "credit-risk", "owner": owner},
	"actor": {"name": name, "roles": roles},
}

test_the_owner_named_on_the_record_may_attest if {
	count(separation.attestation_violations(attesting("Dana", ["data_scientist"], "dana "))) == 0
}

test_a_business_owner_may_attest_for_a_team if {
	count(separation.attestation_violations(attesting("bo", ["business_owner"], "risk-analytics"))) == 0
}

test_anyone_else_may_not_attest if {
	found := separation.attestation_violations(attesting("eli", ["admin", "ml_engineer"], "risk-analytics"))
	rules(found) == {"separation.attestation_owner"}
	some f in found
	f.measured == "eli"
	contains(f.message, "risk-analytics")
}

test_the_attesting_roles_come_from_the_data if {
	doc := attesting("carl", ["compliance_officer"], "risk-analytics")
	count(separation.attestation_violations(doc)) == 1
	count(separation.attestation_violations(doc)) == 0 with data.workflow.attestation_roles as ["compliance_officer"]
}
