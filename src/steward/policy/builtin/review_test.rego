package steward.tests.review

import data.steward.gates.rules.review
import data.steward.tests.fixtures

test_review_on_time if {
	count(review.advisories(fixtures.doc)) == 0
}

test_review_overdue if {
	doc := fixtures.patch("model", {"review_overdue": true})
	fixtures.rules(review.advisories(doc)) == {"review.overdue"}
}
