"""Baselines for the evaluation report, all fitted on the training split only.

1. ``nearest``: nearest neighbour in the contrastive image embedding (``image_head`` of the
   pooled image features, cosine similarity): return the training galaxy whose image is most
   similar — its noiseless spectrum and its catalogue properties.
2. ``regressor``: a deterministic regressor on the frozen image encoder — ridge regression
   (``RidgeCV``) from the standardised pooled features to (a) the first ``N_PCA`` principal
   components of the normalised noiseless spectrum and its log10 flux scale (→ one mean
   spectrum), (b) each property directly, and logistic regression for the BPT AGN flag.
3. ``gbt``: scikit-learn histogram gradient boosting on r and the four colours u−g, g−r, r−i,
   i−z of the catalogue's total magnitudes, with Gaussian photometric noise of typical SDSS size
   added to train and test magnitudes alike (``MAG_ERR``).
4. ``gbt_cutout``: the same trees on photometry measured from each galaxy's own noisy cutout
   (:mod:`model.data.cutout_photometry`: Petrosian and 3″-fibre asinh magnitudes in ugriz and their
   colours, R50, concentration, axis ratio) — what an astronomer with the SDSS photometric
   catalogue would use; the photometric noise is the images' own.

Both tree baselines also come as quantile regressors (``quantile_gbt``: the 2.5/16/50/84/97.5 %
quantiles, pinball loss; Koenker & Bassett 1978) for every regressed property but the line-free ones
(``QUANTILE_TARGETS``),
so their coverage and CRPS compare with the model's.

Not a baseline but a ceiling: ``host_oracle`` fits the same classifier on every intrinsic host
parameter of the mock (redshift, mass, star-formation history, metallicity, dust, sizes, …, not
the AGN component or the emission lines). No method that sees only the galaxy's light can tell
more about its BPT class than its host does, so this bounds any image-based AGN accuracy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from model.evaluation.metrics import QUANTILES
from model.evaluation.targets import LOG_TARGETS, QUANTILE_TARGETS, TARGETS, catalogue_targets
from model.mock.image_info import host_columns
from model.science.bpt import AGN_CLASSES
from model.sdss import BANDS

MAG_ERR = {"u": 0.05, "g": 0.02, "r": 0.02, "i": 0.02, "z": 0.03}  # mag, typical SDSS main-sample errors
N_PCA = 24
GBT = {"max_iter": 300, "learning_rate": 0.05}
QUANTILE_GBT = {"max_iter": 200, "learning_rate": 0.05, "min_samples_leaf": 40}


def agn_truth(labels: pd.DataFrame) -> np.ndarray:
    """BPT AGN flag of the catalogue: class composite, Seyfert or LINER from the true line fluxes."""
    return labels["bpt_class"].astype(str).isin(AGN_CLASSES).to_numpy()


def noisy_photometry(labels: pd.DataFrame, seed: int) -> np.ndarray:
    """(N, 5): r and u−g, g−r, r−i, i−z from ``mag_*`` with independent Gaussian errors ``MAG_ERR``."""
    rng = np.random.default_rng(seed)
    m = {b: labels[f"mag_{b}"].to_numpy(float) + rng.normal(0, s, len(labels)) for b, s in MAG_ERR.items()}
    return np.column_stack([m["r"], m["u"] - m["g"], m["g"] - m["r"], m["r"] - m["i"], m["i"] - m["z"]])


def cutout_features(phot: pd.DataFrame) -> np.ndarray:
    """(N, 14) tree features from :func:`model.data.cutout_photometry.measure`: Petrosian r and colours,
    fibre r and colours, Petrosian − fibre r, log R50, concentration, axis ratio (asinh magnitudes)."""
    from model.data.cutout_photometry import asinh_mag

    pm = {b: asinh_mag(phot[f"petro_flux_{b}"], b) for b in BANDS}
    fm = {b: asinh_mag(phot[f"fibre_flux_{b}"], b) for b in BANDS}
    cols = [pm["r"]] + [pm[a] - pm[b] for a, b in zip("ugri", "griz")]
    cols += [fm["r"]] + [fm[a] - fm[b] for a, b in zip("ugri", "griz")]
    with np.errstate(divide="ignore", invalid="ignore"):
        cols += [pm["r"] - fm["r"], np.log10(phot["r50_arcsec"].to_numpy(float)),
                 phot["concentration"].to_numpy(float), phot["axis_ratio"].to_numpy(float)]
    return np.column_stack(cols)


def _target(frame: pd.DataFrame, name: str) -> np.ndarray:
    y = frame[name].to_numpy(float)
    if name in LOG_TARGETS:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(y > 0, np.log10(y), np.nan)
    return y


def _untarget(y, name):
    return 10 ** y if name in LOG_TARGETS else y


def _prob(clf, xtr, y, xte) -> np.ndarray:
    """P(y = True) on ``xte``; a constant when the training labels hold one class only."""
    if np.all(y == y[0]):
        return np.full(len(xte), float(y[0]))
    return clf.fit(xtr, y).predict_proba(xte)[:, 1]


def gbt_predict(xtr: np.ndarray, train: pd.DataFrame, xte: np.ndarray, seed: int = 0) -> pd.DataFrame:
    """Gradient-boosted trees (squared loss) from features ``xtr`` → each of ``TARGETS``, and P(BPT AGN)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    tt = catalogue_targets(train)
    out = {}
    for name in TARGETS:
        y = _target(tt, name)
        ok = np.isfinite(y)
        if ok.sum() < 2:
            out[name] = np.full(len(xte), np.nan)
            continue
        reg = HistGradientBoostingRegressor(**GBT, random_state=seed)
        out[name] = _untarget(reg.fit(xtr[ok], y[ok]).predict(xte), name)
    clf = HistGradientBoostingClassifier(**GBT, random_state=seed)
    out["agn_prob"] = _prob(clf, xtr, agn_truth(train), xte)
    return pd.DataFrame(out)


def quantile_gbt(xtr: np.ndarray, train: pd.DataFrame, xte: np.ndarray, seed: int = 0) -> dict:
    """Quantile trees (pinball loss) at ``QUANTILES`` for each of ``QUANTILE_TARGETS`` → {name: (N, 5) sorted}.

    Values are in the quantity's own unit (σ* in km/s); quantiles are sorted per galaxy, which repairs crossing.
    """
    from sklearn.ensemble import HistGradientBoostingRegressor

    tt = catalogue_targets(train)
    out = {}
    for name in QUANTILE_TARGETS:
        y = _target(tt, name)
        ok = np.isfinite(y)
        if ok.sum() < 2:
            out[name] = np.full((len(xte), len(QUANTILES)), np.nan)
            continue
        q = [HistGradientBoostingRegressor(loss="quantile", quantile=lv, **QUANTILE_GBT, random_state=seed)
             .fit(xtr[ok], y[ok]).predict(xte) for lv in QUANTILES]
        out[name] = _untarget(np.sort(np.column_stack(q), axis=1), name)
    return out


def gbt_baseline(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Gradient-boosted trees on noisy catalogue r + colours; one model per property and one AGN classifier."""
    return gbt_predict(noisy_photometry(train, seed), train, noisy_photometry(test, seed + 1), seed)


@torch.no_grad()
def image_features(model, images: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Pooled encoder features (N, cond_dim) and contrastive image embeddings (N, embed_dim)."""
    pooled, emb = [], []
    for a in range(0, len(images), batch):
        x = torch.as_tensor(np.ascontiguousarray(model.image_scaling.apply(images[a:a + batch])))
        cond = model.encode_images(x)
        pooled.append(cond.pooled.float().numpy())
        emb.append(model.image_embedding(x, cond).float().numpy())
    return np.concatenate(pooled), np.concatenate(emb)


def nearest_neighbour(emb_test: np.ndarray, emb_train: np.ndarray) -> np.ndarray:
    """Index of the most similar training embedding (cosine) for each test embedding."""
    a = emb_test / np.linalg.norm(emb_test, axis=1, keepdims=True).clip(1e-12)
    b = emb_train / np.linalg.norm(emb_train, axis=1, keepdims=True).clip(1e-12)
    out = np.empty(len(a), int)
    for s in range(0, len(a), 1024):
        out[s:s + 1024] = np.argmax(a[s:s + 1024] @ b.T, axis=1)
    return out


def nn_baseline(nn_index: np.ndarray, train: pd.DataFrame) -> pd.DataFrame:
    """Properties of the nearest training galaxy (its catalogue values; AGN from its BPT class)."""
    rows = train.iloc[nn_index].reset_index(drop=True)
    tt = catalogue_targets(rows)
    out = {name: tt[name].to_numpy(float) for name in TARGETS}
    out["agn_prob"] = agn_truth(rows).astype(float)
    return pd.DataFrame(out)


def regressor_baseline(feat_train, train: pd.DataFrame, flux_train, norm_train, feat_test):
    """Ridge on standardised pooled features → (properties DataFrame, mean spectra (N, n_pix) physical units)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression, RidgeCV
    from sklearn.preprocessing import StandardScaler

    sc = StandardScaler().fit(feat_train)
    xtr, xte = sc.transform(feat_train), sc.transform(feat_test)
    alphas = np.logspace(-2, 4, 13)
    out = {}
    tt = catalogue_targets(train)
    for name in TARGETS:
        y = _target(tt, name)
        ok = np.isfinite(y)
        out[name] = (_untarget(RidgeCV(alphas=alphas).fit(xtr[ok], y[ok]).predict(xte), name) if ok.sum() >= 2
                     else np.full(len(xte), np.nan))
    clf = LogisticRegression(C=1.0, max_iter=2000)
    out["agn_prob"] = _prob(clf, xtr, agn_truth(train), xte)
    pca = PCA(n_components=min(N_PCA, len(flux_train) - 1, flux_train.shape[1]), random_state=0).fit(flux_train)
    coeffs = RidgeCV(alphas=alphas).fit(xtr, np.column_stack([pca.transform(flux_train), np.log10(norm_train)]))
    pred = coeffs.predict(xte)
    spectra = pca.inverse_transform(pred[:, :-1]) * 10 ** pred[:, -1:]
    return pd.DataFrame(out), spectra


# catalogue columns that describe the AGN, the emission lines or the spectrum measured with them
def host_oracle_agn(train: pd.DataFrame, test: pd.DataFrame, seed: int = 0) -> np.ndarray:
    """P(BPT AGN) from the true host parameters: the ceiling of any AGN classifier that sees only the host."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    cols = host_columns(train)
    clf = HistGradientBoostingClassifier(max_iter=300, random_state=seed)
    return _prob(clf, train[cols].to_numpy(float), agn_truth(train), test[cols].to_numpy(float))
