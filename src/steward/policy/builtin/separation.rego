# Separation of duties: who may sign a stage of a model version, mark a condition of its
# approval met, and attest a model's record. Steward evaluates these rules before it writes the
# review, the condition or the attestation; any violation refuses it (403 `separation_of_duties`,
# naming the rule) and nothing is written.
#
#   separation.registrant             whoever registered the version signs none of its stages
#   separation.run_author             nor does the recorded author (user) of its training run
#   separation.one_stage              one person signs one stage of a version, never two
#   separation.stage_role             a stage is signed in one of its roles (data.workflow.stage_roles)
#   separation.condition_registrant   the registrant does not mark a condition of the version met
#   separation.condition_run_author   nor does the author of its training run (the conditions
#                                     constrain the people who built it)
#   separation.attestation_owner      a model's record is attested by its owner: the principal
#                                     whose name is the owner field (a person), or someone holding
#                                     an attesting role (data.workflow.attestation_roles, default
#                                     business_owner) when the owner is a team
#
# The input is the review being signed and what the version records about who built it:
#   {"review": {"stage", "decision", "reviewer", "roles": [...]},
#    "version": {"model", "version", "registered_by"},
#    "training_run": {"run_id", "user"} or null,
#    "reviews": [{"stage", "decision", "reviewer", "role"}, ...]}   (the version's earlier reviews)
# Names are compared without case and surrounding spaces.
#
# `condition_violation` reads a condition being marked met:
#   {"condition": {"id", "stage", "text", "set_by"}, "actor": {"name", "roles": [...]},
#    "version": {"model", "version", "registered_by"}, "training_run": {"run_id", "user"} or null}
# `attestation_violation` reads an attestation:
#   {"attestation": {"model", "owner"}, "actor": {"name", "roles": [...]}}
package steward.workflow.separation

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

violations(doc) := ((registrant(doc) | run_author(doc)) | one_stage(doc)) | stage_role(doc)

same_person(a, b) if {
	is_string(a)
	is_string(b)
	trim_space(a) != ""
	lower(trim_space(a)) == lower(trim_space(b))
}

registrant(doc) := {f |
	reviewer := doc.review.reviewer
	same_person(reviewer, object.get(doc, ["version", "registered_by"], null))
	f := lib.finding(
		"separation.registrant",
		concat("", [lib.fmt(reviewer), " registered this version; required a reviewer who did not register it"]),
		reviewer,
		"someone other than the registrant",
	)
}

run_author(doc) := {f |
	reviewer := doc.review.reviewer
	run := object.get(doc, "training_run", null)
	is_object(run)
	same_person(reviewer, object.get(run, "user", null))
	f := lib.finding(
		"separation.run_author",
		concat("", [
			lib.fmt(reviewer), " is the author of training run ", lib.fmt(object.get(run, "run_id", null)),
			"; required a reviewer who did not train the version",
		]),
		reviewer,
		"someone other than the training run's author",
	)
}

other_stages(doc) := [s |
	some s in {r.stage |
		some r in object.get(doc, "reviews", [])
		same_person(r.reviewer, doc.review.reviewer)
		r.stage != doc.review.stage
	}
]

one_stage(doc) := {f |
	others := sort(other_stages(doc))
	count(others) > 0
	f := lib.finding(
		"separation.one_stage",
		concat("", [
			lib.fmt(doc.review.reviewer), " signed ", concat(", ", others),
			" of this version already; required a different person for each stage",
		]),
		others,
		"a reviewer who signed no other stage of the version",
	)
}

stage_roles(stage) := roles if {
	roles := data.workflow.stage_roles[stage]
} else := []

roles_text(roles) := "none" if {
	count(roles) == 0
} else := concat(" or ", roles)

stage_role(doc) := {f |
	needed := stage_roles(doc.review.stage)
	held := sort([r | some r in object.get(doc, ["review", "roles"], [])])
	count([r | some r in needed; r in held]) == 0
	f := lib.finding(
		"separation.stage_role",
		concat("", [
			"stage ", lib.fmt(doc.review.stage), " is signed by ", roles_text(needed), "; ",
			lib.fmt(doc.review.reviewer), " holds ", roles_text(held),
		]),
		held,
		needed,
	)
}

# -- conditions of an approval ------------------------------------------------------------------

condition_violation contains f if {
	some f in condition_violations(input)
}

condition_violations(doc) := condition_registrant(doc) | condition_run_author(doc)

condition_registrant(doc) := {f |
	actor := doc.actor.name
	same_person(actor, object.get(doc, ["version", "registered_by"], null))
	f := lib.finding(
		"separation.condition_registrant",
		concat("", [
			lib.fmt(actor), " registered this version and may not mark condition ",
			lib.fmt(object.get(doc, ["condition", "id"], null)),
			" of its approval met; required someone other than the registrant",
		]),
		actor,
		"someone other than the registrant",
	)
}

condition_run_author(doc) := {f |
	actor := doc.actor.name
	run := object.get(doc, "training_run", null)
	is_object(run)
	same_person(actor, object.get(run, "user", null))
	f := lib.finding(
		"separation.condition_run_author",
		concat("", [
			lib.fmt(actor), " is the author of training run ", lib.fmt(object.get(run, "run_id", null)),
			" and may not mark condition ", lib.fmt(object.get(doc, ["condition", "id"], null)),
			" of the version's approval met; required someone who did not train the version",
		]),
		actor,
		"someone other than the training run's author",
	)
}

# -- owner attestations --------------------------------------------------------------------------

attestation_violation contains f if {
	some f in attestation_violations(input)
}

attestation_violations(doc) := attestation_owner(doc)

attestation_roles := roles if {
	roles := data.workflow.attestation_roles
	is_array(roles)
} else := ["business_owner"]

attestation_owner(doc) := {f |
	actor := doc.actor.name
	owner := object.get(doc, ["attestation", "owner"], null)
	not same_person(actor, owner)
	held := sort([r | some r in object.get(doc, ["actor", "roles"], [])])
	count([r | some r in attestation_roles; r in held]) == 0
	f := lib.finding(
		"separation.attestation_owner",
		concat("", [
			lib.fmt(actor), " is not the owner of ", lib.fmt(object.get(doc, ["attestation", "model"], null)),
			" (", lib.fmt(owner), ") and holds ", roles_text(held), "; required the owner by name, or ",
			roles_text(attestation_roles),
		]),
		actor,
		concat(" or ", array.concat([lib.fmt(owner)], attestation_roles)),
	)
}
