"""The saved model, pickle-free: `model.safetensors`, `config.json`, `meta.json`, `tokenizer.json`.

`config.json` = {"kind": ..., "vocab_size": ..., "config": <the kind's config, model_dump>,
"files": {name: {bytes, sha256}} of the other three files}; the module is rebuilt from it and
`meta.json` by the kind's code, then the weights are loaded with safetensors (after checking the
recorded sizes and sha256). Nothing is pickled or unpickled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from safetensors import SafetensorError
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn

from tasks.common.errors import IntegrityError, warn
from tasks.train.checkpoint import atomic_write, state_tensors, write_json, write_tensors
from tasks.train.checksums import folder_problems
from tasks.train.kind import BatchPredictor, ModelKind
from tasks.train.kinds import get_kind

FILES = ("model.safetensors", "config.json", "meta.json", "tokenizer.json")
CHECKED = ("model.safetensors", "meta.json", "tokenizer.json")


@dataclass
class Bundle:
    """A loaded bundle: the kind, its parsed config, the module (eval mode), meta and tokenizer."""

    kind: ModelKind[Any]
    config: BaseModel
    model: nn.Module
    meta: dict[str, Any]
    tokenizer: Tokenizer


def save_bundle(out_dir: Path, kind_name: str, cfg: BaseModel, model: nn.Module, meta: dict[str, Any], tokenizer: Tokenizer) -> Path:
    """Write the four bundle files into `out_dir` (each atomically; `config.json` last, so a folder
    with `config.json` is complete). Returns `out_dir`."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "model.safetensors": write_tensors(out_dir / "model.safetensors", state_tensors(model)),
        "meta.json": write_json(out_dir / "meta.json", meta),
        "tokenizer.json": atomic_write(out_dir / "tokenizer.json", tokenizer.to_str().encode()),
    }
    vocab_size = model.state_dict()["embedding.weight"].shape[0] if "embedding.weight" in model.state_dict() else tokenizer.get_vocab_size()
    write_json(
        out_dir / "config.json",
        {"kind": kind_name, "vocab_size": int(vocab_size), "config": cfg.model_dump(mode="json"), "files": {name: d.model_dump() for name, d in files.items()}},
    )
    return out_dir


def bundle_problems(bundle_dir: Path, require_checksums: bool = True) -> list[str]:
    """Damage of a bundle folder, each naming the file and the cause: a missing file, an unreadable
    `config.json`, a file whose size or sha256 differs from `config.json`'s record. A bundle
    without records (older corpusmill) is a problem only when `require_checksums`."""
    bundle_dir = Path(bundle_dir)
    missing = [name for name in FILES if not (bundle_dir / name).is_file()]
    if missing:
        return [f"{bundle_dir / missing[0]}: missing (not a complete model bundle)"]
    try:
        spec = json.loads((bundle_dir / "config.json").read_text())
    except (OSError, ValueError) as error:
        return [f"{bundle_dir / 'config.json'}: unreadable ({type(error).__name__})"]
    if "files" not in spec and not require_checksums:
        return []
    return folder_problems(bundle_dir, spec.get("files", {}), CHECKED)


def weights_hash(bundle_dir: Path) -> str:
    """sha256 (hex, 16 chars) of the bundle's `model.safetensors`: the registry's `weights_hash` tag,
    part of the evaluate cache key (an evaluation is never reused over other weights)."""
    digest = hashlib.sha256()
    with open(Path(bundle_dir) / "model.safetensors", "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]


def bundle_intact(bundle_dir: Path, action: str) -> bool:
    """True when the bundle is complete and matches its checksums; else warn, per damaged file,
    `<file>: <cause>; <action>` (e.g. `...; retraining demo-reviews-sentiment`) and return False."""
    problems = bundle_problems(bundle_dir)
    for problem in problems:
        warn(f"{problem}; {action}")
    return not problems


def load_bundle(bundle_dir: Path, device: str = "cpu") -> Bundle:
    """Bundle folder -> `Bundle` with the module rebuilt from config + meta, weights loaded
    (strictly) from `model.safetensors`, moved to `device` and put in eval mode."""
    bundle_dir = Path(bundle_dir)
    missing = [name for name in FILES if not (bundle_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{bundle_dir} is not a complete model bundle: missing {missing}")
    problems = bundle_problems(bundle_dir, require_checksums=False)
    if problems:
        raise IntegrityError(f"{problems[0]}; retrain the model (re-run the train stage)")
    spec = json.loads((bundle_dir / "config.json").read_text())
    kind = get_kind(spec["kind"])
    cfg = kind.config_class.model_validate(spec["config"])
    meta = json.loads((bundle_dir / "meta.json").read_text())
    tokenizer = Tokenizer.from_file(str(bundle_dir / "tokenizer.json"))
    model = kind.build(cfg, meta, int(spec["vocab_size"]))
    try:
        weights = load_file(str(bundle_dir / "model.safetensors"))
    except (SafetensorError, OSError) as error:  # a damaged bundle written without checksums
        raise IntegrityError(f"{bundle_dir / 'model.safetensors'}: unreadable ({error})") from error
    model.load_state_dict(weights)
    return Bundle(kind=kind, config=cfg, model=model.to(device).eval(), meta=meta, tokenizer=tokenizer)


def load_predictor(bundle_dir: Path, device: str = "cpu") -> BatchPredictor:
    """Bundle folder -> the kind's Predictor: `predict(df: pd.DataFrame) -> pd.DataFrame`
    (batched, under `torch.inference_mode()`). Stable signature: the MLflow pyfunc calls it."""
    bundle = load_bundle(bundle_dir, device)
    return bundle.kind.predictor(bundle.model, bundle.meta, bundle.tokenizer, bundle.config)
