"""Length-grouped training batches: every example once per epoch, much less padding, still random."""
import random

import pytest
import torch

from training.batching import length_grouped_batches

pytestmark = pytest.mark.unit

# Spread like disfl_qa prompts (SQuAD passages): 100 to 512 tokens.
_rng = random.Random(0)
LENGTHS = [_rng.randint(100, 512) for _ in range(300)]


def padded(batches):
    return sum(len(b) * max(LENGTHS[i] for i in b) for b in batches)


def test_each_epoch_covers_every_example_once_in_full_batches():
    batches = length_grouped_batches(LENGTHS, 8, torch.Generator().manual_seed(0))
    assert sorted(i for b in batches for i in b) == list(range(len(LENGTHS)))
    assert len(batches) == -(-len(LENGTHS) // 8)  # as many optimiser steps as plain batching
    assert all(1 <= len(b) <= 8 for b in batches)


def test_grouping_cuts_padding_against_random_batches():
    order = torch.randperm(len(LENGTHS), generator=torch.Generator().manual_seed(0)).tolist()
    plain = [order[i : i + 8] for i in range(0, len(order), 8)]
    grouped = length_grouped_batches(LENGTHS, 8, torch.Generator().manual_seed(0))
    real = sum(LENGTHS)
    assert padded(plain) / real > 1.3
    assert padded(grouped) / real < 1.15


def test_batches_change_between_epochs_and_repeat_for_a_seed():
    generator = torch.Generator().manual_seed(3)
    first, second = (length_grouped_batches(LENGTHS, 8, generator) for _ in range(2))
    assert {tuple(sorted(b)) for b in first} != {tuple(sorted(b)) for b in second}
    assert length_grouped_batches(LENGTHS, 8, torch.Generator().manual_seed(3)) == first


def test_fewer_examples_than_a_batch_and_bad_sizes():
    assert length_grouped_batches([5, 9, 7], 8, torch.Generator().manual_seed(0)) == [[1, 2, 0]]
    with pytest.raises(ValueError, match="batch_size"):
        length_grouped_batches(LENGTHS, 0, torch.Generator())
