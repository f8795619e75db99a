# A complete input document that passes every built-in rule for a high-risk model in production,
# and helpers to change one part of it. Tests call the rule families' functions with documents;
# they never use `with input` (see lib.rego).
package steward.tests.fixtures

digest := "sha256:0f343b0931126a20f133d67c2b018a3b5b4d7c5d4c5b0b3f9f1a6a2b0d3c4e5f"

doc := {
	"schema_version": 2,
	"target": {"environment": "production"},
	"model": {
		"name": "credit-risk",
		"owner": "risk-analytics",
		"description": "Scores consumer credit applications.",
		"use_case": "consumer lending",
		"intended_use": "Rank applications for manual underwriting review.",
		"limitations": "Not validated for small-business lending.",
		"risk_tier": "high",
		"regulatory_scopes": ["eu-ai-act-high-risk"],
		"state": "active",
		"tags": {},
		"review_overdue": false,
	},
	"version": {
		"version": 3,
		"state": "validated",
		"artifact_uri": "s3://models/credit-risk/3/model.pkl",
		"artifact_digest": digest,
		"source_platform": "mlflow",
		"external_id": "credit-risk/3",
		"metrics": {"accuracy": 0.91, "auc": 0.87},
		"parameters": {"max_depth": 6},
		"tags": {},
		"code_repository": "https://git.example.com/risk/credit",
		"code_commit": "4f2a9c1",
		"environment": {
			"python_version": "3.11.7",
			"dependency_lock_digest": digest,
			"container_image_digest": null,
		},
		"registered_by": "alice",
	},
	"lineage": {
		"training_run": {
			"run_id": "r-1",
			"platform": "mlflow",
			"experiment": "credit",
			"user": "alice",
			"code_commit": "4f2a9c1",
		},
		"datasets": [
			{
				"name": "applications",
				"version": "2024-06",
				"role": "training",
				"digest": digest,
				"schema_digest": null,
				"source": "warehouse",
				"approved": true,
				"uri": "s3://data/applications/2024-06",
			},
			{
				"name": "applications-holdout",
				"version": "2024-06",
				"role": "test",
				"digest": null,
				"schema_digest": null,
				"source": "warehouse",
				"approved": false,
				"uri": "s3://data/holdout/2024-06",
			},
		],
	},
	"checks": [
		fairness_check(0.95, 0.9, 0.04, "2024-07-01T10:00:00Z"),
		{"kind": "data_quality", "status": "pass", "values": {}, "created_at": "2024-07-01T10:00:00Z", "provenance": {"method": "computed"}},
	],
	"reviews": [],
	"deployments": [],
	"incidents": [],
}

fairness_check(selection_ratio, tpr_ratio, odds_difference, created_at) := {
	"kind": "fairness",
	"status": "pass",
	"values": {"attributes": {"sex": {
		"metrics": {
			"selection_rate": {"ratio": selection_ratio},
			"true_positive_rate": {"ratio": tpr_ratio},
		},
		"equalized_odds_difference": odds_difference,
	}}},
	"created_at": created_at,
	"provenance": {"method": "computed"},
}

# `obj` with the keys of `changes` replaced (not merged: object.union merges nested objects in
# OPA and regorus but not in rego-cpp, so the keys are removed first).
replace(obj, changes) := object.union(object.remove(obj, {k | some k; v := changes[k]}), changes)

# `doc` with the keys of `changes` replaced in its `section`.
patch(section, changes) := replace(doc, {section: replace(doc[section], changes)})

# `doc` with the keys of `changes` replaced in version.environment.
patch_environment(changes) := patch("version", {"environment": replace(doc.version.environment, changes)})

# The rule ids of a set of findings.
rules(findings) := {f.rule | some f in findings}
