"""The local platform launcher behind `make run` (`python -m svckit.devrun run`)."""

from svckit.devrun.manifest import Manifest, ManifestError, Process, load_manifest, parse_manifest
from svckit.devrun.output import Console
from svckit.devrun.platform import Platform, PlatformError

__all__ = ["Console", "Manifest", "ManifestError", "Platform", "PlatformError", "Process",
           "load_manifest", "parse_manifest"]
