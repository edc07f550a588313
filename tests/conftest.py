"""Shared test set-up: offline Hugging Face, quiet tokenizers, a clean Redis namespace."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
