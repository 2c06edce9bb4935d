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

from tasks.register.model_card import CardInput, registry_description, render_model_card

TASKS_DIR = Path(__file__).resolve().parents[1]
PYFUNC_FILE = Path(__file__).resolve().with_name("pyfunc_model.py")
MODEL_NAME_IN_RUN = "model"
CARD_FILE = "model_card.md"
# What the logged model needs at load time, pinned to the versions installed here.
REQUIRED_PACKAGES = ("torch", "tokenizers", "safetensors", "pandas", "pyarrow", "numpy", "pydantic", "scikit-learn", "mlflow")


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
    bundle_dir: Path, model_name: str, signature_example: pd.DataFrame, card_md: str | CardInput, tags: dict[str, str], extra_artifacts: dict[str, Path]
) -> RegisteredVersion:
    """Log `bundle_dir` as a pyfunc in the active run, register it as `model_name`, and attach the papers.

    In: the bundle folder, the registered-model name, a few raw input rows (signature and input
    example; the output schema comes from the model's own prediction on them), the model card
    Markdown (or its `CardInput`, then rendered with the new version number filled in), tags (dataset manifest hash, code version, pipeline, audit hash, ...), and files or
    folders to attach to the run, each under the artifact folder named by its key.
    Out: the new version. Side effects: version and run tags (plus `tokenizer_hash` and
    `weights_hash` computed from the bundle), the card as version and registered-model description
    and as `model_card.md` in the run. (`create_version` then `document_version`: the two steps a
    resumed registration can redo separately.)
    """
    registered = create_version(bundle_dir, model_name, signature_example, tags)
    document_version(model_name, registered.version, Path(bundle_dir), card_md, extra_artifacts)
    return registered


def bundle_tags(bundle_dir: Path, tags: dict[str, str]) -> dict[str, str]:
    """`tags` as strings plus the bundle's `tokenizer_hash` and `weights_hash`."""
    return {
        **{key: str(value) for key, value in tags.items()},
        "tokenizer_hash": file_hash(Path(bundle_dir) / "tokenizer.json"),
        "weights_hash": file_hash(Path(bundle_dir) / "model.safetensors"),
    }


def create_version(bundle_dir: Path, model_name: str, signature_example: pd.DataFrame, tags: dict[str, str]) -> RegisteredVersion:
    """Log `bundle_dir` as a pyfunc in the active run and create a version of `model_name` from it
    whose tags (`tags` + `bundle_tags`) are set in the same call that creates it, so a version is
    never without them (a crashed registration is found again by its `train_cache_key` tag)."""
    run = mlflow.active_run()
    if run is None:
        raise RuntimeError("log_and_register must be called inside an active MLflow run (mlflow.start_run())")
    bundle_dir = Path(bundle_dir)
    from tasks.train.bundle import load_predictor

    example = signature_example.reset_index(drop=True)
    prediction = load_predictor(bundle_dir, device="cpu").predict(example)
    signature = infer_signature(example, prediction)
    all_tags = bundle_tags(bundle_dir, tags)
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
            tags=all_tags,
        )
    registered = mlflow.register_model(info.model_uri, model_name, tags=all_tags)
    version_id = str(registered.version)
    mlflow.set_tags(all_tags)
    return RegisteredVersion(
        name=model_name, version=version_id, run_id=run.info.run_id, model_uri=f"models:/{model_name}/{version_id}", logged_model_uri=info.model_uri
    )


def document_version(model_name: str, version_id: str, bundle_dir: Path, card_md: str | CardInput, extra_artifacts: dict[str, Path]) -> None:
    """Attach the papers of version `version_id` of `model_name`, in its run (active): the model card
    (rendered with the version number and the bundle's tokenizer when a `CardInput`) as version and
    registered-model description and as `model_card.md`, and each extra file or folder under the
    artifact folder named by its key. Redoing it after a crash rewrites the same things."""
    if isinstance(card_md, CardInput):
        from tokenizers import Tokenizer

        path = Path(bundle_dir) / "tokenizer.json"
        tokenizer = {
            "vocab_size": Tokenizer.from_file(str(path)).get_vocab_size(),
            "tokenizer_hash (sha256 of the bundle's tokenizer.json, as the tag)": file_hash(path),
            **card_md.tokenizer,
        }
        card_md = render_model_card(card_md.model_copy(update={"version": version_id, "tokenizer": tokenizer}))
    client = MlflowClient()
    description = registry_description(card_md)  # within MLflow's 5,000-character column
    client.update_model_version(model_name, version_id, description=description)
    client.update_registered_model(model_name, description=description)
    mlflow.log_text(card_md, CARD_FILE)
    for folder, path in extra_artifacts.items():
        path = Path(path)
        if path.is_dir():
            mlflow.log_artifacts(str(path), artifact_path=folder)
        elif path.is_file():
            mlflow.log_artifact(str(path), artifact_path=folder)
        else:
            raise FileNotFoundError(f"extra artifact {folder!r}: {path} does not exist")
