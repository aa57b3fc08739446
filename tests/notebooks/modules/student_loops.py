# %% [markdown]
# HW3 as a student writes it: loops, a helper per question, one jupytext percent cell per question.

# %%
import numpy as np
import matplotlib.pyplot as plt

def sigmoid(z):
    return 1/(1+np.exp(-z))
# %%
def sigmoid_jacobian(W, x):
    a = W @ x
    s = sigmoid(a)
    J = np.zeros(W.shape)
    for i in range(W.shape[0]):
        for j in range(W.shape[1]):
            J[i, j] = s[i]*(1-s[i])*W[i, j]
    return J
# %%
def forward(W, U, xs, h0):
    hs = [h0]
    for t in range(len(xs)):
        hs.append(sigmoid(W @ hs[-1] + U @ xs[t]))
    return hs

def bptt_grad(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T = len(xs)
    dW = np.zeros_like(W)
    dh = np.zeros(W.shape[0])
    for t in reversed(range(1, T+1)):
        dh = dh + gs[t-1]
        da = dh * hs[t] * (1 - hs[t])
        dW += np.outer(da, hs[t-1])
        dh = W.T @ da
    return dW
# %%
def bptt_terms(W, U, xs, h0, gs):
    hs = forward(W, U, xs, h0)
    T, n = len(xs), W.shape[0]
    out = np.zeros((T, T, n, n))
    for t in range(1, T+1):
        for k in range(1, t+1):
            # dh_t/dh_k
            J = np.eye(n)
            for j in range(k+1, t+1):
                J = np.diag(hs[j]*(1-hs[j])) @ W @ J
            v = gs[t-1] @ J
            s = hs[k]*(1-hs[k])
            out[t-1, k-1] = np.outer(v * s, hs[k-1])
    return out
# %%
def matrix_power_eig(M, p):
    lam, Q = np.linalg.eig(M)
    return np.real(Q @ np.diag(lam**p) @ np.linalg.inv(Q))

W = np.array([[0.58, 0.24], [0.24, 0.72]])
W_30 = matrix_power_eig(W, 30)
print(W_30)
# %%
def gradient_regime(W):
    r = max(abs(np.linalg.eigvals(W)))
    if abs(r - 1) <= 1e-9:
        return "preserved"
    return "vanishing" if r < 1 else "exploding"
# %%
def lstm_step(params, x, h_prev, c_prev):
    p = params
    f = sigmoid(p["Wf"] @ h_prev + p["Uf"] @ x)
    i = sigmoid(p["Wi"] @ h_prev + p["Ui"] @ x)
    o = sigmoid(p["Wo"] @ h_prev + p["Uo"] @ x)
    c_tilde = np.tanh(p["Wc"] @ h_prev + p["Uc"] @ x)
    c = f*c_prev + i*c_tilde
    h = o*np.tanh(c)
    return {"f": f, "i": i, "o": o, "c_tilde": c_tilde, "c": c, "h": h}

ALWAYS_POSITIVE = {"f", "i", "o"}
# %%
def lstm_gate_jacobians(params, x, h_prev):
    p = params
    out = {}
    for g in ["f", "i", "o"]:
        s = sigmoid(p["W"+g] @ h_prev + p["U"+g] @ x)
        out[g] = np.diag(s*(1-s)) @ p["W"+g]
    ct = np.tanh(p["Wc"] @ h_prev + p["Uc"] @ x)
    out["c_tilde"] = np.diag(1-ct**2) @ p["Wc"]
    return out

def lstm_cell_jacobian(params, x, c_prev, o_prev):
    h_prev = o_prev * np.tanh(c_prev)
    st = lstm_step(params, x, h_prev, c_prev)
    J = lstm_gate_jacobians(params, x, h_prev)
    dh_dc = np.diag(o_prev * (1 - np.tanh(c_prev)**2))
    gate_part = (np.diag(c_prev) @ J["f"] + np.diag(st["c_tilde"]) @ J["i"] + np.diag(st["i"]) @ J["c_tilde"]) @ dh_dc
    return np.diag(st["f"]) + gate_part

def cell_state_gradient(fs):
    fs = np.asarray(fs)
    return np.diag(np.prod(fs, axis=0))
