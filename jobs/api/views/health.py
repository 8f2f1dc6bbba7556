from rest_framework.views import APIView


class HealthView(APIView):
    pass
