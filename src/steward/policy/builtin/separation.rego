# Separation of duties: who may sign a stage of a model version. Steward evaluates these rules
# before it writes a review; any violation refuses the review (403 `separation_of_duties`, naming
# the rule) and nothing is written.
#
#   separation.registrant   whoever registered the version signs none of its stages
#   separation.run_author   nor does the recorded author (user) of its training run
#   separation.one_stage    one person signs one stage of a version, never two
#   separation.stage_role   a stage is signed in one of its roles (data.workflow.stage_roles)
#
# The input is the review being signed and what the version records about who built it:
#   {"review": {"stage", "decision", "reviewer", "roles": [...]},
#    "version": {"model", "version", "registered_by"},
#    "training_run": {"run_id", "user"} or null,
#    "reviews": [{"stage", "decision", "reviewer", "role"}, ...]}   (the version's earlier reviews)
# Names are compared without case and surrounding spaces.
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
