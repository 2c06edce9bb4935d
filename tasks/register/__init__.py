"""Register stage: the pickle-free MLflow pyfunc, model card, registration and champion/challenger aliases."""
