from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("audit", views.AuditLogViewSet, basename="audit")

urlpatterns = router.urls
