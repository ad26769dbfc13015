import numpy as np
import torch

import actgrad
import actgrad.torch as at

# One fused pass, f and f', over any DLPack array (numpy, torch, cupy, jax), CPU or CUDA.
x = np.linspace(-3.0, 3.0, 7, dtype=np.float32)
y, dydx = actgrad.forward_with_derivative("leaky_relu:negative_slope=0.2", x)
print("y    =", y)
print("dydx =", dydx)

# In training code: modules and functions with autograd, which torch.compile traces whole.
mlp = torch.nn.Sequential(torch.nn.Linear(16, 64), at.nn.SwiGLU(), torch.nn.Linear(32, 16),
                          at.nn.GELU(approximate="tanh"))
x = torch.randn(8, 16, requires_grad=True)
loss = at.silu(mlp(x)).square().mean()
loss.backward()
print("grad norm", float(x.grad.norm()))
