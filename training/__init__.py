"""Base layer: the Example type, model loading, inference engines, LoRA training, metrics."""
from training.engine import Engine, Generation, get_engine
from training.example import Example

__all__ = ["Engine", "Example", "Generation", "get_engine"]
