"""The engine contract on a tiny random model: what strategies rely on."""
import numpy as np
import pytest
import torch

from training import Engine, get_engine
from training.prompts import encode_prompt

pytestmark = pytest.mark.unit

PROMPTS = ["hello there", "What is the capital of France?", "x", "Translate to German: good morning", "2+2?"]


def teacher_forced(engine, prompt, token_ids):
    """Log-probs and entropies of ``token_ids`` after ``prompt`` from one plain forward pass."""
    prompt_ids = encode_prompt(engine.tokenizer, engine.format(prompt))
    ids = torch.tensor([prompt_ids + token_ids])
    with torch.no_grad():
        logits = engine._active_model()(ids).logits[0, len(prompt_ids) - 1 : -1]
    logp = torch.log_softmax(logits, -1)
    chosen = logp.gather(-1, torch.tensor(token_ids).unsqueeze(-1)).squeeze(-1)
    return chosen, -(logp.exp() * logp).sum(-1)


def test_engine_satisfies_protocol(tiny_engine):
    assert isinstance(tiny_engine, Engine)
    assert tiny_engine.version == "base"


def test_logprobs_and_entropies_match_teacher_forcing(tiny_engine):
    for temperature in (0.0, 1.5):
        generations = tiny_engine.generate(PROMPTS, temperature=temperature, max_new_tokens=10, seed=0)
        for prompt, (generation,) in zip(PROMPTS, generations, strict=True):
            assert len(generation.token_ids) == len(generation.token_logprobs) == len(generation.token_entropies)
            assert generation.token_ids, "the tiny model should not stop immediately"
            logprobs, entropies = teacher_forced(tiny_engine, prompt, generation.token_ids)
            # raw-logit scores: the same whether or not sampling used a temperature
            np.testing.assert_allclose(generation.token_logprobs, logprobs.numpy(), atol=1e-4)
            np.testing.assert_allclose(generation.token_entropies, entropies.numpy(), atol=1e-4)


def test_batched_greedy_equals_one_by_one(tiny_engine):
    batched = tiny_engine.generate(PROMPTS, max_new_tokens=12)
    single = [tiny_engine.generate([p], max_new_tokens=12)[0] for p in PROMPTS]
    assert [g[0].token_ids for g in batched] == [g[0].token_ids for g in single]
    assert len({tuple(g[0].token_ids) for g in batched}) > 1, "outputs should depend on the prompt"
    for b, s in zip(batched, single, strict=True):
        np.testing.assert_allclose(b[0].token_logprobs, s[0].token_logprobs, atol=1e-4)


def test_n_samples_per_prompt_are_seeded_and_diverse(tiny_engine):
    first = tiny_engine.generate(PROMPTS[:2], n=4, temperature=1.0, max_new_tokens=8, seed=11)
    again = tiny_engine.generate(PROMPTS[:2], n=4, temperature=1.0, max_new_tokens=8, seed=11)
    assert [len(g) for g in first] == [4, 4]
    assert [[s.token_ids for s in g] for g in first] == [[s.token_ids for s in g] for g in again]
    assert len({tuple(s.token_ids) for s in first[0]}) > 1
    greedy = tiny_engine.generate(PROMPTS[:1], n=3, max_new_tokens=8)[0]
    assert len(greedy) == 3 and len({tuple(g.token_ids) for g in greedy}) == 1


def test_samples_that_end_early_leave_the_batch_without_disturbing_the_rest(tiny_engine):
    # Seeded so that two of the 30 samples draw EOS mid-way (after 10 and 21 tokens) while their
    # batch goes on: every sample's scores must still be those of a plain forward pass over it.
    samples = tiny_engine.generate(PROMPTS, n=6, temperature=2.0, max_new_tokens=24, seed=0)
    lengths = [len(s.token_ids) for group in samples for s in group]
    assert min(lengths) < 24 and max(lengths) == 24, lengths
    for prompt, group in zip(PROMPTS, samples, strict=True):
        assert len(group) == 6
        for sample in group:
            logprobs, entropies = teacher_forced(tiny_engine, prompt, sample.token_ids)
            np.testing.assert_allclose(sample.token_logprobs, logprobs.numpy(), atol=1e-4)
            np.testing.assert_allclose(sample.token_entropies, entropies.numpy(), atol=1e-4)


@pytest.mark.parametrize("temperature", [0.5, 2.0])
def test_first_tokens_are_drawn_from_the_temperature_scaled_distribution(tiny_engine, temperature):
    prompt = PROMPTS[1]
    draws = 4000
    samples = tiny_engine.generate([prompt], n=draws, temperature=temperature, max_new_tokens=1, seed=3)[0]
    first = [s.token_ids[0] if s.token_ids else tiny_engine.tokenizer.eos_token_id for s in samples]
    ids = torch.tensor([encode_prompt(tiny_engine.tokenizer, tiny_engine.format(prompt))])
    with torch.no_grad():
        expected = torch.softmax(tiny_engine._active_model()(ids).logits[0, -1] / temperature, -1)
    for token in expected.topk(3).indices.tolist():
        p = expected[token].item()
        observed = first.count(token) / draws
        assert abs(observed - p) < 5 * (p * (1 - p) / draws) ** 0.5, (token, observed, p)


def test_generation_stops_at_eos_and_text_is_decoded(tiny_engine):
    eos = tiny_engine.tokenizer.eos_token_id
    for (generation,) in tiny_engine.generate(PROMPTS, max_new_tokens=40):
        assert eos not in generation.token_ids
        assert generation.text == tiny_engine.tokenizer.decode(generation.token_ids, skip_special_tokens=True).strip()


def test_empty_pool_and_invalid_arguments(tiny_engine):
    assert tiny_engine.generate([]) == []
    with pytest.raises(ValueError, match="n must be >= 1"):
        tiny_engine.generate(["a"], n=0)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        tiny_engine.generate(["a"], temperature=-1)


def test_hidden_states_are_normalised_per_text(tiny_engine):
    vectors = tiny_engine.hidden_states(["short", "a much longer text about cats", "short"])
    assert vectors.shape == (3, 64) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1])


def test_adapters_load_once_and_switch(tiny_model_path, tmp_path):
    from peft import LoraConfig, get_peft_model

    from training.models import load_model_and_tokenizer

    paths = {}
    for seed in (1, 2):
        model, _ = load_model_and_tokenizer(tiny_model_path)
        peft_model = get_peft_model(model, LoraConfig(r=4, target_modules="all-linear", init_lora_weights=False))
        torch.manual_seed(seed)
        for name, param in peft_model.named_parameters():
            if "lora_" in name:
                param.data.normal_(0, 0.5)
        paths[seed] = tmp_path / f"v{seed}"
        peft_model.save_pretrained(paths[seed])

    engine = get_engine(model=tiny_model_path)
    base = engine.generate(PROMPTS, max_new_tokens=8)
    engine.load_adapter(paths[1], "2024-01-01.v1")
    assert engine.version == "2024-01-01.v1"
    v1 = engine.generate(PROMPTS, max_new_tokens=8)
    engine.load_adapter(paths[2], "v2")
    v2 = engine.generate(PROMPTS, max_new_tokens=8)
    ids = lambda gens: [g[0].token_ids for g in gens]  # noqa: E731
    assert ids(v1) != ids(base) and ids(v2) != ids(v1)
    engine.load_adapter(paths[1], "2024-01-01.v1")  # already loaded: a switch, no reload
    assert engine.loaded_versions == ["base", "2024-01-01.v1", "v2"]
    assert ids(engine.generate(PROMPTS, max_new_tokens=8)) == ids(v1)
    engine.use_version("base")
    assert ids(engine.generate(PROMPTS, max_new_tokens=8)) == ids(base)
    with pytest.raises(KeyError, match="'v9' is not loaded"):
        engine.use_version("v9")


def test_embed_uses_the_sentence_embedding_model(tiny_engine):
    vectors = tiny_engine.embed(["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
