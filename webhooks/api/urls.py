from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter(trailing_slash=False)
# Registered first, and ids are UUIDs, so "webhooks/deliveries/…" and "webhooks/event-types" never reach {id}.
router.register("webhooks/deliveries", views.WebhookDeliveryViewSet, basename="webhook-delivery")
router.register("webhooks", views.WebhookEndpointViewSet, basename="webhook")

urlpatterns = router.urls
