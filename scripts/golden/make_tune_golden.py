#!/usr/bin/env python3
"""Golden loss and gradients of vlm-stream's query tuning objective (ContrastiveObjective.swift), by PyTorch
autograd in float64 on fixed random inputs.

Usage: PYTHON=${PYTHON:-python3}; $PYTHON scripts/golden/make_tune_golden.py [out.json]
Writes Tests/Fixtures/tune-golden/objective.json by default.

The loss (same symbols as the Swift documentation):
    h = x Vᵀ-projection, z = x + U h, u = z/|z|, q̂ = q/|q|, s = exp(t)
    logits = s · u @ [q̂; n_1..n_K]ᵀ                      (rows × (K+1))
    L_q→i = cross-entropy of the query column over all frames, target: the positives (uniform)
    L_i→q = positive rows: cross-entropy with target column 0;
            negative rows: −log Σ_{k≥1} softmax(row)_k (only with K > 0)
    L = ½(L_q→i + L_i→q) + λ/2 (|q−q0|² + |U|² + |V−V0|² + (t−t0)²)
"""
import json
import os
import sys

import torch


def loss_fn(x, pos, prompts, q, U, V, t, q0, V0, t0, lam):
    h = x @ V                      # (R, r): h_i = Vᵀ x_i
    z = x + h @ U.T                # (R, D): z_i = x_i + U h_i
    u = z / z.norm(dim=1, keepdim=True)
    qh = q / q.norm()
    s = torch.exp(t)
    cols = torch.cat([qh[None, :], prompts], dim=0)   # (K+1, D)
    logits = s * u @ cols.T                           # (R, K+1)
    P = pos.sum()
    col = torch.log_softmax(logits[:, 0], dim=0)
    l_q2i = -(col[pos]).sum() / P
    K = prompts.shape[0]
    ls = torch.log_softmax(logits, dim=1)
    terms = [-ls[pos, 0]]
    if K > 0:
        neg = ~pos
        terms.append(-torch.logsumexp(ls[neg, 1:], dim=1))
    rows = torch.cat(terms)
    l_i2q = rows.sum() / rows.numel()
    penalty = ((q - q0) ** 2).sum() + (U ** 2).sum() + ((V - V0) ** 2).sum() + (t - t0) ** 2
    return 0.5 * (l_q2i + l_i2q) + 0.5 * lam * penalty


def case(seed, R, D, r, K, lam):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(R, D, generator=g, dtype=torch.float64)
    x = x / x.norm(dim=1, keepdim=True)
    pos = torch.zeros(R, dtype=torch.bool)
    pos[: R // 3 + 1] = True
    prompts = torch.randn(K, D, generator=g, dtype=torch.float64)
    if K > 0:
        prompts = prompts / prompts.norm(dim=1, keepdim=True)
    q0 = torch.randn(D, generator=g, dtype=torch.float64)
    q0 = q0 / q0.norm()
    V0 = 0.1 * torch.randn(D, r, generator=g, dtype=torch.float64)
    t0 = torch.tensor(float(torch.log(torch.tensor(20.0))), dtype=torch.float64)
    # A point away from the start, so every decay term and every path of the gradient is exercised.
    q = (q0 + 0.3 * torch.randn(D, generator=g, dtype=torch.float64)).requires_grad_()
    U = (0.2 * torch.randn(D, r, generator=g, dtype=torch.float64)).requires_grad_()
    V = (V0 + 0.1 * torch.randn(D, r, generator=g, dtype=torch.float64)).requires_grad_()
    t = (t0 + 0.25).clone().requires_grad_()
    loss = loss_fn(x, pos, prompts, q, U, V, t, q0, V0, t0, lam)
    loss.backward()
    flat = lambda a: a.detach().reshape(-1).tolist()
    return {
        "rows": R, "dimension": D, "rank": r, "prompts_count": K, "decay": lam,
        "images": flat(x), "positive": pos.tolist(), "prompts": flat(prompts),
        "anchor": {"query": flat(q0), "u": [0.0] * (D * r), "v": flat(V0), "log_scale": float(t0)},
        "at": {"query": flat(q), "u": flat(U), "v": flat(V), "log_scale": float(t.detach())},
        "loss": float(loss),
        "gradient": {"query": flat(q.grad), "u": flat(U.grad), "v": flat(V.grad), "log_scale": float(t.grad)},
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "tune-golden", "objective.json")
    cases = [case(1, 9, 8, 2, 3, 0.05), case(2, 7, 6, 3, 0, 0.2), case(3, 12, 16, 4, 5, 0.0)]
    with open(out, "w") as f:
        json.dump({"generator": "scripts/golden/make_tune_golden.py", "torch": torch.__version__,
                   "cases": cases}, f)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
