# No unresolved high-severity incident: any incident with severity "high" (or "critical") in a
# state other than "resolved" blocks promotion.
package steward.gates.rules.incidents

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

blocking := {"high", "critical"}

violations(doc) := {f |
	open := [i | some i in object.get(doc, ["incidents"], []); i.severity in blocking; i.state != "resolved"]
	count(open) > 0
	f := lib.finding(
		"incidents.unresolved_high",
		concat("", [lib.fmt(count(open)), " unresolved high-severity incident(s); required 0"]),
		count(open),
		0,
	)
}
