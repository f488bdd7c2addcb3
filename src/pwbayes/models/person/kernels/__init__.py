"""numba kernels and PyTensor Ops of the person model (likelihood, whitening)."""
