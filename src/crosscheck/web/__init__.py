"""Server-rendered pages of the results service, each with a JSON twin.

The pages read through `ResultsService` (its reads and `activity`; the change page
through results/reads.py's `change_results` on its engine) and shape what they read into
views (views.py); they hold no SQL. serve/ mounts them beside the
results service's routers, only when reads are public.
"""

from crosscheck.config.pages import PagesSettings, load_pages_settings
from crosscheck.web.pages import pages_router

__all__ = ["PagesSettings", "load_pages_settings", "pages_router"]
