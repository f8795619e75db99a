# No unresolved high-severity incident: any incident with severity "high" (or "critical") in a
# state other than "resolved" blocks promotion. The message names each blocking incident by its id
# and title (when the document carries them), so the decision says why, not only how many.
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
		concat("", [lib.fmt(count(open)), " unresolved high-severity incident(s)", named(open), "; required 0"]),
		count(open),
		0,
	)
}

# ": incident 7 (Alias 'production' set outside Steward ...), incident 9 (drift)", or "" when no
# incident in `open` carries an id or a title.
named(open) := concat("", [": ", concat(", ", names)]) if {
	names := [label(i) | some i in open; label(i) != ""]
	count(names) > 0
} else := ""

# One incident as message text: "incident 7 (title)", "incident 7", "(title)" or "".
label(i) := concat("", ["incident ", lib.fmt(i.id), " (", i.title, ")"]) if {
	is_number(object.get(i, "id", null))
	not lib.blank(object.get(i, "title", null))
} else := concat("", ["incident ", lib.fmt(i.id)]) if {
	is_number(object.get(i, "id", null))
} else := concat("", ["(", i.title, ")"]) if {
	not lib.blank(object.get(i, "title", null))
} else := ""
