"""The jobs app's REST API: serializers, views and URLs."""
