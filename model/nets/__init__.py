"""Networks: image encoder, 1D U-Net and latent denoisers, contrastive image/spectrum embedders."""

from model.nets.conditioning import Cond, NullCondition, cond_cat, cond_where
from model.nets.contrastive import ContrastivePair, ImageEmbedder, SpectrumEmbedder, nt_xent, score
from model.nets.image_encoder import ImageEncoder, check_images
from model.nets.latent_denoiser import LatentDenoiser
from model.nets.unet1d import UNet1d, padded_length

__all__ = ["Cond", "NullCondition", "cond_cat", "cond_where", "ContrastivePair", "ImageEmbedder",
           "SpectrumEmbedder", "nt_xent", "score", "ImageEncoder", "check_images", "LatentDenoiser",
           "UNet1d", "padded_length"]
