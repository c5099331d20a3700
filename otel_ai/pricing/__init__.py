"""What AI work costs: a dated catalog of model prices (data/), user overrides, and the arithmetic."""

from otel_ai.pricing.catalog import ModelPrice, PricingCatalog
from otel_ai.pricing.cost import Cost

__all__ = ["Cost", "ModelPrice", "PricingCatalog"]
