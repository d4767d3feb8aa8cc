#!/usr/bin/env python3
# train_step_torch.py — the PyTorch side of bench/train-step.js: the same models and the same
# training step as atento's `train` command (lib/train.ts), timed the same way.
#
#   OMP_NUM_THREADS=2 /usr/bin/python3 bench/train_step_torch.py '<json spec>'
#
# spec: {"model": "gpt"|"lstm", "config": {...lib/cli.ts config...}, "batch": B, "block": T,
#        "steps": N, "warmup": W, "threads": n, "corpus": path to the text}
# Prints one JSON line: median wall and CPU ms per step over N steps after W warm-up steps.
#
# The step (as trainLanguageModel): random windows of the corpus -> logits [B, T, V] ->
# cross-entropy over [B*T, V] -> zero_grad(set_to_none) -> backward -> clip_grad_norm_(1.0) ->
# AdamW(betas (0.9, 0.95), weight decay 0.1 on 2-d params, none on the rest) -> loss.item(), with
# train.ts's learning-rate schedule (warm-up, cosine decay).
# GPT is nanoGPT's model.py (PyTorch 1.13 has no scaled_dot_product_attention, so attention is
# nanoGPT's explicit softmax(q k^T / sqrt(D) + causal mask) v path), GPT-2 init, tanh-GELU, the
# output head tied to the token embedding. CharLSTM is Embedding -> nn.LSTM(batch_first) -> Linear.
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.n_head, self.n_embd = c["nHead"], c["nEmbd"]
        self.c_attn = nn.Linear(c["nEmbd"], 3 * c["nEmbd"])
        self.c_proj = nn.Linear(c["nEmbd"], c["nEmbd"])
        T = c["blockSize"]
        self.register_buffer("bias", torch.tril(torch.ones(T, T)).view(1, 1, T, T))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c["nEmbd"], 4 * c["nEmbd"])
        self.c_proj = nn.Linear(4 * c["nEmbd"], c["nEmbd"])

    def forward(self, x):
        return self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1 = nn.LayerNorm(c["nEmbd"])
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c["nEmbd"])
        self.mlp = MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c["vocabSize"], c["nEmbd"]),
            wpe=nn.Embedding(c["blockSize"], c["nEmbd"]),
            h=nn.ModuleList([Block(c) for _ in range(c["nLayer"])]),
            ln_f=nn.LayerNorm(c["nEmbd"]),
        ))
        self.lm_head = nn.Linear(c["nEmbd"], c["vocabSize"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying
        for name, p in self.named_parameters():
            if name.endswith(".bias") and "ln_" not in name:
                nn.init.zeros_(p)
            elif "ln_" not in name:
                std = 0.02 / math.sqrt(2 * c["nLayer"]) if name.endswith("c_proj.weight") else 0.02
                nn.init.normal_(p, mean=0.0, std=std)

    def forward(self, idx):
        B, T = idx.size()
        pos = torch.arange(0, T, dtype=torch.long)
        x = self.transformer.wte(idx) + self.transformer.wpe(pos)
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class CharLSTM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embedding = nn.Embedding(c["vocabSize"], c["embedDim"])
        self.lstm = nn.LSTM(c["embedDim"], c["hiddenSize"], num_layers=c["numLayers"], batch_first=True)
        self.head = nn.Linear(c["hiddenSize"], c["vocabSize"])

    def forward(self, idx):
        out, _ = self.lstm(self.embedding(idx))
        return self.head(out)


def main():
    spec = json.loads(sys.argv[1])
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(1337)
    text = open(spec["corpus"], encoding="utf-8").read()
    chars = sorted(set(text))
    stoi = {ch: i for i, ch in enumerate(chars)}
    data = torch.tensor([stoi[ch] for ch in text], dtype=torch.long)
    data = data[: int(len(data) * 0.9)]
    c = dict(spec["config"], vocabSize=len(chars))
    B, T = spec["batch"], spec["block"]
    model = GPT(c) if spec["model"] == "gpt" else CharLSTM(c)
    model.train()
    params = list(model.parameters())
    opt = torch.optim.AdamW([
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ], lr=spec.get("lr", 1e-3), betas=(0.9, 0.95))

    # lib/train.ts's schedule: linear warm-up over a tenth of the steps, cosine decay to 1e-4.
    total, lr, min_lr = spec["warmup"] + spec["steps"], spec.get("lr", 1e-3), 1e-4
    warm = min(100, total // 10)

    def lr_at(step):
        if step < warm:
            return lr * (step + 1) / warm
        progress = min(1.0, (step - warm) / max(1, total - warm))
        return min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * progress))

    wall, cpu, losses = [], [], []
    for step in range(total):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        c0, t0 = time.process_time(), time.perf_counter()
        ix = torch.randint(len(data) - T - 1, (B,))
        x = torch.stack([data[i:i + T] for i in ix])
        y = torch.stack([data[i + 1:i + T + 1] for i in ix])
        logits = model(x)
        loss = F.cross_entropy(logits.view(B * T, -1), y.view(B * T))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        lv = loss.item()
        t1, c1 = time.perf_counter(), time.process_time()
        losses.append(lv)
        if step >= spec["warmup"]:
            wall.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
    med = lambda v: sorted(v)[len(v) // 2]
    print(json.dumps({
        "ms": med(wall), "cpuMs": med(cpu), "min": min(wall), "firstLoss": losses[0], "lastLoss": losses[-1],
        "params": sum(p.numel() for p in params), "threads": torch.get_num_threads(), "version": torch.__version__,
    }))


if __name__ == "__main__":
    main()
