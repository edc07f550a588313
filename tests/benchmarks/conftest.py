import os

# Never reach a model hub from tests: models and data come from packages (ASSETS.md).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
