#!/usr/bin/env python3
"""Writes two tiny Llama models with a 64-token vocabulary for the speculative-decoding tests.

  tests/fixtures/models/spec_target/  the model whose distribution must be kept exactly
  tests/fixtures/models/spec_draft/   its draft: the target's weights plus noise, so its
                                      distribution differs from the target's but its guesses are
                                      often right

Random weights, scaled so that next-token distributions are peaked (a few tokens carry most of the
mass, as with a trained model), unlike the reference fixtures whose logits are nearly flat. No
reference logits: the tests compare troupe with and without speculation. Needs only numpy; the
safetensors files are written directly (8-byte header length, JSON header, raw little-endian
data). Deterministic: rerunning rewrites identical bytes.

    python3 tools/make_speculative_fixtures.py
"""
import json
import struct
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"
VOCAB, HIDDEN, FFN, LAYERS, HEADS, KV_HEADS, HEAD_DIM = 64, 32, 64, 2, 4, 2, 8


def config():
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "dtype": "float32",
        "vocab_size": VOCAB, "hidden_size": HIDDEN, "intermediate_size": FFN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "num_key_value_heads": KV_HEADS,
        "head_dim": HEAD_DIM, "hidden_act": "silu", "max_position_embeddings": 512,
        "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": True,
        "attention_bias": False, "mlp_bias": False, "bos_token_id": 1, "eos_token_id": 2,
    }


def weights(rng):
    def normal(*shape, scale):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    t = {"model.embed_tokens.weight": normal(VOCAB, HIDDEN, scale=0.7),
         "model.norm.weight": (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        t[p + "post_attention_layernorm.weight"] = (1 + 0.1 * rng.standard_normal(HIDDEN)).astype(np.float32)
        t[p + "self_attn.q_proj.weight"] = normal(HEADS * HEAD_DIM, HIDDEN, scale=0.5)
        t[p + "self_attn.k_proj.weight"] = normal(KV_HEADS * HEAD_DIM, HIDDEN, scale=0.5)
        t[p + "self_attn.v_proj.weight"] = normal(KV_HEADS * HEAD_DIM, HIDDEN, scale=0.3)
        t[p + "self_attn.o_proj.weight"] = normal(HIDDEN, HEADS * HEAD_DIM, scale=0.3)
        t[p + "mlp.gate_proj.weight"] = normal(FFN, HIDDEN, scale=0.3)
        t[p + "mlp.up_proj.weight"] = normal(FFN, HIDDEN, scale=0.3)
        t[p + "mlp.down_proj.weight"] = normal(HIDDEN, FFN, scale=0.3)
    return t


def write_safetensors(path, tensors):
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        data = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main():
    target = weights(np.random.default_rng(2212))
    noise = np.random.default_rng(2213)
    draft = {name: (w + 0.1 * np.std(w) * noise.standard_normal(w.shape)).astype(np.float32) for name, w in target.items()}
    for folder, tensors in (("spec_target", target), ("spec_draft", draft)):
        out = ROOT / folder
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(config(), indent=2, sort_keys=True) + "\n")
        write_safetensors(out / "model.safetensors", tensors)
        print(out)


if __name__ == "__main__":
    main()
