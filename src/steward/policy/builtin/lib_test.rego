package steward.tests.lib

import data.steward.lib

test_fmt_rounds_numbers if {
	lib.fmt(0.123456) == "0.1235"
	lib.fmt(0.8) == "0.8"
	lib.fmt(12) == "12"
}

test_fmt_names_missing_and_empty if {
	lib.fmt(null) == "missing"
	lib.fmt("  ") == "empty"
	lib.fmt("abc") == "abc"
	lib.fmt(false) == "false"
}

test_blank if {
	lib.blank(null)
	lib.blank(" ")
	lib.blank(3)
	not lib.blank("x")
}

test_latest_check_takes_the_newest if {
	doc := {"checks": [
		{"kind": "fairness", "status": "fail", "created_at": "2024-07-02T00:00:00Z"},
		{"kind": "fairness", "status": "pass", "created_at": "2024-07-01T00:00:00Z"},
		{"kind": "data_quality", "status": "error", "created_at": "2024-07-03T00:00:00Z"},
	]}
	lib.latest_check(doc, "fairness").status == "fail"
}

test_latest_check_tie_goes_to_the_later_entry if {
	doc := {"checks": [
		{"kind": "fairness", "status": "fail", "created_at": "2024-07-01T00:00:00Z"},
		{"kind": "fairness", "status": "pass", "created_at": "2024-07-01T00:00:00Z"},
	]}
	lib.latest_check(doc, "fairness").status == "pass"
}

test_latest_check_undefined_without_checks if {
	not lib.latest_check({"checks": []}, "fairness")
}

test_missing_config_names_each_key if {
	found := lib.missing_config("acme", ["acme.limit", "acme.names"]) with data.gates.acme as {"limit": 3}
	{f.required | some f in found} == {"data.gates.acme.names"}
	{f.rule | some f in found} == {"acme.config_missing"}
}

test_unconfigured_without_gates_data if {
	lib.unconfigured("fairness.min_ratio") with data.gates as null
	not lib.unconfigured("fairness.min_ratio")
}
