"""Server-rendered pages of the results service, each with a JSON twin."""

from crosscheck.web.pages import pages_router
from crosscheck.web.settings import PagesSettings, load_pages_settings

__all__ = ["PagesSettings", "load_pages_settings", "pages_router"]
