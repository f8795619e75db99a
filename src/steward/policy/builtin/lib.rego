# Helpers shared by the built-in rule families.
#
# Written in the subset of Rego v1 that both engines evaluate alike: no `with input`, no
# `some k, v in x` inside a comprehension, no comparison across types, no arithmetic whose
# result is reported, and no sprintf of strings (rego-cpp prints some strings with their quotes):
# messages join text with concat, and every value in a message goes through `fmt`.
package steward.lib

# A value as message text. Numbers are rounded to four decimals, without trailing zeros, so that
# every engine prints them alike ("0.7231", "0.8", "12"); null reads "missing", blank text "empty".
fmt(x) := format_int(x, 10) if {
	is_number(x)
	x == round(x)
} else := trim_right(trim_right(sprintf("%.4f", [x]), "0"), ".") if {
	is_number(x)
} else := "missing" if {
	x == null
} else := "empty" if {
	is_string(x)
	trim_space(x) == ""
} else := x if {
	is_string(x)
} else := "true" if {
	x == true
} else := "false" if {
	x == false
} else := type_name(x)

# True when `x` is not a string with some non-space text in it.
blank(x) if not is_string(x)

blank(x) if {
	is_string(x)
	trim_space(x) == ""
}

# The risk tier of the model, or null.
tier(doc) := object.get(doc, ["model", "risk_tier"], null)

# The rule families' configuration (data.gates), or an empty object when the bundle has none.
config := data.gates if {
	is_object(data.gates)
} else := {}

# True when the bundle's data has no value (or null) at `path` under data.gates, a dotted path
# such as "fairness.min_ratio".
unconfigured(path) if {
	object.get(config, split(path, "."), null) == null
}

# A finding for each of `paths` (under data.gates) that the bundle's data lacks: a rule family
# whose configuration is missing denies, naming the key, rather than silently checking nothing.
missing_config(family, paths) := {f |
	some path in paths
	unconfigured(path)
	key := concat(".", ["data.gates", path])
	f := finding(
		concat(".", [family, "config_missing"]),
		concat("", ["the bundle's data has no ", key, "; required the ", family, " rules' configuration"]),
		null,
		key,
	)
}

# The newest check of `kind` (by `created_at`; the later entry wins a tie).
latest_check(doc, kind) := check if {
	checks := [c | some c in object.get(doc, ["checks"], []); c.kind == kind]
	count(checks) > 0
	order := sort([[c.created_at, i] | some i; c := checks[i]])
	newest := order[count(order) - 1]
	check := checks[newest[1]]
}

# A finding: the one shape every rule reports.
finding(rule, message, measured, required) := {
	"rule": rule,
	"message": concat(": ", [rule, message]),
	"measured": measured,
	"required": required,
}
