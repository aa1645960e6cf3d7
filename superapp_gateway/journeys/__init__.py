"""Each journey's routes in the super-app; ``ROUTERS`` is what the app mounts."""

from superapp_gateway.journeys import appointments, fines, id_card, prescriptions

ROUTERS = [fines.router, appointments.router, prescriptions.router, id_card.router]
