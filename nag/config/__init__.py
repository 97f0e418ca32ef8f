"""Configuration: ``params.yaml`` parsed once, at the CLI, into frozen dataclasses, and checked.

Lives here: one module per group of sections (``params``: the loader and the method's sections; ``mbv3``,
``ops``, ``platforms``) and the cross-section ``rules``. Imports only ``nag.errors`` (a leaf everyone reads).
Callers import every section from the package: ``from nag.config import Params, load_params``.
"""

from nag.config.mbv3 import (
    DEFAULT_PHASES,
    AccuracyConfig,
    ArchsConfig,
    FinetuneConfig,
    LatencyConfig,
    PhaseConfig,
    SupernetConfig,
)
from nag.config.ops import DevicesConfig, OrchestrationConfig, PaperConfig, RegistryConfig, ServeConfig
from nag.config.params import (
    BudgetConfig,
    DataConfig,
    DatasetConfig,
    EvaluatorConfig,
    GeneratorConfig,
    InferConfig,
    Params,
    load_params,
    params_from_dict,
    params_to_dict,
    read_yaml,
)
from nag.config.platforms import (
    LOCAL_RUNTIMES,
    PLATFORM_KINDS,
    ConfigError,
    PlatformConfig,
    check_platform,
    platform_entries,
)

__all__ = [
    "DEFAULT_PHASES", "LOCAL_RUNTIMES", "PLATFORM_KINDS", "AccuracyConfig", "ArchsConfig", "BudgetConfig",
    "ConfigError", "DataConfig", "DatasetConfig", "DevicesConfig", "EvaluatorConfig", "FinetuneConfig",
    "GeneratorConfig", "InferConfig", "LatencyConfig", "OrchestrationConfig", "PaperConfig", "Params",
    "PhaseConfig", "PlatformConfig", "RegistryConfig", "ServeConfig", "SupernetConfig", "check_platform",
    "load_params", "params_from_dict", "params_to_dict", "platform_entries", "read_yaml",
]
