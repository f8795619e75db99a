# Data quality: the newest data-quality check, when there is one, must have passed.
package steward.gates.rules.data_quality

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

violations(doc) := {f |
	check := lib.latest_check(doc, "data_quality")
	check.status != "pass"
	f := lib.finding(
		"data_quality.failed",
		concat("", ["the newest data-quality check is in status ", lib.fmt(check.status), "; required pass"]),
		check.status,
		"pass",
	)
}
