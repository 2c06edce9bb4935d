"""Train stage: model kinds (`kinds.py`), the one trainer (`trainer.py`), checkpoints and bundles."""
