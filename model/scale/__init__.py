"""Catalogue-scale prediction: partitions → Dask workers → one Parquet file per partition.

:mod:`~model.scale.partitions` plans and loads partitions, :mod:`~model.scale.worker` is the task
(model cached per worker process), :mod:`~model.scale.summary` turns K samples into property
quantiles, :mod:`~model.scale.store` writes parts atomically and keeps the failures file, and
:mod:`~model.scale.job` drives it all (``photospec predict --catalogue``).
"""
