#!/usr/bin/env python3
"""Tiny random-weight models for the text module's tests, in plain PyTorch (Debian
python3-torch), exported to ONNX:

  gpt2-tiny.onnx   GPT-2's layout (learned positions, pre-LayerNorm blocks, gelu_new, tied
                   output embedding) with GPT-2's 50,257-token vocabulary, 2 layers, 2 heads,
                   width 32; inputs input_ids [1,T] and past_key_values.N.key/value
                   [1,2,P,16] (P may be 0); outputs logits [1,T,50257] and present.N.key/value
                   [1,2,P+T,16] — the names optimum gives a GPT-2 export with a KV cache.
  bert-tiny.onnx   BERT's layout (word + position + token-type embeddings, post-LayerNorm
                   blocks, exact GELU), 2 layers, 2 heads, width 32, over vocab.txt written
                   beside it; inputs input_ids, attention_mask, token_type_ids [1,T] (int64);
                   output last_hidden_state [1,T,32].

usage: make_lm_fixtures.py OUTDIR"""
import math
import os
import sys

import torch
from torch import nn

torch.manual_seed(1234)
OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)

V, D, H, L, CTX = 50257, 32, 2, 2, 128
HD = D // H


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x, pk, pv, mask):
        b, t, _ = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q = q.view(b, t, H, HD).transpose(1, 2)
        k = torch.cat([pk, k.view(b, t, H, HD).transpose(1, 2)], dim=2)
        v = torch.cat([pv, v.view(b, t, H, HD).transpose(1, 2)], dim=2)
        att = (q @ k.transpose(2, 3)) / math.sqrt(HD)
        att = torch.where(mask, att, torch.tensor(-1e9))
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = x + self.proj(y)
        return x + self.out(gelu_new(self.fc(self.ln2(x)))), k, v


class GPT2(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(CTX, D)
        self.blocks = nn.ModuleList(Block() for _ in range(L))
        self.ln_f = nn.LayerNorm(D)

    def forward(self, input_ids, *past):
        t = input_ids.shape[1]
        p = past[0].shape[2]
        pos = torch.arange(t, dtype=torch.int64) + p
        x = self.wte(input_ids) + self.wpe(pos).unsqueeze(0)
        # Query i (at position p + i) sees keys 0 .. p + i.
        keys = torch.arange(p + t, dtype=torch.int64).unsqueeze(0)
        mask = (keys <= pos.unsqueeze(1)).unsqueeze(0).unsqueeze(0)
        presents = []
        for i, blk in enumerate(self.blocks):
            x, k, v = blk(x, past[2 * i], past[2 * i + 1], mask)
            presents += [k, v]
        return (self.ln_f(x) @ self.wte.weight.t(), *presents)


def export_gpt2():
    m = GPT2().eval()
    with torch.no_grad():
        for prm in m.parameters():
            prm.normal_(0, 0.2)
    ids = torch.tensor([[464, 2068, 7586]], dtype=torch.int64)
    past = [torch.zeros(1, H, 2, HD) for _ in range(2 * L)]
    past_names = [f"past_key_values.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    present_names = [f"present.{i}.{kv}" for i in range(L) for kv in ("key", "value")]
    axes = {"input_ids": {1: "sequence"}, "logits": {1: "sequence"}}
    axes.update({n: {2: "past"} for n in past_names})
    axes.update({n: {2: "total"} for n in present_names})
    torch.onnx.export(m, (ids, *past), os.path.join(OUT, "gpt2-tiny.onnx"),
                      input_names=["input_ids"] + past_names,
                      output_names=["logits"] + present_names, dynamic_axes=axes, opset_version=14)


class BertLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(D, 3 * D), nn.Linear(D, D)
        self.ln1, self.ln2 = nn.LayerNorm(D, eps=1e-12), nn.LayerNorm(D, eps=1e-12)
        self.fc, self.out = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

    def forward(self, x, bias):
        b, t, _ = x.shape
        q, k, v = [z.view(b, t, H, HD).transpose(1, 2) for z in self.qkv(x).split(D, dim=2)]
        att = (q @ k.transpose(2, 3)) / math.sqrt(HD) + bias
        y = (att.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
        x = self.ln1(x + self.proj(y))
        return self.ln2(x + self.out(nn.functional.gelu(self.fc(x))))


class Bert(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.words, self.pos, self.types = nn.Embedding(vocab, D), nn.Embedding(CTX, D), nn.Embedding(2, D)
        self.ln = nn.LayerNorm(D, eps=1e-12)
        self.layers = nn.ModuleList(BertLayer() for _ in range(L))

    def forward(self, input_ids, attention_mask, token_type_ids):
        t = input_ids.shape[1]
        pos = torch.arange(t, dtype=torch.int64).unsqueeze(0)
        x = self.ln(self.words(input_ids) + self.pos(pos) + self.types(token_type_ids))
        bias = (1.0 - attention_mask.to(torch.float32))[:, None, None, :] * -10000.0
        for layer in self.layers:
            x = layer(x, bias)
        return x


def export_bert():
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [chr(c) for c in range(33, 127)] \
        + ["##" + chr(c) for c in range(97, 123)] + \
        "the a bed beige fabric modern sofa velvet green wood oak lamp brass rug wool room".split() \
        + ["##s", "##ing", "##ed", "##room"]
    with open(os.path.join(OUT, "vocab.txt"), "w") as f:
        f.write("\n".join(words) + "\n")
    m = Bert(len(words)).eval()
    with torch.no_grad():
        for prm in m.parameters():
            prm.normal_(0, 0.2)
    ids = torch.tensor([[2, 5, 6, 3]], dtype=torch.int64)
    ones = torch.ones_like(ids)
    axes = {n: {1: "sequence"} for n in ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")}
    torch.onnx.export(m, (ids, ones, torch.zeros_like(ids)), os.path.join(OUT, "bert-tiny.onnx"),
                      input_names=["input_ids", "attention_mask", "token_type_ids"],
                      output_names=["last_hidden_state"], dynamic_axes=axes, opset_version=14)


export_gpt2()
export_bert()
with open(os.path.join(OUT, "config.json"), "w") as f:
    f.write('{"model_type": "gpt2", "n_positions": %d, "n_embd": %d, "n_layer": %d, "n_head": %d}\n'
            % (CTX, D, L, H))
