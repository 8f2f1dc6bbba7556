from rest_framework import viewsets


class ScriptViewSet(viewsets.GenericViewSet):
    pass
