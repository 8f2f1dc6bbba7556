from rest_framework.views import APIView


class SchedulePreviewView(APIView):
    pass
