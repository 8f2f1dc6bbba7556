"""Pagination of every API list: `?page=N&page_size=M` (at most 200)."""

from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """Page numbers, with a page size the client may lower or raise to 200."""

    page_size_query_param = "page_size"
    max_page_size = 200
