# Lineage completeness: the artefact has a SHA-256 digest, the version names its code commit, and
# every training dataset has a content digest and comes from an approved source (its `approved`
# flag, and its `source` listed in data.gates.lineage.approved_sources when that list is not empty).
# A bundle whose data lacks approved_sources is denied (lineage.config_missing): give an empty
# list to accept any source.
package steward.gates.rules.lineage

import data.steward.lib

violation contains f if {
	some f in violations(input)
}

violations(doc) := ((((artifact_findings(doc) | commit_findings(doc)) | digest_findings(doc)) | approval_findings(doc)) | source_findings(doc)) | lib.missing_config("lineage", ["lineage.approved_sources"])

sha256_digest(x) if {
	is_string(x)
	regex.match(`^sha256:[0-9a-f]{64}$`, x)
}

artifact_findings(doc) := {f |
	digest := object.get(doc, ["version", "artifact_digest"], null)
	not sha256_digest(digest)
	f := lib.finding(
		"lineage.artifact_digest",
		concat("", ["artefact digest is ", lib.fmt(digest), "; required sha256:<64 hex digits>"]),
		digest,
		"sha256:<64 hex digits>",
	)
}

commit_findings(doc) := {f |
	commit := object.get(doc, ["version", "code_commit"], null)
	lib.blank(commit)
	f := lib.finding(
		"lineage.code_commit",
		concat("", ["code commit is ", lib.fmt(commit), "; required the commit the version was trained from"]),
		commit,
		"code commit",
	)
}

training(doc) := [d | some d in object.get(doc, ["lineage", "datasets"], []); d.role == "training"]

digest_findings(doc) := {f |
	some dataset in training(doc)
	digest := object.get(dataset, "digest", null)
	lib.blank(digest)
	f := lib.finding(
		"lineage.dataset_digest",
		concat("", ["training dataset ", label(dataset), " has digest ", lib.fmt(digest), "; required a content digest"]),
		digest,
		"content digest",
	)
}

approval_findings(doc) := {f |
	some dataset in training(doc)
	approved := object.get(dataset, "approved", null)
	approved != true
	f := lib.finding(
		"lineage.dataset_unapproved",
		concat("", ["training dataset ", label(dataset), " has approved = ", lib.fmt(approved), "; required true"]),
		approved,
		true,
	)
}

source_findings(doc) := {f |
	allowed := data.gates.lineage.approved_sources
	count(allowed) > 0
	some dataset in training(doc)
	source := object.get(dataset, "source", null)
	not source in allowed
	f := lib.finding(
		"lineage.dataset_source",
		concat("", ["training dataset ", label(dataset), " comes from ", lib.fmt(source), "; required one of ", concat(", ", allowed)]),
		source,
		allowed,
	)
}

label(dataset) := concat("@", [lib.fmt(dataset.name), lib.fmt(object.get(dataset, "version", null))])
