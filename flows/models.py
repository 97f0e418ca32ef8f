"""What registered models share: the params snapshot a bundled model rebuilds its platform from, and the check
that a registry version is a model from code (``model_code_path``, no pickled ``python_model``) before it
is loaded.

Versions registered before models from code hold their ``python_model`` as a serialized object, which
loading would execute; :func:`check_loadable` refuses them by their MLmodel file alone, naming the
version and the fix.

Example::

    >>> check_loadable("models:/nag-generator-cpu-torch@champion")      # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import mlflow

from nag.atomic import write_json
from nag.errors import NagError


class UnsafeModelError(NagError, ValueError):
    """A registry version whose loading would unpickle code (registered by an older NAG)."""


def write_bundle_config(path: Path, params, platform_name: str, meta: dict | None) -> None:
    """The params snapshot (and mbv3 data description) a bundled model rebuilds its platform from."""
    from nag.config import params_to_dict

    write_json(path, {"params": params_to_dict(params), "platform": platform_name, "meta": meta})


def check_loadable(uri: str) -> None:
    """Refuse a pyfunc version that is not a model from code (a pickled ``python_model``), before loading."""
    info = mlflow.models.get_model_info(uri)
    flavor = info.flavors.get("python_function", {})
    if "python_model" in flavor or not str(flavor.get("model_code_path", "")).endswith(".py"):
        raise UnsafeModelError(f"{uri} is not a model from code (a pickled python_model, registered by an "
                               f"older NAG); it is never loaded (pickles can run code): register the "
                               f"pipeline again (python -m flows.register) and archive the old version")
