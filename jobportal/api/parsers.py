"""The API's one request parser: JSON (REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]).

Bodies are JSON only, so any other media type is a 415; the browsable API
still sends JSON through its raw-data form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MSG_TOO_DEEP = "JSON parse error - nested too deeply."


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, answering 400 for a body nested too deeply to read.

    Python's decoder raises RecursionError (not a ValueError) past about a
    thousand levels, which DRF would leave to become a 500.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        """Parse the body, turning too deep a nesting into a parse error."""
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(MSG_TOO_DEEP) from None
