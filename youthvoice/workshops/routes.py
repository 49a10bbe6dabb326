"""Workshop routes: the JSON API, the phone room with live updates and the public unit
page, and the staff pages, each in its own module."""

from .api import ROUTES as API_ROUTES
from .room import ROUTES as ROOM_ROUTES
from .staff_pages import ROUTES as STAFF_ROUTES

ROUTES = [*API_ROUTES, *ROOM_ROUTES, *STAFF_ROUTES]
