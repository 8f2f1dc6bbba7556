from rest_framework import generics, viewsets


class RunViewSet(viewsets.GenericViewSet):
    pass


class JobLogsView(generics.GenericAPIView):
    pass
