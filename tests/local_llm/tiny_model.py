"""A tiny, hand-set GGUF model for llama.cpp that always answers with one fixed sentence.

It is a one-layer `llama` whose attention and feed-forward weights are all zero, so the residual
stream carries the current token's embedding straight to the output: the next-token logits depend
on the last token only, a bigram table. The table is set by hand:

- after the prompt's last token (the newline that closes `<|im_start|>assistant`), each word of
  `FIXED_REPLY` is followed by the next one, and the final "." by `<|im_end|>`, with a margin so
  large that any sampling temperature picks the same tokens;
- every other token prefers, in this order: end of turn, `"`, `}`, `{`, `</tool_call>`, `,` and
  `:`, `<tool_call>`; `<tool_call>` itself is followed by a newline. When a grammar constrains
  the output (a forced tool call), the model therefore closes each JSON string, object and call
  as soon as the grammar lets it, and so always writes the shortest valid arguments. llama-server's
  grammar for a forced call lets text come first, so the model writes `FIXED_REPLY`, then, unable
  to end its turn there, `<tool_call>` and the call: `{"city": ""}` for a required string `city`.

The vocabulary is SentencePiece-style (`llama`): control tokens, the 256 byte tokens (so any prompt
text tokenizes), the printable ASCII characters, and the reply's words. The chat template is
ChatML with Hermes-style tool calls (`<tool_call>{"name": ..., "arguments": ...}</tool_call>`),
which llama-server recognises, so tools, `tool_choice` and grammar-constrained calls work.
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import gguf
import numpy as np

FIXED_REPLY = "Hello from the tiny model."
REPLY_TOKENS = ("Hello", "\u2581from", "\u2581the", "\u2581tiny", "\u2581model", ".")
SPACE = "\u2581"  # SentencePiece's word boundary

N_EMBD = 64
N_HEAD = 4
N_FF = 64
N_CTX_TRAIN = 2048
# Logits. Neighbouring preferences are 6 apart (4.2 after the output norm's 1/sqrt(2) on linked
# tokens): with llama-server's default min-p of 0.05, a token more than ln(20) * temperature below
# the best one is never sampled, so the output is the same at any temperature up to about 1.4.
PREFERENCES = {
    "<|im_end|>": 60.0, '"': 48.0, "}": 42.0, "{": 36.0, "</tool_call>": 30.0,
    ",": 18.0, ":": 18.0, "<tool_call>": 6.0,
}  # fmt: skip
SUCCESSOR_LOGIT = 150.0

# ChatML with Hermes-style tool calls.
CHAT_TEMPLATE = r"""
{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- '# Tools\n\nYou may call one or more functions. Their signatures are inside <tools></tools>:\n<tools>' }}
    {%- for tool in tools %}
        {{- '\n' + (tool | tojson) }}
    {%- endfor %}
    {{- '\n</tools>\n\nFor each call, return a JSON object with the function name and arguments inside <tool_call></tool_call> tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call><|im_end|>\n' }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
{%- endif %}
{%- for message in messages %}
    {%- if message.role == 'user' or (message.role == 'system' and not loop.first) or (message.role == 'assistant' and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>\n' }}
    {%- elif message.role == 'assistant' %}
        {{- '<|im_start|>assistant' }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' + tool_call.name + '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.index0 == 0 or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' + message.content + '\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
""".strip()


def _vocabulary() -> tuple[list[str], list[gguf.TokenType]]:
    tokens = ["<unk>", "<s>", "</s>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]
    types = [gguf.TokenType.UNKNOWN] + [gguf.TokenType.CONTROL] * 4
    types += [gguf.TokenType.USER_DEFINED] * 2
    tokens += [f"<0x{byte:02X}>" for byte in range(256)]
    types += [gguf.TokenType.BYTE] * 256
    words = [chr(code) for code in range(33, 127)] + [SPACE]
    words += [word for word in REPLY_TOKENS if word not in words]
    tokens += words
    types += [gguf.TokenType.NORMAL] * len(words)
    return tokens, types


def _weights(tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """The token embeddings and the output matrix (numpy shape: vocabulary x embedding)."""
    index = {token: i for i, token in enumerate(tokens)}
    links = [*pairwise(["<0x0A>", *REPLY_TOKENS, "<|im_end|>"]), ("<tool_call>", "<0x0A>")]
    # After the reply's last word, a grammar that forbids ending the turn (a forced tool call)
    # gets the call's opening tag next, not a stray character.
    fallbacks = {".": "<tool_call>"}
    assert len(links) < N_EMBD
    embeddings = np.zeros((len(tokens), N_EMBD), dtype=np.float32)
    output = np.zeros((len(tokens), N_EMBD), dtype=np.float32)
    # Feature 0 is on for every token and carries the default preferences.
    embeddings[:, 0] = 1.0
    for token, logit in PREFERENCES.items():
        output[index[token], 0] = logit
    # Feature k >= 1 is on for the k-th linked token only and points at its successor.
    for feature, (token, successor) in enumerate(links, start=1):
        embeddings[index[token], feature] = 1.0
        output[index[successor], feature] = SUCCESSOR_LOGIT
        if token in fallbacks:
            output[index[fallbacks[token]], feature] = SUCCESSOR_LOGIT / 2
    return embeddings, output


def write_tiny_model(path: Path) -> Path:
    """Write the model to `path` (a `.gguf` file) and return it."""
    tokens, types = _vocabulary()
    embeddings, output = _weights(tokens)
    head_dim = N_EMBD // N_HEAD
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("assistants-tiny-test-model")
    writer.add_context_length(N_CTX_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(1)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_rope_dimension_count(head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(types)
    writer.add_unk_token_id(tokens.index("<unk>"))
    writer.add_bos_token_id(tokens.index("<s>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_add_bos_token(True)
    writer.add_add_eos_token(False)
    writer.add_add_space_prefix(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    zeros = np.zeros
    f32 = np.float32
    writer.add_tensor("token_embd.weight", embeddings)
    # Every hidden state is a unit-RMS-scaled one- or two-hot vector; 1/sqrt(N_EMBD) brings the
    # normalised state back to entries of 1 (one feature) or 1/sqrt(2) (two features).
    writer.add_tensor("output_norm.weight", np.full(N_EMBD, 1 / math.sqrt(N_EMBD), dtype=f32))
    writer.add_tensor("output.weight", output)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(N_EMBD, dtype=f32))
    for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
        writer.add_tensor(f"blk.0.{name}.weight", zeros((N_EMBD, N_EMBD), dtype=f32))
    writer.add_tensor("blk.0.ffn_norm.weight", np.ones(N_EMBD, dtype=f32))
    writer.add_tensor("blk.0.ffn_gate.weight", zeros((N_FF, N_EMBD), dtype=f32))
    writer.add_tensor("blk.0.ffn_up.weight", zeros((N_FF, N_EMBD), dtype=f32))
    writer.add_tensor("blk.0.ffn_down.weight", zeros((N_EMBD, N_FF), dtype=f32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
