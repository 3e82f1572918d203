"""The paper's method (Doorenbos et al. 2024): pixel-space conditional diffusion of spectra on images."""
