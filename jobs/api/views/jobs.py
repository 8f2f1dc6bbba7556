from rest_framework import viewsets


class JobViewSet(viewsets.GenericViewSet):
    pass
