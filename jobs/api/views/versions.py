from rest_framework import viewsets


class VersionViewSet(viewsets.GenericViewSet):
    pass
