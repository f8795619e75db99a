# Review cadence: a model whose periodic review is overdue is flagged (an advisory, never a denial).
package steward.gates.rules.review

import data.steward.lib

advisory contains f if {
	some f in advisories(input)
}

advisories(doc) := {f |
	object.get(doc, ["model", "review_overdue"], false) == true
	f := lib.finding(
		"review.overdue",
		"the model's periodic review is overdue; required a review within its cadence",
		true,
		false,
	)
}
