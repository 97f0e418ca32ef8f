"""``data/archs.parquet``: the M sampled mbv3 architectures every platform's dataset is built on.

Columns: ``arch_id``, ``space``, ``ks``/``e``/``d`` (OFA lists as space-separated text, the format of
imported measurement files), ``tokens`` (list of int8), ``features`` (list of float32), ``madds``,
``params``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nag.atomic import write_with
from nag.method.archdata import DataError
from nag.spaces.base import Arch, ArchError
from nag.spaces.mbv3 import MBV3Space
from nag.supernet.static import arch_madds, arch_params


def archs_frame(space: MBV3Space, archs: list[Arch]) -> pd.DataFrame:
    ofa = [space.to_ofa(a) for a in archs]
    return pd.DataFrame({
        "arch_id": [a.arch_id for a in archs],
        "space": space.name,
        "ks": [" ".join(map(str, c["ks"])) for c in ofa],
        "e": [" ".join(map(str, c["e"])) for c in ofa],
        "d": [" ".join(map(str, c["d"])) for c in ofa],
        "madds": np.array([arch_madds(space, a) for a in archs], dtype=np.int64),
        "params": np.array([arch_params(space, a) for a in archs], dtype=np.int64),
    })


def save_archs(path: str | Path, space: MBV3Space, archs: list[Arch]) -> pd.DataFrame:
    df = archs_frame(space, archs)
    tokens = np.array([a.tokens for a in archs], dtype=np.int8)
    feats = space.features_from_tokens(tokens)
    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.append_column("tokens", pa.array(list(tokens), type=pa.list_(pa.int8())))
    table = table.append_column("features", pa.array(list(feats), type=pa.list_(pa.float32())))
    write_with(path, lambda tmp: pq.write_table(table, tmp))
    return df


def load_archs(path: str | Path, space: MBV3Space) -> tuple[pd.DataFrame, list[Arch]]:
    """The table (without the list columns) and its architectures, checked against ``space``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"missing {path}: run the sample_archs stage first (dvc repro sample_archs)")
    try:
        table = pq.read_table(path)
    except Exception as exc:
        raise DataError(f"{path} is not a readable parquet file ({exc}); rerun sample_archs") from exc
    need = {"arch_id", "space", "tokens"}
    if need - set(table.column_names):
        raise DataError(f"{path} lacks columns {sorted(need - set(table.column_names))}; rerun sample_archs")
    df = table.drop_columns([c for c in ("tokens", "features") if c in table.column_names]).to_pandas()
    spaces = set(df["space"])
    if spaces != {space.name}:
        raise DataError(f"{path} holds architectures of space {sorted(spaces)}, but params describe "
                        f"{space.name!r}; rerun sample_archs")
    try:
        archs = [space.from_tokens(t) for t in table.column("tokens").to_pylist()]
    except ArchError as exc:
        raise DataError(f"{path}: {exc}") from exc
    if [a.arch_id for a in archs] != df["arch_id"].tolist():
        raise DataError(f"{path}: arch_id does not match the tokens; the file was edited, rerun sample_archs")
    return df, archs
