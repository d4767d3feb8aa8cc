#!/usr/bin/env python3
"""torch_ops.py — the PyTorch CPU side of bench/ops.js: the same ops at the same shapes.

A server for bench/ops.js, which runs the two sides in alternation: reads one case name per line
on stdin, answers one JSON line {"name": ..., "seconds": median seconds per forward+backward}
(or {"name": ..., "error": ...}). Inputs are built once per case. Each step sets the leaves'
.grad to None first (as atento's side disposes its grads), so no step pays for accumulating
into the previous step's gradient. Run as OMP_NUM_THREADS=<n> /usr/bin/python3 (Debian's
python3-torch 1.13, with OpenBLAS).
torch 1.13 has no scaled_dot_product_attention: attention is matmul + mask + softmax + matmul,
which is what PyTorch CPU users ran.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F

torch.manual_seed(0)


def fresh(*leaves):
    """Clears the leaves' gradients: each timed step starts as atento's does, with no .grad."""
    for t in leaves:
        t.grad = None


def timeit(fn, min_time=0.5, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while time.perf_counter() - start < min_time or len(times) < 5:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    return times[len(times) // 2]


def attention(B, H, T, D, causal):
    q, k, v = (torch.randn(B, H, T, D, requires_grad=True) for _ in range(3))
    g = torch.randn(B, H, T, D)
    mask = torch.ones(T, T, dtype=torch.bool).tril() if causal else None

    def step():
        fresh(q, k, v)
        s = q @ k.transpose(-2, -1) * (D ** -0.5)
        if mask is not None:
            s = s.masked_fill(~mask, float("-inf"))
        o = torch.softmax(s, -1) @ v
        o.backward(g)
    return step


def layernorm(N, C):
    x = torch.randn(N, C, requires_grad=True)
    w = torch.randn(C, requires_grad=True)
    b = torch.randn(C, requires_grad=True)
    g = torch.randn(N, C)
    return lambda: (fresh(x, w, b), F.layer_norm(x, (C,), w, b).backward(g))


def softmax(N, C):
    x = torch.randn(N, C, requires_grad=True)
    g = torch.randn(N, C)
    return lambda: (fresh(x), torch.softmax(x, -1).backward(g))


def cross_entropy(N, C):
    x = torch.randn(N, C, requires_grad=True)
    t = torch.randint(0, C, (N,))
    return lambda: (fresh(x), F.cross_entropy(x, t).backward())


def lstm(B, T, I, H):
    m = torch.nn.LSTM(I, H)
    x = torch.randn(T, B, I, requires_grad=True)
    g = torch.randn(T, B, H)
    return lambda: (fresh(x, *m.parameters()), m(x)[0].backward(g))


def matmul(M, K, N):
    a = torch.randn(M, K, requires_grad=True)
    b = torch.randn(K, N, requires_grad=True)
    g = torch.randn(M, N)
    return lambda: (fresh(a, b), (a @ b).backward(g))


CASES = {}


def case(name, fn):
    CASES[name] = fn


# The cases; bench/ops.js has the same names for the atento side.
# Shapes from issue 3: a small GPT step (B=12, T=64, C=128, H=4), a larger one (B=8, T=256,
# C=384, H=6), and LSTM sequences (B=64, T=100, I=256, H=512 / 1024).
case("attention causal B12 H4 T64 D32", lambda: attention(12, 4, 64, 32, True))
case("attention causal B8 H6 T256 D64", lambda: attention(8, 6, 256, 64, True))
case("attention full B8 H6 T256 D64", lambda: attention(8, 6, 256, 64, False))
case("layernorm 768x128", lambda: layernorm(768, 128))
case("layernorm 2048x384", lambda: layernorm(2048, 384))
case("softmax 3072x64", lambda: softmax(12 * 4 * 64, 64))
case("softmax 12288x256", lambda: softmax(8 * 6 * 256, 256))
case("crossEntropy 768x65", lambda: cross_entropy(768, 65))
case("crossEntropy 2048x65", lambda: cross_entropy(2048, 65))
case("crossEntropy 768x50257", lambda: cross_entropy(768, 50257))
case("lstm B64 T100 I256 H512", lambda: lstm(64, 100, 256, 512))
case("lstm B64 T100 I256 H1024", lambda: lstm(64, 100, 256, 1024))
case("matmul 768x128x512", lambda: matmul(768, 128, 512))
case("matmul 2048x384x1536", lambda: matmul(2048, 384, 1536))

if __name__ == "__main__":
    built = {}
    for line in sys.stdin:
        name = line.strip()
        if not name:
            continue
        try:
            if name not in built:
                built[name] = CASES[name]()
            reply = {"name": name, "seconds": timeit(built[name])}
        except Exception as e:  # noqa: BLE001 - reported to the caller, which prints it
            reply = {"name": name, "error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)
