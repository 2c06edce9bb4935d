"""The saved model, pickle-free: `model.safetensors`, `config.json`, `meta.json`, `tokenizer.json`.

`config.json` = {"kind": ..., "vocab_size": ..., "config": <the kind's config, model_dump>}; the
module is rebuilt from it and `meta.json` by the kind's code, then the weights are loaded with
safetensors. Nothing is pickled or unpickled.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from safetensors.torch import load_file
from tokenizers import Tokenizer
from torch import nn

from tasks.train.checkpoint import atomic_write, state_tensors, write_json, write_tensors
from tasks.train.kind import BatchPredictor, ModelKind
from tasks.train.kinds import get_kind

FILES = ("model.safetensors", "config.json", "meta.json", "tokenizer.json")


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
    write_tensors(out_dir / "model.safetensors", state_tensors(model))
    write_json(out_dir / "meta.json", meta)
    atomic_write(out_dir / "tokenizer.json", tokenizer.to_str().encode())
    vocab_size = model.state_dict()["embedding.weight"].shape[0] if "embedding.weight" in model.state_dict() else tokenizer.get_vocab_size()
    write_json(out_dir / "config.json", {"kind": kind_name, "vocab_size": int(vocab_size), "config": cfg.model_dump(mode="json")})
    return out_dir


def load_bundle(bundle_dir: Path, device: str = "cpu") -> Bundle:
    """Bundle folder -> `Bundle` with the module rebuilt from config + meta, weights loaded
    (strictly) from `model.safetensors`, moved to `device` and put in eval mode."""
    bundle_dir = Path(bundle_dir)
    missing = [name for name in FILES if not (bundle_dir / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{bundle_dir} is not a complete model bundle: missing {missing}")
    spec = json.loads((bundle_dir / "config.json").read_text())
    kind = get_kind(spec["kind"])
    cfg = kind.config_class.model_validate(spec["config"])
    meta = json.loads((bundle_dir / "meta.json").read_text())
    tokenizer = Tokenizer.from_file(str(bundle_dir / "tokenizer.json"))
    model = kind.build(cfg, meta, int(spec["vocab_size"]))
    model.load_state_dict(load_file(str(bundle_dir / "model.safetensors")))
    return Bundle(kind=kind, config=cfg, model=model.to(device).eval(), meta=meta, tokenizer=tokenizer)


def load_predictor(bundle_dir: Path, device: str = "cpu") -> BatchPredictor:
    """Bundle folder -> the kind's Predictor: `predict(df: pd.DataFrame) -> pd.DataFrame`
    (batched, under `torch.inference_mode()`). Stable signature: the MLflow pyfunc calls it."""
    bundle = load_bundle(bundle_dir, device)
    return bundle.kind.predictor(bundle.model, bundle.meta, bundle.tokenizer, bundle.config)
