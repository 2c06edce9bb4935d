"""One module per model kind: its config class, `nn.Module`, `ModelKind` and predictor."""
