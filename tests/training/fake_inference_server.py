"""A local server speaking vLLM's OpenAI wire format, for tests of the openai_compatible engine."""
import json

from werkzeug import Response

LOGPROBS = [-0.1, -0.7, -0.05]


class FakeVLLM:
    """Answers every completion with the tokens 5, 6 and EOS, choices in reverse index order."""

    def __init__(self, httpserver, tokenizer):
        self.tokenizer = tokenizer
        self.completions, self.loads = [], []
        httpserver.expect_request("/v1/models").respond_with_json(
            {"object": "list", "data": [{"id": "base-model", "object": "model", "created": 0, "owned_by": "me"}]}
        )
        httpserver.expect_request("/v1/completions", method="POST").respond_with_handler(self.complete)
        httpserver.expect_request("/v1/load_lora_adapter", method="POST").respond_with_handler(self.load)
        self.url = httpserver.url_for("/v1")

    def complete(self, request):
        body = json.loads(request.data)
        self.completions.append(body)

        def token(token_id):  # vLLM's extension names tokens by id; plain servers by their text
            if body.get("return_tokens_as_token_ids"):
                return f"token_id:{token_id}"
            return self.tokenizer.convert_ids_to_tokens(token_id)

        ids = [5, 6, self.tokenizer.eos_token_id]
        tops = [{token(i): lp, token(i + 1): lp - 1.5} for i, lp in zip(ids, LOGPROBS, strict=True)]
        choices = [
            {"index": k, "text": f"answer {k}", "finish_reason": "stop",
             "logprobs": {"tokens": [token(i) for i in ids], "token_logprobs": LOGPROBS,
                          "top_logprobs": tops, "text_offset": [0, 1, 2]}}
            for k in reversed(range(body["n"]))
        ]
        return Response(json.dumps({"id": "c", "object": "text_completion", "created": 0, "model": body["model"],
                                    "choices": choices}), content_type="application/json")

    def load(self, request):
        self.loads.append(json.loads(request.data))
        return Response("Success: LoRA adapter added successfully.", content_type="text/plain")
