"""The API's JSON parser: the standard one, bounded. A body nested deeper than MAX_DEPTH (the deepest any
request of ours needs is a few levels) is refused with 400 instead of exhausting the interpreter's stack."""
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


def _depth_within(data, limit: int) -> bool:
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return False
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return True


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"The JSON is nested too deeply; at most {MAX_DEPTH} levels.") from None
        if not _depth_within(data, MAX_DEPTH):
            raise ParseError(f"The JSON is nested too deeply; at most {MAX_DEPTH} levels.")
        return data
