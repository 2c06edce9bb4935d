"""Train the toy classifier once and save its final weights and step losses (a helper script of
test_ddp.py, run as one process or under torchrun): `python ddp_worker.py OUT_DIR`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from tasks.train.distributed import DistContext
from tasks.train.kinds import get_kind
from tasks.train.models.lstm_classifier import ClassifierConfig
from tasks.train.trainer import Trainer
from tests.tasks.train.conftest import toy_corpus


def main(out: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    from tests.tasks.train.conftest import FILLER, NEGATIVE, POSITIVE

    torch.set_num_threads(1)
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator([" ".join(POSITIVE + NEGATIVE + FILLER)], trainer=trainers.WordLevelTrainer(special_tokens=["[PAD]", "[UNK]", "[SEP]"]))
    texts, labels, _ = toy_corpus(200)
    splits = ["train"] * 160 + ["validation"] * 40  # 10 global batches of 16 per epoch, none ragged
    import pyarrow as pa

    ids = [e.ids for e in tok.encode_batch(texts)]
    table = pa.table(
        {
            "id": [f"d{i}" for i in range(200)],
            "text": texts,
            "input_ids": pa.array(ids, pa.list_(pa.int32())),
            "length": pa.array([len(x) for x in ids], pa.int32()),
            "split": splits,
            "label": labels,
        }
    )
    kind = get_kind("lstm_classifier")
    cfg = ClassifierConfig(
        embedding_dim=16,
        hidden_size=16,
        dropout=0.0,
        bidirectional=True,
        train={"epochs": 3, "batch_size": 16, "lr": 0.02, "progress": False, "early_stopping_patience": None},
    )
    prepared = kind.prepare(table, tok, cfg)
    seen = []  # examples each training step of this rank saw
    loss = kind.loss
    kind.loss = lambda model, batch: (seen.append(int(batch["labels"].shape[0])), loss(model, batch))[1]
    dist = DistContext.from_env()
    result = Trainer(kind, cfg, prepared, tok.get_vocab_size(), out / "run", dist=dist).run()
    (out / f"rank{dist.rank}.json").write_text(json.dumps({"world_size": dist.world_size, "seen": seen}))
    if dist.is_main:
        save_file({k: v.contiguous() for k, v in result.model.state_dict().items()}, str(out / "weights.safetensors"))
        (out / "losses.json").write_text(json.dumps({"losses": result.losses, "best": result.best_metrics}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
