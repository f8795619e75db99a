"""The cheapest answer this server stack can give: FastAPI on uvicorn (as ``steward serve`` runs
them), one route that returns an empty JSON object without reading anything. ``vs_mlflow.py``
times it with the same client as the real queries: no server on this stack answers faster, so
MLflow's time over this floor is the largest ratio any of them could reach."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/noop")
async def noop() -> dict[str, str]:
    return {}
