"""Pagination of every API list: `?page=N&page_size=M` (at most 200)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.views import APIView

MSG_PAGE_SIZE = "Must be a whole number from 1 to {maximum}."


class PortalPagination(PageNumberPagination):
    """Page numbers, with a page size the client may choose up to 200.

    A page size that is not a whole number in range is refused (400) rather
    than silently replaced by the default.
    """

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int | None:
        """Return the requested page size, or the default when none is given."""
        raw = request.query_params.getlist(self.page_size_query_param)
        if not raw:
            return self.page_size
        value = raw[-1]
        if len(raw) > 1 or not value.isascii() or not value.isdigit():
            raise ValidationError({self.page_size_query_param: [self._message()]})
        size = int(value)
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [self._message()]})
        return size

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        """Document the parameters with their ranges."""
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            schema = parameter["schema"]
            schema["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                schema["maximum"] = self.max_page_size
        return parameters

    def _message(self) -> str:
        return MSG_PAGE_SIZE.format(maximum=self.max_page_size)
