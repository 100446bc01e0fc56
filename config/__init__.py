"""The configuration model and its loader: a TOML file becomes one validated, frozen Config."""

from config.loader import ConfigError, load_config, parse_config
from config.model import Config, RouteRule, ShadowSettings

__all__ = ["Config", "ConfigError", "RouteRule", "ShadowSettings", "load_config", "parse_config"]
