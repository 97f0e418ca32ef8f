"""``nag-subnet-<platform>``: the finetuned subnet of every budget, registered as a pyfunc over its ONNX file.

One version per budget of ``finetune@<platform>`` (tags: budget_ms, latency_ms, measured_latency_ms,
test_accuracy, arch_id, arch, supernet_version ...). A version whose ONNX bytes and budget equal an
existing version's is not created again. The model is logged from code (flows/subnet_model.py) and runs
on onnxruntime, numpy and pandas alone (no torch, no ``nag``, no ``flows``). ``mlflow.pyfunc.load_model(uri)
.predict(images)`` takes raw pixel values ``(N, H, W)`` or ``(N, C, H, W)`` in 0..255 and returns each
image's class, label and probability.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import mlflow
from mlflow import MlflowClient

from flows import registry as reg

MODEL_CODE = Path(__file__).resolve().parent / "subnet_model.py"


def _fingerprint(onnx: Path, card: dict) -> str:
    h = hashlib.md5(onnx.read_bytes())
    h.update(json.dumps({"budget_ms": card["budget_ms"], "platform": card["platform"]}).encode())
    return h.hexdigest()


def subnet_tags(card: dict, supernet_version: str | None) -> dict[str, str]:
    lat, acc = card["latency_ms"], card["accuracy"]
    return {
        "budget_ms": f"{card['budget_ms']:.6g}",
        "latency_ms": f"{lat['predicted']:.6g}",
        "latency_bound_ms": f"{lat.get('bound', lat['predicted']):.6g}",
        "confidence": f"{lat.get('confidence', '')}",
        "measured_latency_ms": "" if lat["measured"] is None else f"{lat['measured']:.6g}",
        "measured_latency_corrected_ms": "" if lat.get("measured_corrected") is None
        else f"{lat['measured_corrected']:.6g}",
        "within_budget": str(lat["within_budget"]).lower(),
        "test_accuracy": f"{acc['test_after_finetune']:.4f}",
        "test_accuracy_before_finetune": f"{acc['test_before_finetune']:.4f}",
        "predicted_val_accuracy": "" if acc["predicted_val"] is None else f"{acc['predicted_val']:.4f}",
        "arch_id": card["arch_id"],
        "arch": json.dumps(card["arch"]),
        "params": str(card["params"]),
        "madds": str(card["madds"]),
        "platform": card["platform"],
        "supernet_version": supernet_version or "",
        "supernet_sha256": card["provenance"]["supernet_sha256"] or "",
    }


def register_subnets(root: Path, name: str, run_id: str, client: MlflowClient, prov: dict,
                     supernet_version: str | None, requirements: list[str]) -> dict:
    """One version of ``nag-subnet-<name>`` per budget in ``models/subnets/<name>/index.json``."""
    folder = root / f"models/subnets/{name}"
    index = json.loads((folder / "index.json").read_text())
    model = f"nag-subnet-{name}"
    reg.ensure_model(
        client, model, f"finetuned subnets generated for budgets on {name} (ONNX; one version per budget)"
    )
    known = {
        v.tags.get("fingerprint"): str(v.version) for v in client.search_model_versions(f"name = '{model}'")
    }
    out = []
    for card in index["cards"]:
        onnx = folder / card["onnx"]["file"]
        fp = _fingerprint(onnx, card)
        if fp in known:
            out.append({"budget_ms": card["budget_ms"], "version": known[fp], "created": False})
            continue
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "card.json").write_text(json.dumps(card, indent=2))
            with mlflow.start_run(run_id=run_id):
                info = mlflow.pyfunc.log_model(
                    name=f"subnet-{card['arch_id']}",
                    python_model=str(MODEL_CODE),
                    artifacts={"onnx": str(onnx), "card": str(Path(tmp) / "card.json")},
                    pip_requirements=requirements,
                )
        tags = {**prov, **subnet_tags(card, supernet_version), "fingerprint": fp}
        v = client.create_model_version(model, info.model_uri, run_id=run_id, tags=tags)
        known[fp] = str(v.version)
        out.append({"budget_ms": card["budget_ms"], "version": str(v.version), "created": True})
    return {"platform": name, "subnets": out}
