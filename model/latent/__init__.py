"""The default fast model: spectrum autoencoder with explicit redshift + latent diffusion on images."""
