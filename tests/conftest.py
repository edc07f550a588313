"""Shared test set-up: offline Hugging Face, quiet tokenizers, a real Redis per test."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = ["tests.redis_fixtures"]
