#!/usr/bin/python3
"""Reference logits for Tao's TorchSharp Llama runtime, from an independent implementation.

Builds small random Llama models in PyTorch, written from Hugging Face's modeling_llama formulas (RMSNorm, rotate-half
RoPE with Llama 3 frequency scaling, grouped-query attention with repeat_kv, SwiGLU MLP, causal mask), saves each as a
Hugging Face folder (config.json + model.safetensors) with the logits it gives for a few token sequences
(reference.json). The C# test `ReferenceFixtureTests` loads the folders and must reproduce the logits within 1e-4.

Run once, commit the output (it is small): tools/reference-fixtures/make_llama_fixture.py OUT_DIR
Needs only PyTorch (Debian: apt-get install python3-torch); no transformers, no network.
"""
import json
import math
import struct
import sys
from pathlib import Path

import torch


def llama3_inv_freq(config):
    dim = config["head_dim"]
    inv = 1.0 / (config["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    scaling = config.get("rope_scaling")
    if not scaling:
        return inv
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    scaled = torch.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * scaled / factor + smooth * scaled
    medium = ~(wavelen < high_wavelen) * ~(wavelen > low_wavelen)
    return torch.where(medium, smoothed, scaled)


def rms_norm(x, weight, eps):
    variance = x.pow(2).mean(-1, keepdim=True)
    return weight * (x * torch.rsqrt(variance + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(weights, config, ids):
    batch, length = ids.shape
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    eps = config["rms_norm_eps"]
    inv = llama3_inv_freq(config)
    positions = torch.arange(length).float()
    freqs = torch.outer(positions, inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    mask = torch.full((length, length), float("-inf")).triu(1)
    hidden = weights["model.embed_tokens.weight"][ids]
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        x = rms_norm(hidden, weights[p + "input_layernorm.weight"], eps)
        q = (x @ weights[p + "self_attn.q_proj.weight"].T).view(batch, length, heads, head_dim).transpose(1, 2)
        k = (x @ weights[p + "self_attn.k_proj.weight"].T).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        v = (x @ weights[p + "self_attn.v_proj.weight"].T).view(batch, length, kv_heads, head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = heads // kv_heads
        k = k[:, :, None].expand(batch, kv_heads, groups, length, head_dim).reshape(batch, heads, length, head_dim)
        v = v[:, :, None].expand(batch, kv_heads, groups, length, head_dim).reshape(batch, heads, length, head_dim)
        scores = q @ k.transpose(2, 3) / math.sqrt(head_dim) + mask
        attended = torch.softmax(scores.float(), dim=-1) @ v
        attended = attended.transpose(1, 2).reshape(batch, length, heads * head_dim)
        hidden = hidden + attended @ weights[p + "self_attn.o_proj.weight"].T
        x = rms_norm(hidden, weights[p + "post_attention_layernorm.weight"], eps)
        gate = torch.nn.functional.silu(x @ weights[p + "mlp.gate_proj.weight"].T)
        up = x @ weights[p + "mlp.up_proj.weight"].T
        hidden = hidden + (gate * up) @ weights[p + "mlp.down_proj.weight"].T
    hidden = rms_norm(hidden, weights["model.norm.weight"], eps)
    head = weights["model.embed_tokens.weight"] if config["tie_word_embeddings"] else weights["lm_head.weight"]
    return hidden @ head.T


def random_weights(config, seed):
    g = torch.Generator().manual_seed(seed)
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    heads, kv_heads, head_dim = config["num_attention_heads"], config["num_key_value_heads"], config["head_dim"]
    shapes = {"model.embed_tokens.weight": (config["vocab_size"], hidden), "model.norm.weight": (hidden,)}
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        shapes.update({
            p + "input_layernorm.weight": (hidden,),
            p + "post_attention_layernorm.weight": (hidden,),
            p + "self_attn.q_proj.weight": (heads * head_dim, hidden),
            p + "self_attn.k_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.v_proj.weight": (kv_heads * head_dim, hidden),
            p + "self_attn.o_proj.weight": (hidden, heads * head_dim),
            p + "mlp.gate_proj.weight": (inter, hidden),
            p + "mlp.up_proj.weight": (inter, hidden),
            p + "mlp.down_proj.weight": (hidden, inter),
        })
    if not config["tie_word_embeddings"]:
        shapes["lm_head.weight"] = (config["vocab_size"], hidden)
    weights = {}
    for name, shape in shapes.items():
        if name.endswith("norm.weight"):
            weights[name] = 1.0 + 0.1 * torch.randn(shape, generator=g)  # not all ones, so a wrong norm shows
        else:
            weights[name] = 0.2 * torch.randn(shape, generator=g)
    return weights


def save_safetensors(path, tensors):
    """The safetensors layout: 8-byte little-endian header length, a JSON header, then the raw data."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().float().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def main(out):
    variants = {
        "llama-tied": {"tie_word_embeddings": True, "rope_scaling": None, "seed": 1},
        "llama-untied-rope-scaled": {
            "tie_word_embeddings": False, "seed": 2,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                             "original_max_position_embeddings": 64},
        },
    }
    sequences = [[1, 5, 9, 12, 40, 7, 3, 8, 11, 60, 2, 33], [1, 63, 0, 17], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]]
    for name, variant in variants.items():
        config = {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 64, "hidden_size": 64,
            "intermediate_size": 96, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 16, "max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
            "rope_scaling": variant["rope_scaling"], "tie_word_embeddings": variant["tie_word_embeddings"],
            "attention_bias": False, "mlp_bias": False, "hidden_act": "silu", "torch_dtype": "float32",
            "bos_token_id": 1, "eos_token_id": 2,
        }
        weights = random_weights(config, variant["seed"])
        folder = Path(out) / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        save_safetensors(folder / "model.safetensors", weights)
        with torch.no_grad():
            logits = [forward(weights, config, torch.tensor([s]))[0].tolist() for s in sequences]
        reference = {"generator": f"tools/reference-fixtures/make_llama_fixture.py (torch {torch.__version__})",
                     "sequences": sequences, "logits": [[[round(v, 7) for v in row] for row in seq] for seq in logits]}
        (folder / "reference.json").write_text(json.dumps(reference) + "\n")
        print(f"{folder}: {sum(t.numel() for t in weights.values())} parameters")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/Tao.Trainer.Tests/Fixtures")
