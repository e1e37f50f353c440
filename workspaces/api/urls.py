from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
router.register("workspaces", views.WorkspaceViewSet, basename="workspace")

urlpatterns = router.urls
