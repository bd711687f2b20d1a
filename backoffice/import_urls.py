"""Back-office pages mounted under /admin/ before the admin site (see config/urls.py)."""
urlpatterns: list = []
