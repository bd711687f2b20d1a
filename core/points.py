"""A point on the map as the API takes it: `?near=latitude,longitude` (the stores near the shopper, the pickup
stores for a basket), parsed and checked in one place."""
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

KM_PER_MILE = 1.609344

NEAR_PARAM = OpenApiParameter(
    "near", {"type": "string", "maxLength": 100, "pattern": r"^ *-?\d{1,3}(\.\d+)? *, *-?\d{1,3}(\.\d+)? *$"},
    description="A point as `latitude,longitude`, e.g. `51.5072,-0.1276`: latitude from -90 to 90, longitude "
    "from -180 to 180.",
)


def parse_near(value: str) -> tuple[float, float]:
    try:
        latitude, longitude = (float(part) for part in value.split(","))
    except ValueError:
        raise serializers.ValidationError(
            "Give a point as two numbers, latitude,longitude, e.g. 51.5072,-0.1276."
        ) from None
    if not -90 <= latitude <= 90:
        raise serializers.ValidationError(f"Latitude must be between -90 and 90, not {latitude}.")
    if not -180 <= longitude <= 180:
        raise serializers.ValidationError(f"Longitude must be between -180 and 180, not {longitude}.")
    return latitude, longitude


class NearIn(serializers.Serializer):
    near = serializers.CharField(required=False, max_length=100)

    def validate_near(self, value: str) -> tuple[float, float]:
        return parse_near(value)
