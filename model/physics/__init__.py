"""The physics-explicit model kind, ``physics``: diffusion over physical parameters, a physical decoder."""
