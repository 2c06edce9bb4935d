"""Log a trained bundle as an MLflow models-from-code pyfunc, register it, and attach its papers.

Called inside an MLflow run the caller started (it logs params, metrics and plots around it).
Nothing is pickled: the model is this package's `pyfunc_model.py`, the weights are safetensors.
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient
from pydantic import BaseModel

from tasks.register.model_card import CardInput, render_model_card

TASKS_DIR = Path(__file__).resolve().parents[1]
PYFUNC_FILE = Path(__file__).resolve().with_name("pyfunc_model.py")
MODEL_NAME_IN_RUN = "model"
CARD_FILE = "model_card.md"
# What the logged model needs at load time, pinned to the versions installed here.
REQUIRED_PACKAGES = (
    "torch", "tokenizers", "safetensors", "pandas", "pyarrow", "numpy", "pydantic", "scikit-learn", "mlflow",
)


class RegisteredVersion(BaseModel):
    """A registered model version: `models:/<name>/<version>` logged by run `run_id`."""

    name: str
    version: str
    run_id: str
    model_uri: str
    logged_model_uri: str


def pip_requirements() -> list[str]:
    """`package==version` for each package the pyfunc imports (local version tags such as +cpu dropped)."""
    pins = []
    for package in REQUIRED_PACKAGES:
        try:
            pins.append(f"{package}=={version(package).split('+')[0]}")
        except PackageNotFoundError:  # pragma: no cover - every one is a project dependency
            continue
    return pins


def file_hash(path: Path) -> str:
    """sha256 (hex, 16 chars) of a file's bytes, e.g. the bundle's `tokenizer.json`."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def log_and_register(
    bundle_dir: Path,
    model_name: str,
    signature_example: pd.DataFrame,
    card_md: str | CardInput,
    tags: dict[str, str],
    extra_artifacts: dict[str, Path],
) -> RegisteredVersion:
    """Log `bundle_dir` as a pyfunc in the active run, register it as `model_name`, and attach the papers.

    In: the bundle folder, the registered-model name, a few raw input rows (signature and input
    example; the output schema comes from the model's own prediction on them), the model card
    Markdown (or its `CardInput`, then rendered with the new version number filled in), tags (dataset manifest hash, code version, pipeline, audit hash, ...), and files or
    folders to attach to the run, each under the artifact folder named by its key.
    Out: the new version. Side effects: version and run tags (plus `tokenizer_hash` and
    `weights_hash` computed from the bundle), the card as version and registered-model description
    and as `model_card.md` in the run.
    """
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register must be called inside an active MLflow run (mlflow.start_run())")
    bundle_dir = Path(bundle_dir)
    from tasks.train.bundle import load_predictor

    example = signature_example.reset_index(drop=True)
    prediction = load_predictor(bundle_dir, device="cpu").predict(example)
    signature = infer_signature(example, prediction)
    all_tags = {
        **{key: str(value) for key, value in tags.items()},
        "tokenizer_hash": file_hash(bundle_dir / "tokenizer.json"),
        "weights_hash": file_hash(bundle_dir / "model.safetensors"),
    }
    with tempfile.TemporaryDirectory(prefix="corpusmill-code-") as tmp:
        code_dir = Path(tmp) / "tasks"
        shutil.copytree(TASKS_DIR, code_dir, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pkl", "*.pickle"))
        info = mlflow.pyfunc.log_model(
            name=MODEL_NAME_IN_RUN,
            python_model=str(PYFUNC_FILE),
            artifacts={"bundle": str(bundle_dir)},
            code_paths=[str(code_dir)],
            pip_requirements=pip_requirements(),
            signature=signature,
            input_example=example,
            registered_model_name=model_name,
            tags=all_tags,
        )
    registered = info.registered_model_version
    if registered is None:
        raise RuntimeError(f"MLflow did not register {model_name!r}")
    version_id = str(registered)
    if isinstance(card_md, CardInput):
        from tokenizers import Tokenizer

        tokenizer = {"vocab_size": Tokenizer.from_file(str(bundle_dir / "tokenizer.json")).get_vocab_size(),
                     "tokenizer_hash (sha256 of the bundle's tokenizer.json, as the tag)": all_tags["tokenizer_hash"],
                     **card_md.tokenizer}
        card_md = render_model_card(card_md.model_copy(update={"version": version_id, "tokenizer": tokenizer}))
    client = MlflowClient()
    for key, value in all_tags.items():
        client.set_model_version_tag(model_name, version_id, key, value)
    mlflow.set_tags(all_tags)
    client.update_model_version(model_name, version_id, description=card_md)
    client.update_registered_model(model_name, description=card_md)
    mlflow.log_text(card_md, CARD_FILE)
    for folder, path in extra_artifacts.items():
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=folder)
        elif path.is_file():
            mlflow.log_artifact(str(path), artifact_path=folder)
        else:
            raise FileNotFoundError(f"extra artifact {folder!r}: {path} does not exist")
    return RegisteredVersion(
        name=model_name, version=version_id, run_id=run.info.run_id,
        model_uri=f"models:/{model_name}/{version_id}", logged_model_uri=info.model_uri,
    )
