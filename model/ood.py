"""Out-of-distribution score shared by the models: how far an image lies from the training images.

The score is the larger of two RMS standardised distances from the training set: of simple
per-band image statistics (mean, spread, central 8×8 mean) and of the image encoder's pooled
embedding. Normalisation layers inside an encoder can hide an image's overall level, so a flat,
saturated or empty image may look ordinary in embedding space; the image statistics cannot.
The threshold is the 99.5th percentile of the training images' scores.
"""

from __future__ import annotations

import numpy as np
import torch


class OODScored:
    """Mixin for an ``nn.Module`` with ``encode_images``: OOD buffers, score and fitting."""

    def register_ood_buffers(self, cond_dim: int) -> None:
        self.register_buffer("pooled_mean", torch.zeros(cond_dim))
        self.register_buffer("pooled_std", torch.ones(cond_dim))
        self.register_buffer("stats_mean", torch.zeros(15))
        self.register_buffer("stats_std", torch.ones(15))
        self.register_buffer("ood_threshold", torch.tensor(float("inf")))

    @staticmethod
    def image_stats(images_scaled: torch.Tensor) -> torch.Tensor:
        """Per band: mean, spread and central 8×8 mean of the scaled image (B, 15)."""
        c = images_scaled[:, :, 28:36, 28:36].mean((2, 3))
        return torch.cat([images_scaled.mean((2, 3)), images_scaled.std((2, 3)), c], 1)

    def ood_score(self, cond, images_scaled: torch.Tensor) -> torch.Tensor:
        """Larger of the RMS standardised distances of image statistics and pooled embedding from training."""
        d_emb = ((cond.pooled - self.pooled_mean) / self.pooled_std).pow(2).mean(1).sqrt()
        d_img = ((self.image_stats(images_scaled) - self.stats_mean) / self.stats_std).pow(2).mean(1).sqrt()
        return torch.maximum(d_emb, d_img)

    @torch.no_grad()
    def fit_ood_statistics(self, images: np.ndarray, limit: int = 4000, batch: int = 256) -> None:
        """Set the statistics and the threshold from (up to ``limit``) training images in nanomaggies."""
        was_training = self.training
        self.eval()
        xs = [torch.as_tensor(self.image_scaling.apply(images[a:a + batch]))
              for a in range(0, min(len(images), limit), batch)]
        conds = [self.encode_images(x) for x in xs]
        pooled = torch.cat([c.pooled for c in conds])
        stats = torch.cat([self.image_stats(x) for x in xs])
        self.pooled_mean.copy_(pooled.mean(0))
        self.pooled_std.copy_(pooled.std(0).clamp_min(1e-4))
        self.stats_mean.copy_(stats.mean(0))
        self.stats_std.copy_(stats.std(0).clamp_min(1e-4))
        scores = torch.cat([self.ood_score(c, x) for c, x in zip(conds, xs)])
        self.ood_threshold.fill_(float(torch.quantile(scores, 0.995)))
        self.train(was_training)
